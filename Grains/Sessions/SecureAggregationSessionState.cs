using Smpc.Grains.Interfaces.Sessions;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Grains.Sessions;

/// <summary>
/// Stored state of a secure-aggregation session: the spec, the coordinator's round (who did what, public bundles and
/// responses), and beside it the bytes the coordinator only counts: share envelopes sealed pod-to-pod and the name of
/// the masked sum's payload. The service never holds an input, a mask, a seed or the result.
/// </summary>
public sealed class SecureAggregationSessionState : SessionRecord
{
    public AggregationSpec? Spec { get; set; }
    public int Threshold { get; set; }
    public SecureAggregationRoundState Round { get; set; } = new();
    /// <summary>Each sender's share envelopes, in the order it sent them (relayed unopened).</summary>
    public SortedDictionary<int, List<byte[]>> Envelopes { get; set; } = [];
    public string? MaskedSumPayload { get; set; }
}
