using Smpc.Grains.Interfaces.Sessions;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Grains.Sessions;

/// <summary>
/// Stored state of a secure-aggregation session: the spec, the coordinator's round (who did what, public bundles and
/// responses), and beside it the name of the masked sum's payload. Share envelopes sealed pod-to-pod and masked vectors,
/// which the coordinator only counts, are payloads (<c>shares-from-{i}</c>, <c>shares-to-{j}</c>, <c>masked-{i}</c>). The
/// service never holds an input, a mask, a seed or the result.
/// </summary>
public sealed class SecureAggregationSessionState : SessionRecord
{
    public AggregationSpec? Spec { get; set; }
    public int Threshold { get; set; }
    public SecureAggregationRoundState Round { get; set; } = new();
    /// <summary>
    /// Share envelopes of a round imported from the single session grain, which kept them in state (relayed unopened); a
    /// round begun here keeps them in payloads and this stays empty. Emptied when the share exchange closes.
    /// </summary>
    public SortedDictionary<int, List<byte[]>> Envelopes { get; set; } = [];
    /// <summary>The masked sum's upload, opened when U3 is fixed; the sum resumes into it after a restart.</summary>
    public Guid? SumUploadId { get; set; }
    public string? MaskedSumPayload { get; set; }
}
