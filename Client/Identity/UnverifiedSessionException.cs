using Smpc.Contracts;

namespace Smpc.Client.Identity;

/// <summary>
/// A pod refuses a session whose modeller signature does not hold (<see cref="Reason"/> is one of
/// <see cref="UnverifiedReasons"/>): it sends nothing for it, not even a key bundle.
/// </summary>
public sealed class UnverifiedSessionException(SessionResponse session, string reason, string message) : Exception(message)
{
    /// <summary>The session as served.</summary>
    public SessionResponse Session { get; } = session;

    /// <summary>Why, by name (<see cref="UnverifiedReasons"/>).</summary>
    public string Reason { get; } = reason;
}
