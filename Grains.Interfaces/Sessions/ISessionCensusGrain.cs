namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>
/// The service-wide count of sessions per phase, for the operators' "sessions by phase" gauge. One grain, keyed
/// <see cref="Key"/>; each tenant's session index reports its own exact counts after every change (a snapshot, so a
/// repeated or reordered report cannot skew the sum), and the census keeps the latest per tenant, durably.
/// </summary>
[Alias("smpc.session-census")]
public interface ISessionCensusGrain : IGrainWithStringKey
{
    /// <summary>The one key of the census grain.</summary>
    public const string Key = "all";

    /// <summary>Service-internal: <paramref name="tenant"/>'s sessions per phase as of its index's <paramref name="revision"/> (an older revision than the one kept is ignored).</summary>
    [Alias("report")] Task ReportAsync(string tenant, long revision, [Immutable] IReadOnlyDictionary<SessionPhase, long> counts);

    /// <summary>How many sessions are in each phase now (phases with none are absent).</summary>
    [Alias("counts"), Orleans.Concurrency.AlwaysInterleave] Task<IReadOnlyDictionary<SessionPhase, long>> GetCountsAsync();
}
