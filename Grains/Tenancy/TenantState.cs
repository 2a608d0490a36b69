namespace Smpc.Grains.Tenancy;

/// <summary>Stored state of a tenant (System.Text.Json in the grain storage table).</summary>
public sealed class TenantState
{
    public string? DisplayName { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public SortedSet<string> Pods { get; set; } = new(StringComparer.Ordinal);
    public SortedSet<string> Modellers { get; set; } = new(StringComparer.Ordinal);
    public List<string> AdminKeyIds { get; set; } = [];
    /// <summary>Operator-set rate limits; null means the gateway's defaults.</summary>
    public Smpc.Grains.Interfaces.Tenancy.TenantLimits? Limits { get; set; }
}
