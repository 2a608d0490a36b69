namespace Smpc.Protocols;

/// <summary>A cryptographic check failed: signature, AEAD tag, group element, identity pin or share consistency.</summary>
public sealed class CryptographicCheckException : ProtocolException
{
    /// <summary>Creates the exception.</summary>
    public CryptographicCheckException(ProtocolError error, string message)
        : base(error, message)
    {
    }
}
