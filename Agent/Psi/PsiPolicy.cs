namespace Smpc.Agent.Psi;

/// <summary>
/// What a pod agrees to in PSI, enforced by its agent before it does any work. Empty lists allow all.
/// </summary>
public sealed record PsiPolicy
{
    /// <summary>Modellers allowed to run PSI against this pod (empty: every modeller of the tenant).</summary>
    public List<string> Modellers { get; init; } = [];

    /// <summary>Protocols served: ecdh, rsa-blind.</summary>
    public List<string> Protocols { get; init; } = ["ecdh", "rsa-blind"];

    /// <summary>Modes served: intersection, cardinality (a pod that only reveals counts lists cardinality alone).</summary>
    public List<string> Modes { get; init; } = ["intersection", "cardinality"];

    /// <summary>Largest modeller set one session may query with.</summary>
    public long MaxModellerSetSize { get; init; } = 1_000_000;

    /// <summary>Most modeller records a day (UTC) over all sessions, so a limit per session cannot be sidestepped by asking often.</summary>
    public long MaxModellerRecordsPerDay { get; init; } = 10_000_000;

    /// <summary>
    /// Cardinality: a count below this is withheld (the session fails saying so). The pod then counts itself (ecdh only), so
    /// it learns the count too; rsa-blind cardinality cannot withhold and is declined when this is set.
    /// </summary>
    public long MinCount { get; init; }

    /// <summary>
    /// Reuse the encoded set and its key across sessions (same source, columns and protocol) for up to this many hours; 0 (the
    /// default) gives every session a fresh key. Reuse saves re-encoding a large set, but a modeller can then combine the
    /// answers of several sessions under one key.
    /// </summary>
    public double SetReuseHours { get; init; }
}
