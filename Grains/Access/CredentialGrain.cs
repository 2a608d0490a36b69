using Smpc.Grains.Audit;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Access;

/// <summary>One API key. Every request is verified here, so a revocation takes effect at once on every gateway.</summary>
[GrainType("credential")]
public sealed class CredentialGrain(
    [PersistentState("credential", SmpcDatabase.GrainStorageName)] IPersistentState<CredentialState> state,
    TimeProvider time) : Grain, ICredentialGrain
{
    private string KeyId => this.GetPrimaryKeyString();

    async Task ICredentialGrain.IssueAsync(CallerRole role, string tenant, string? subject, byte[] secretHash)
    {
        if (state.RecordExists)
        {
            // A retried issuance of the same key is harmless; anything else would hijack an existing key id.
            if (state.State.Role == role && state.State.Tenant == tenant && state.State.Subject == subject && ApiKey.HashesEqual(state.State.SecretHash, secretHash)) return;
            throw SmpcException.Conflict("This key id is already issued.");
        }

        if (role == CallerRole.Operator) throw SmpcException.Invalid("Operator keys are configured, not issued.");
        if (secretHash is not { Length: 32 }) throw SmpcException.Invalid("A key hash is 32 bytes.");
        state.State.Role = role;
        state.State.Tenant = tenant;
        state.State.Subject = subject;
        state.State.SecretHash = secretHash;
        state.State.CreatedAt = time.GetUtcNow();
        await state.WriteOrRollbackAsync(this, "credential.issue");
        SmpcTelemetry.CredentialsIssued.Add(1, new KeyValuePair<string, object?>("smpc.role", role.ToString()));
    }

    Task<Caller?> ICredentialGrain.VerifyAsync(byte[] secretHash)
    {
        // Compare even for unknown or revoked keys so timing says nothing about which case it was.
        var stored = state.RecordExists ? state.State.SecretHash : new byte[32];
        var equal = secretHash is { Length: 32 } && ApiKey.HashesEqual(stored, secretHash);
        // A key id that was never issued (a guess, a flood of random keys) keeps no activation: memory stays bounded.
        if (!state.RecordExists) DeactivateOnIdle();
        if (!equal || !state.RecordExists || state.State.RevokedAt <= time.GetUtcNow()) return Task.FromResult<Caller?>(null);
        return Task.FromResult<Caller?>(new Caller(state.State.Role, state.State.Tenant, state.State.Subject, KeyId));
    }

    /// <summary>The longest overlap a rotation may leave the old key working.</summary>
    public static readonly TimeSpan MaxOverlap = TimeSpan.FromDays(30);

    async Task<CredentialInfo> ICredentialGrain.RevokeAsync(Caller caller, TimeSpan after)
    {
        Authorize(caller);
        if (after < TimeSpan.Zero || after > MaxOverlap) throw SmpcException.Invalid($"A key may keep working for 0 to {MaxOverlap.TotalDays} days after its revocation is asked for.");
        var at = time.GetUtcNow() + after;
        if (state.State.RevokedAt is null || at < state.State.RevokedAt)
        {
            state.State.RevokedAt = at;
            await state.WriteOrRollbackAsync(this, after == TimeSpan.Zero ? "credential.revoke" : "credential.revoke-later");
            await AuditTrail.RecordAsync(this, state.State.Tenant, AuditEvents.CredentialRevoked(caller, state.State.Role, state.State.Subject, KeyId, after, at));
        }

        return ToInfo();
    }

    Task<CredentialInfo> ICredentialGrain.GetAsync(Caller caller)
    {
        Authorize(caller);
        return Task.FromResult(ToInfo());
    }

    private void Authorize(Caller caller)
    {
        if (!state.RecordExists) throw SmpcException.NotFound($"Key '{KeyId}'");
        caller.RequireTenant(state.State.Tenant, $"Key '{KeyId}'");
        caller.RequireRole(CallerRole.TenantAdmin);
    }

    private CredentialInfo ToInfo() =>
        new(KeyId, state.State.Role, state.State.Tenant, state.State.Subject, state.State.CreatedAt, state.State.RevokedAt);
}
