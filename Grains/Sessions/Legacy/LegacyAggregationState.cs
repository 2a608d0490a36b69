using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Sessions.Legacy;

/// <summary>A secure-aggregation round as the single session grain stored it (see <see cref="LegacySessionState"/>).</summary>
public sealed class LegacyAggregationState
{
    public AggregationSpec? Spec { get; set; }
    public int Threshold { get; set; }
    public DateTimeOffset? Deadline { get; set; }
    public SortedDictionary<int, byte[]> KeyBundles { get; set; } = [];
    public SortedDictionary<int, List<byte[]>> Envelopes { get; set; } = [];
    public SortedSet<int> MaskedInputs { get; set; } = [];
    public SortedDictionary<int, byte[]> Responses { get; set; } = [];
    public SortedSet<int> Dropped { get; set; } = [];
    public SortedDictionary<int, string> Declined { get; set; } = [];
    public List<int>? KeyHolders { get; set; }
    public List<int>? ShareSenders { get; set; }
    public List<int>? Survivors { get; set; }
    public byte[]? UnmaskRequest { get; set; }
    public string? MaskedSumPayload { get; set; }
    public List<int>? Included { get; set; }
    public string? FailureReason { get; set; }
}
