namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>What an RSA key-certification proof is bound to: the tenant and the PSI session id (docs/protocols/psi.md, "Certified RSA keys").</summary>
/// <param name="Tenant">The tenant id, hashed as its UTF-8 bytes.</param>
/// <param name="SessionId">The session id, hashed as its UTF-8 bytes.</param>
public sealed record RsaKeyBinding(string Tenant, string SessionId);
