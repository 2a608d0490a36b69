namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>What a PSI coordinator needs of a session's spec.</summary>
/// <param name="Protocol">The protocol's name as the spec gives it (<c>ecdh</c>, <c>rsa-blind</c> or <c>kkrt</c>).</param>
/// <param name="RsaBlind">True for the RSA blind-signature protocol.</param>
/// <param name="Cardinality">True when the modeller learns only the count.</param>
/// <param name="ModellerSetSize">The size of the modeller's set, declared up front.</param>
/// <param name="KeyBits">The RSA key size (rsa-blind).</param>
/// <param name="Timeout">How long the whole session may take.</param>
/// <param name="Version">The protocol version the session speaks (ecdh: <see cref="EcdhPsiVersion.Current"/>, kkrt: <see cref="Kkrt.KkrtPsiVersion.Current"/>); the pod must accept with the same.</param>
public sealed record PsiSessionRules(string Protocol, bool RsaBlind, bool Cardinality, long ModellerSetSize, int KeyBits, TimeSpan Timeout, string? Version = null)
{
    /// <summary>True for kkrt (KKRT16 OT-extension PSI): the pod's set is its setup, the query and reply have lengths set by the modeller's set size.</summary>
    public bool Kkrt => Protocol == Smpc.Contracts.PsiProtocolNames.Kkrt;
}
