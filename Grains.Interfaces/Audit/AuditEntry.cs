namespace Smpc.Grains.Interfaces.Audit;

/// <summary>One stored audit entry: an event with its per-tenant sequence number (1, 2, 3, … with no gaps) and the time it was recorded.</summary>
[GenerateSerializer, Immutable, Alias("smpc.audit-entry")]
public sealed record AuditEntry(
    [property: Id(0)] long Sequence,
    [property: Id(1)] DateTimeOffset Time,
    [property: Id(2)] string Type,
    [property: Id(3)] AuditActor Actor,
    [property: Id(4)] string? Session,
    [property: Id(5)] IReadOnlyList<string> Pods,
    [property: Id(6)] string? Modeller,
    [property: Id(7)] string? KeyId,
    [property: Id(8)] string? TraceId,
    [property: Id(9)] string? Detail);
