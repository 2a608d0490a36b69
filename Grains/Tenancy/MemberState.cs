namespace Smpc.Grains.Tenancy;

/// <summary>Stored state of a pod or modeller.</summary>
public sealed class MemberState
{
    public string? DisplayName { get; set; }
    public DateTimeOffset RegisteredAt { get; set; }
}
