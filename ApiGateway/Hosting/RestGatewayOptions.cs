namespace Smpc.ApiGateway.Hosting;

/// <summary>Gateway limits, bound from the <c>Smpc:Gateway</c> configuration section.</summary>
public sealed class RestGatewayOptions
{
    public const string Section = "Smpc:Gateway";

    /// <summary>Bytes per payload chunk sent to the grains (1–4 MiB).</summary>
    public int ChunkBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>The largest payload accepted in one request.</summary>
    public long MaxPayloadBytes { get; set; } = 1L << 30;

    /// <summary>The largest JSON request body accepted.</summary>
    public long MaxJsonBytes { get; set; } = 1L << 20;

    /// <summary>How long a readiness probe waits for the cluster.</summary>
    public TimeSpan ReadinessTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
