namespace Smpc.Client.Identity;

/// <summary>
/// A member's identity differs from the one pinned for it (or no pin exists and trust on first use is off): a hard stop.
/// A legitimate rotation is accepted only when a person updates the pin (<c>smpc pins remove</c>, then <c>add</c>).
/// </summary>
public sealed class PinMismatchException(string tenant, string kind, string id, string? pinned, string? presented, string message)
    : Exception(message)
{
    /// <summary>The member's tenant.</summary>
    public string Tenant { get; } = tenant;

    /// <summary>The member's kind (<see cref="PinKinds"/>).</summary>
    public string Kind { get; } = kind;

    /// <summary>The member's id.</summary>
    public string Id { get; } = id;

    /// <summary>The pinned fingerprint, or null when there was no pin.</summary>
    public string? Pinned { get; } = pinned;

    /// <summary>The fingerprint the service presented, or null when it presented none.</summary>
    public string? Presented { get; } = presented;
}
