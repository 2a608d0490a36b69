namespace Smpc.Protocols;

/// <summary>A protocol message was malformed, out of order, duplicated or contradictory.</summary>
public sealed class MessageRejectedException : ProtocolException
{
    /// <summary>Creates the exception.</summary>
    public MessageRejectedException(ProtocolError error, string message)
        : base(error, message)
    {
    }
}
