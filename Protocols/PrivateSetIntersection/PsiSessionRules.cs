namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>What a PSI coordinator needs of a session's spec.</summary>
/// <param name="Protocol">The protocol's name as the spec gives it (<c>ecdh</c> or <c>rsa-blind</c>).</param>
/// <param name="RsaBlind">True for the RSA blind-signature protocol.</param>
/// <param name="Cardinality">True when the modeller learns only the count.</param>
/// <param name="ModellerSetSize">The size of the modeller's set, declared up front.</param>
/// <param name="KeyBits">The RSA key size (rsa-blind).</param>
/// <param name="Timeout">How long the whole session may take.</param>
/// <param name="Version">The ecdh protocol version the session speaks (<see cref="EcdhPsiVersion.Current"/>); the pod must accept with the same.</param>
public sealed record PsiSessionRules(string Protocol, bool RsaBlind, bool Cardinality, long ModellerSetSize, int KeyBits, TimeSpan Timeout, string? Version = null);
