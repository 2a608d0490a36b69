using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Interfaces.Audit;

/// <summary>Who caused an audit event: a caller's role, subject and key id, or the service itself (deadlines).</summary>
[GenerateSerializer, Immutable, Alias("smpc.audit-actor")]
public sealed record AuditActor(
    [property: Id(0)] string Role,
    [property: Id(1)] string? Subject,
    [property: Id(2)] string? KeyId)
{
    /// <summary>The role name of events the service raises on its own (a deadline passed).</summary>
    public const string ServiceRole = "Service";

    /// <summary>The service itself.</summary>
    public static AuditActor Service { get; } = new(ServiceRole, null, null);

    /// <summary>The actor behind an authenticated call.</summary>
    public static AuditActor Of(Caller caller) => new(caller.Role.ToString(), caller.Subject, caller.KeyId);

    /// <summary>True when <paramref name="who"/> is this actor's role (any case), subject or key id.</summary>
    public bool Matches(string who) =>
        string.Equals(Role, who, StringComparison.OrdinalIgnoreCase) || string.Equals(Subject, who, StringComparison.Ordinal) || string.Equals(KeyId, who, StringComparison.Ordinal);
}
