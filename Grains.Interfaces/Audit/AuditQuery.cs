namespace Smpc.Grains.Interfaces.Audit;

/// <summary>
/// A read of a tenant's audit log: entries after sequence <see cref="After"/>, at most <see cref="Limit"/>, that match
/// every filter given. <see cref="Pod"/> keeps the entries that involve that pod (its own keys and registration, and
/// every event of the sessions it takes part in). <see cref="Through"/> stops at a sequence (an export's snapshot).
/// </summary>
[GenerateSerializer, Immutable, Alias("smpc.audit-query")]
public sealed record AuditQuery(
    [property: Id(0)] long After = 0,
    [property: Id(1)] int Limit = AuditQuery.DefaultLimit,
    [property: Id(2)] string? Type = null,
    [property: Id(3)] string? Session = null,
    [property: Id(4)] string? Actor = null,
    [property: Id(5)] string? Pod = null,
    [property: Id(6)] DateTimeOffset? Since = null,
    [property: Id(7)] DateTimeOffset? Until = null,
    [property: Id(8)] long? Through = null)
{
    /// <summary>Entries per page when the caller names no limit.</summary>
    public const int DefaultLimit = 100;

    /// <summary>The most entries one page may hold.</summary>
    public const int MaxLimit = 500;

    /// <summary>
    /// True when <paramref name="entry"/> passes every filter. <see cref="Type"/> is an exact type, or a family such as
    /// <c>session.*</c>; <see cref="Since"/> is inclusive and <see cref="Until"/> exclusive.
    /// </summary>
    public bool Matches(AuditEntry entry) =>
        (Type is null || (Type.EndsWith(".*", StringComparison.Ordinal)
            ? entry.Type.StartsWith(Type[..^1], StringComparison.Ordinal)
            : string.Equals(entry.Type, Type, StringComparison.Ordinal)))
        && (Session is null || string.Equals(entry.Session, Session, StringComparison.Ordinal))
        && (Actor is null || entry.Actor.Matches(Actor))
        && (Pod is null || entry.Pods.Contains(Pod, StringComparer.Ordinal))
        && (Since is null || entry.Time >= Since)
        && (Until is null || entry.Time < Until);
}
