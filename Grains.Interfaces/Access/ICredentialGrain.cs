namespace Smpc.Grains.Interfaces.Access;

/// <summary>One API key, keyed by its key id. Verification is a grain call, so revocation holds at once on every gateway.</summary>
[Alias("smpc.credential")]
public interface ICredentialGrain : IGrainWithStringKey
{
    /// <summary>Stores a new credential; a key id is issued once.</summary>
    [Alias("issue")] Task IssueAsync(CallerRole role, string tenant, string? subject, [Immutable] byte[] secretHash);

    /// <summary>The caller this key acts as, or null when the secret is wrong, the key unknown or revoked.</summary>
    [Alias("verify")] Task<Caller?> VerifyAsync([Immutable] byte[] secretHash);

    /// <summary>
    /// Revokes the key, at once or after <paramref name="after"/> (the overlap of a rotation: the old key keeps working while
    /// clients switch to the new one). Idempotent; an earlier time replaces a later one, never the reverse. Only the
    /// tenant's admin may; others see not-found.
    /// </summary>
    [Alias("revoke")] Task<CredentialInfo> RevokeAsync(Caller caller, TimeSpan after = default);

    /// <summary>What is stored of the key, for its tenant's admin.</summary>
    [Alias("get")] Task<CredentialInfo> GetAsync(Caller caller);
}
