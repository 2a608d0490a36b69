namespace Smpc.Protocols.Coordination;

/// <summary>Why a coordinator refused a message; the service maps each to its problem type.</summary>
public enum RefusalKind
{
    /// <summary>The message is malformed or breaks a rule of the session (400).</summary>
    Invalid = 1,
    /// <summary>The sender already sent something else in its place (409).</summary>
    Conflict = 2,
    /// <summary>The message does not fit the session's current phase, or the sender can no longer take part (409 wrong-phase).</summary>
    WrongPhase = 3,
    /// <summary>The sender speaks another version of the protocol than the session (400 unsupported-protocol-version).</summary>
    UnsupportedVersion = 4,
}
