using Smpc.Contracts;

namespace Smpc.Client;

/// <summary>The modeller refuses a session the service stores (or serves) differently from what the modeller asked for and signed.</summary>
public sealed class SessionMismatchException(SessionResponse session, string reason) : Exception($"Session {session.Id}: refused, {reason}.")
{
    /// <summary>The session as the service served it.</summary>
    public SessionResponse Session { get; } = session;
}
