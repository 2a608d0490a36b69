namespace Smpc.Protocols;

/// <summary>Base of every error the protocol library raises on purpose; <see cref="Error"/> is stable for callers.</summary>
public class ProtocolException : Exception
{
    /// <summary>Creates an exception with a stable code and a human-readable message.</summary>
    public ProtocolException(ProtocolError error, string message)
        : base(message) => Error = error;

    /// <summary>Creates an exception with a stable code, message and inner cause.</summary>
    public ProtocolException(ProtocolError error, string message, Exception innerException)
        : base(message, innerException) => Error = error;

    /// <summary>The stable error code.</summary>
    public ProtocolError Error { get; }
}
