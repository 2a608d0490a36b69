namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>
/// A tenant's limits, set by the operator: request rate per credential (token bucket), and quotas that hold across
/// gateways: sessions running at once, payload bytes and PSI elements stored per UTC day. Null quotas: the gateway's defaults.
/// </summary>
[GenerateSerializer, Immutable, Alias("smpc.tenant-limits")]
public sealed record TenantLimits(
    [property: Id(0)] double RequestsPerSecond,
    [property: Id(1)] int Burst,
    [property: Id(2)] int? MaxConcurrentSessions = null,
    [property: Id(3)] long? PayloadBytesPerDay = null,
    [property: Id(4)] long? PsiElementsPerDay = null)
{
    /// <summary>The slowest rate a token bucket represents here: one request per 1,000 s.</summary>
    public const double MinRequestsPerSecond = 0.001;

    /// <summary>The fastest rate a credential may be given.</summary>
    public const double MaxRequestsPerSecond = 100_000;

    /// <summary>The largest burst a credential may be given.</summary>
    public const int MaxBurst = 1_000_000;

    /// <summary>Why a rate and burst are refused, or null when the limiter can represent them.</summary>
    public static string? RateProblem(double requestsPerSecond, int burst) =>
        !double.IsFinite(requestsPerSecond) || requestsPerSecond < MinRequestsPerSecond || requestsPerSecond > MaxRequestsPerSecond || burst < 1 || burst > MaxBurst
            ? $"requestsPerSecond must be in [{MinRequestsPerSecond}, {MaxRequestsPerSecond}] and burst in [1, {MaxBurst}]."
            : null;
}
