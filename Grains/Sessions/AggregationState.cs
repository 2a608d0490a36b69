using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Sessions;

/// <summary>
/// Stored state of a secure-aggregation round. Everything here is public or ciphertext: signed key bundles, share
/// envelope digests (the envelopes sealed pod-to-pod are payloads), the names of masked-vector payloads (uniformly random alone), and unmask responses sealed
/// to the modeller. The service never holds an input, a mask, a seed or the result.
/// </summary>
public sealed class AggregationState
{
    public AggregationSpec? Spec { get; set; }
    public int Threshold { get; set; }
    public DateTimeOffset? Deadline { get; set; }
    public SortedDictionary<int, byte[]> KeyBundles { get; set; } = [];
    /// <summary>
    /// Senders of share envelopes so far, with the SHA-256 of what each sent (a retry is compared by it); the envelopes
    /// themselves (n(n − 1) of them) live in payloads <c>shares-from-{i}</c>, and per recipient in <c>shares-to-{j}</c> once
    /// the exchange closes, so the session state stays small with 200 pods.
    /// </summary>
    public SortedDictionary<int, string> EnvelopeDigests { get; set; } = [];
    public SortedSet<int> MaskedInputs { get; set; } = [];
    public SortedDictionary<int, byte[]> Responses { get; set; } = [];
    public SortedSet<int> Dropped { get; set; } = [];
    /// <summary>Parties that declined, with their reason category (never a value or free text).</summary>
    public SortedDictionary<int, string> Declined { get; set; } = [];
    /// <summary>U1, fixed when the key exchange closes.</summary>
    public List<int>? KeyHolders { get; set; }
    /// <summary>U2, fixed when the share exchange closes.</summary>
    public List<int>? ShareSenders { get; set; }
    /// <summary>U3, fixed when the masked-input phase closes.</summary>
    public List<int>? Survivors { get; set; }
    public byte[]? UnmaskRequest { get; set; }
    public string? MaskedSumPayload { get; set; }
    public List<int>? Included { get; set; }
    public string? FailureReason { get; set; }
}
