namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>A pod's RSA key failed certification; <see cref="Reason"/> says which check, <see cref="ReasonCode"/> names it on the wire.</summary>
public sealed class RsaKeyRefusedException : ProtocolException
{
    /// <summary>Creates the exception; the protocol error follows from the reason.</summary>
    public RsaKeyRefusedException(RsaKeyRefusal reason, string message)
        : base(ErrorOf(reason), $"RSA key refused ({CodeOf(reason)}): {message}") => Reason = reason;

    /// <summary>Which check failed.</summary>
    public RsaKeyRefusal Reason { get; }

    /// <summary>The stable wire name of <see cref="Reason"/> (e.g. "proof-invalid"), used in cancel reasons and logs.</summary>
    public string ReasonCode => CodeOf(Reason);

    /// <summary>The stable wire name of a refusal reason.</summary>
    public static string CodeOf(RsaKeyRefusal reason) => reason switch
    {
        RsaKeyRefusal.ExponentNot65537 => "exponent-not-65537",
        RsaKeyRefusal.WrongModulusSize => "wrong-modulus-size",
        RsaKeyRefusal.EvenModulus => "even-modulus",
        RsaKeyRefusal.SmallFactor => "small-factor",
        RsaKeyRefusal.ProofMissing => "proof-missing",
        RsaKeyRefusal.ProofMalformed => "proof-malformed",
        RsaKeyRefusal.ProofInvalid => "proof-invalid",
        _ => "unknown",
    };

    private static ProtocolError ErrorOf(RsaKeyRefusal reason) => reason switch
    {
        RsaKeyRefusal.ProofMissing or RsaKeyRefusal.ProofMalformed => ProtocolError.Malformed,
        RsaKeyRefusal.ProofInvalid => ProtocolError.BadSignature,
        _ => ProtocolError.InvalidParameters,
    };
}
