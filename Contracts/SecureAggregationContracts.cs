// REST contracts of the secure-aggregation steps. Protocol messages travel as base64 of their byte-exact formats
// (docs/protocols/secure-aggregation.md); masked vectors and the masked sum as application/octet-stream.
namespace Smpc.Contracts;

/// <summary>One named field (tensor) of the vector: length, declared bounds, fixed-point precision (default 10^10; 1 = exact integers), optional row-major shape.</summary>
public sealed record AggregationFieldRequest(string Name, int Length, double Min, double Max, long? Precision = null, IReadOnlyList<int>? Shape = null);

/// <summary>A weighted mean's weight: each pod's w in [Min, Max] with Min &gt; 0, a multiple of 1/Precision (default 1: counts).</summary>
public sealed record AggregationWeightRequest(double Min, double Max, long? Precision = null);

/// <summary>
/// What a secure-aggregation session computes. <c>Operation</c>: sum, mean or weighted-mean; <c>ModellerPublicKey</c>: the
/// modeller's X25519 session key (base64); <c>PhaseTimeouts</c>: seconds per phase (key-exchange, share-exchange,
/// masked-input, unmasking), overriding <c>PhaseTimeoutSeconds</c>. A weighted mean declares the bounds of x in
/// <c>Fields</c> and of each pod's weight in <c>Weight</c>; pods send w·x and w themselves. <c>WeightField</c> is the
/// retired pre-multiplied shape and is refused with how to ask instead.
/// </summary>
public sealed record AggregationRequest(
    IReadOnlyList<AggregationFieldRequest> Fields, string Operation, string ModellerPublicKey, string Input,
    int? Threshold = null, int PhaseTimeoutSeconds = 300, string? WeightField = null, IReadOnlyDictionary<string, int>? PhaseTimeouts = null,
    AggregationWeightRequest? Weight = null);

/// <summary>Progress of a secure-aggregation session, by party number (1..n, the order of <c>podIds</c>); <c>Pods</c> tells each pod's status.</summary>
public sealed record AggregationStatusResponse(
    string ProtocolSessionId, int Threshold, IReadOnlyList<AggregationFieldRequest> Fields, string Operation, string Input, AggregationWeightRequest? Weight,
    string ModellerPublicKey, IReadOnlyDictionary<string, int>? PhaseTimeouts, DateTimeOffset? PhaseDeadline, IReadOnlyList<int> KeyBundles, IReadOnlyList<int> ShareSenders,
    IReadOnlyList<int> MaskedInputs, IReadOnlyList<int> UnmaskResponses, IReadOnlyList<int> Dropped, IReadOnlyList<int>? Included, string? FailureReason,
    IReadOnlyList<AggregationPodResponse>? Pods = null);

/// <summary>
/// One pod of a secure-aggregation session: <c>Status</c> is <c>active</c>, <c>declined</c> (with its <c>DeclineCategory</c>),
/// <c>dropped</c> (no answer before a phase closed) or <c>included</c> (in the result; a survivor that declined to answer
/// the unmask request keeps its category).
/// </summary>
public sealed record AggregationPodResponse(string Pod, int Party, string Status, string? DeclineCategory = null);

/// <summary>A pod declines a secure-aggregation session, or reports its own failure, with a category (policy, input-out-of-bounds, input-not-finite, input-missing, shape-mismatch or internal) and never a value.</summary>
public sealed record DeclineAggregationRequest(string Category);

/// <summary>Wire names of a pod's status in a secure-aggregation session.</summary>
public static class PodStatuses
{
    public const string Active = "active";
    public const string Declined = "declined";
    public const string Dropped = "dropped";
    public const string Included = "included";
}

/// <summary>One protocol message, base64.</summary>
public sealed record ProtocolMessage(string Data);

/// <summary>Several protocol messages, base64.</summary>
public sealed record ProtocolMessages(IReadOnlyList<string> Items);

/// <summary>What the modeller's client needs to unmask (the masked sum itself is fetched as octet-stream).</summary>
public sealed record UnmaskMaterialResponse(IReadOnlyList<string> KeyBundles, string UnmaskRequest, IReadOnlyList<string> Responses);

/// <summary>The modeller reports which parties its result included; the result itself never reaches the service.</summary>
public sealed record CompleteAggregationRequest(IReadOnlyList<int> IncludedParties);

/// <summary>Wire names of session phases.</summary>
public static class SessionPhases
{
    public const string Created = "created";
    public const string KeyExchange = "key-exchange";
    public const string ShareExchange = "share-exchange";
    public const string MaskedInput = "masked-input";
    public const string Unmasking = "unmasking";
    public const string AwaitingPod = "awaiting-pod";
    public const string Exchange = "exchange";
    public const string Answered = "answered";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
}
