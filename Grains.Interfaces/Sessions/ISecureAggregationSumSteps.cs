using Orleans.Concurrency;

namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>
/// The secure-aggregation session grain's own masked-sum loop (service-internal, never routed from the API): one message per
/// chunk of the sum, so the sum of a long vector runs outside the turn of the commit that closed the phase, and calls
/// interleave between its chunks. Keyed <c>"{tenant}/{session}"</c>, like the session.
/// </summary>
[Alias("smpc.session.secagg.sum")]
public interface ISecureAggregationSumSteps : IGrainWithStringKey
{
    /// <summary>Sums the next chunk of the survivors' masked vectors (or seals the sum and opens unmasking), then sends itself the next step.</summary>
    [OneWay, Alias("secagg.sum.step")] Task SumNextChunkAsync();
}
