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

    /// <summary>The operator key (prefer <see cref="OperatorKeySha256"/> so the key itself is not in configuration).</summary>
    public string? OperatorKey { get; set; }

    /// <summary>Lower-case hex SHA-256 of the operator key.</summary>
    public string? OperatorKeySha256 { get; set; }

    /// <summary>The hash the operator key is checked against, or null when no operator is configured.</summary>
    public byte[]? OperatorKeyHash() =>
        !string.IsNullOrWhiteSpace(OperatorKeySha256) ? Convert.FromHexString(OperatorKeySha256.Trim())
        : !string.IsNullOrWhiteSpace(OperatorKey) ? Convert.FromHexString(Auth.OperatorKeys.HashHex(OperatorKey.Trim()))
        : null;

    /// <summary>How long a readiness probe waits for the cluster.</summary>
    public TimeSpan ReadinessTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
