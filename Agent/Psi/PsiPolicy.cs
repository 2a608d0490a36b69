namespace Smpc.Agent.Psi;

/// <summary>
/// What a pod agrees to in PSI, enforced by its agent before it does any work. Empty lists allow all.
/// </summary>
public sealed record PsiPolicy
{
    /// <summary>Modellers allowed to run PSI against this pod (empty: every modeller of the tenant).</summary>
    public List<string> Modellers { get; init; } = [];

    /// <summary>Protocols served: ecdh, rsa-blind, kkrt. kkrt is served only when listed (the default, ecdh and rsa-blind, is unchanged).</summary>
    public List<string> Protocols { get; init; } = ["ecdh", "rsa-blind"];

    /// <summary>Modes served: intersection, cardinality (a pod that only reveals counts lists cardinality alone).</summary>
    public List<string> Modes { get; init; } = ["intersection", "cardinality"];

    /// <summary>Largest modeller set one session may query with (kkrt: its bins m(n) = ⌈1.5·n⌉ + 256, the records it could test).</summary>
    public long MaxModellerSetSize { get; init; } = 1_000_000;

    /// <summary>Most modeller records a day (UTC) over all sessions, so a limit per session cannot be sidestepped by asking often (kkrt counts its bins).</summary>
    public long MaxModellerRecordsPerDay { get; init; } = 10_000_000;

    /// <summary>
    /// Cardinality: a count below this is withheld (the session fails saying so). The pod then counts itself (ecdh only), so
    /// it learns the count too; rsa-blind and kkrt cardinality (counted by the modeller) cannot withhold and are declined when this is set.
    /// </summary>
    public long MinCount { get; init; }

    /// <summary>
    /// Reuse the encoded set and its key across sessions (same source, columns and protocol) for up to this many hours; 0 (the
    /// default) gives every session a fresh key. Reuse saves re-encoding a large set, but a modeller can then combine the
    /// answers of several sessions under one key. It does not apply to kkrt, whose keys are always fresh per session.
    /// </summary>
    public double SetReuseHours { get; init; }
}
