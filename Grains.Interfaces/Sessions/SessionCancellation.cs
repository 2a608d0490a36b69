namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>Who cancelled a session (role and subject; the admin has none), when, the reason they gave (if any) and the modeller's signature of the cancel (if given).</summary>
[GenerateSerializer, Immutable, Alias("smpc.session-cancellation")]
public sealed record SessionCancellation(
    [property: Id(0)] string Role,
    [property: Id(1)] string? By,
    [property: Id(2)] string? Reason,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] byte[]? Signature = null,
    [property: Id(5)] string? SignedReason = null);
