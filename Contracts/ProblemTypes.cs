namespace Smpc.Contracts;

/// <summary>Stable RFC 9457 problem <c>type</c> URIs; clients branch on these, never on titles or messages.</summary>
public static class ProblemTypes
{
    /// <summary>The prefix every type shares.</summary>
    public const string Base = "https://smpc.dev/problems/";
    public const string NotFound = Base + "not-found";
    public const string RouteNotFound = Base + "route-not-found";
    public const string Conflict = Base + "conflict";
    public const string Validation = Base + "validation";
    public const string WrongPhase = Base + "wrong-phase";
    public const string MalformedRequest = Base + "malformed-request";
    public const string UnsupportedMediaType = Base + "unsupported-media-type";
    public const string PayloadTooLarge = Base + "payload-too-large";
    public const string MethodNotAllowed = Base + "method-not-allowed";
    public const string StorageUnavailable = Base + "storage-unavailable";
    public const string ServiceUnavailable = Base + "service-unavailable";
    public const string Internal = Base + "internal";
    public const string Unauthenticated = Base + "unauthenticated";
    public const string Forbidden = Base + "forbidden";
    public const string TooManyRequests = Base + "too-many-requests";
    public const string QuotaExceeded = Base + "quota-exceeded";
    public const string RangeNotSatisfiable = Base + "range-not-satisfiable";
    /// <summary>A peer speaks a protocol version the session does not (e.g. ECDH PSI from before ecdh-oprf-v1); upgrade it.</summary>
    public const string UnsupportedProtocolVersion = Base + "unsupported-protocol-version";
    /// <summary>An Idempotency-Key header that is not 1–255 printable ASCII characters (400).</summary>
    public const string InvalidIdempotencyKey = Base + "invalid-idempotency-key";
    /// <summary>An Idempotency-Key used before (within 24 h) for a different request (422).</summary>
    public const string IdempotencyKeyReused = Base + "idempotency-key-reused";
    /// <summary>The first request with this Idempotency-Key is still running (409, with Retry-After).</summary>
    public const string IdempotencyRequestInProgress = Base + "idempotency-request-in-progress";
    /// <summary>A webhook URL that is not absolute https (plain http is allowed only to a loopback host of an embedded service).</summary>
    public const string InvalidWebhookUrl = Base + "invalid-webhook-url";
}
