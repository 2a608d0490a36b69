namespace Smpc.Contracts;

/// <summary>Limits every party agrees on: the service enforces them, the client and pods size their encodings by them.</summary>
public static class SessionLimits
{
    /// <summary>
    /// Most pods a secure-aggregation session may name. Its n(n − 1) share envelopes live in payloads, not grain state, so n
    /// is bounded by the O(n²) relay at the share exchange's close (≈ 200 × 199 envelopes), well inside the protocol's 255.
    /// A round sizes its fixed-point encoding for its own pod count.
    /// </summary>
    public const int MaxSecureAggregationPods = 200;

    /// <summary>
    /// Most pods a federated query or training session may name: training fields, query shapes and releases are sized so a
    /// sum over this many pods cannot overflow the field, and the gateway bounds a release's content-key boxes by it.
    /// </summary>
    public const int MaxFederatedPods = 50;
}
