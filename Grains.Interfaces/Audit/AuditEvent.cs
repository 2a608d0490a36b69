namespace Smpc.Grains.Interfaces.Audit;

/// <summary>
/// What a grain appends to its tenant's audit log; the log adds the sequence number and the time. The subject resources
/// (session, pods, modeller, key id) are ids only, and the detail is a short human text: never a secret, a key hash, an
/// input, a payload or a count beyond what the session resource already shows.
/// </summary>
[GenerateSerializer, Immutable, Alias("smpc.audit-event")]
public sealed record AuditEvent(
    [property: Id(0)] string Type,
    [property: Id(1)] AuditActor Actor,
    [property: Id(2)] string? Session = null,
    [property: Id(3)] IReadOnlyList<string>? Pods = null,
    [property: Id(4)] string? Modeller = null,
    [property: Id(5)] string? KeyId = null,
    [property: Id(6)] string? Detail = null,
    [property: Id(7)] string? TraceId = null);
