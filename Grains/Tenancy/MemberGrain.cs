using Smpc.Grains.Audit;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Tenancy;

/// <summary>What pods and modellers share: registration by the tenant admin, keys, tenant-scoped reads.</summary>
public abstract class MemberGrain(IPersistentState<MemberState> state, TimeProvider time, MemberKind kind) : Grain
{
    /// <summary>Length of an Ed25519 public key.</summary>
    public const int IdentityKeyLength = 32;

    protected EntityKey Key => EntityKey.Parse(this.GetPrimaryKeyString());

    /// <summary>The stored state, for the derived grain's own behaviour.</summary>
    protected IPersistentState<MemberState> Persisted => state;

    private string What => $"{kind} '{Key.Id}'";

    private CallerRole Role => kind == MemberKind.Pod ? CallerRole.Pod : CallerRole.Modeller;

    protected async Task<Registration<MemberInfo>> RegisterCoreAsync(Caller caller, string displayName, byte[] identityPublicKey, string keyId, byte[] keyHash)
    {
        var key = Key;
        using var activity = SmpcTelemetry.Grains.StartActivity($"{kind.ToString().ToLowerInvariant()}.register");
        activity?.SetTag(SmpcTelemetry.TenantAttribute, key.Tenant);
        caller.RequireTenant(key.Tenant, $"Tenant '{key.Tenant}'");
        caller.RequireRole(CallerRole.TenantAdmin);
        MemberRules.ValidateDisplayName(displayName);
        // A modeller may still register without one (its sessions are then refused by every pod, with a named reason).
        if ((kind == MemberKind.Pod || identityPublicKey.Length != 0) && identityPublicKey.Length != IdentityKeyLength)
            throw SmpcException.Invalid($"identityPublicKey must be a {IdentityKeyLength}-byte Ed25519 public key.");

        var created = false;
        if (state.RecordExists)
        {
            if (state.State.DisplayName != displayName || !state.State.IdentityPublicKey.AsSpan().SequenceEqual(identityPublicKey))
                throw SmpcException.Conflict($"{What} is already registered with other data.");
        }
        else
        {
            if (!await GrainFactory.GetTenant(key.Tenant).ExistsAsync()) throw SmpcException.NotFound($"Tenant '{key.Tenant}'");
            await GrainFactory.GetGrain<ICredentialGrain>(keyId).IssueAsync(Role, key.Tenant, key.Id, keyHash);
            state.State.DisplayName = displayName;
            state.State.IdentityPublicKey = identityPublicKey;
            state.State.RegisteredAt = time.GetUtcNow();
            state.State.KeyIds.Add(keyId);
            await state.WriteOrRollbackAsync(this, $"{kind}.register");
            await AuditTrail.RecordAsync(this, key.Tenant, AuditEvents.MemberRegistered(caller, kind, key.Id, identityPublicKey, keyId));
            created = true;
        }

        // Repeated on an idempotent retry, so a crash between the two writes heals itself.
        await GrainFactory.GetTenant(key.Tenant).AddMemberAsync(kind, key.Id);
        return new(ToInfo(), created);
    }

    protected Task<MemberInfo> GetCoreAsync(Caller caller)
    {
        caller.RequireTenant(Key.Tenant, What);
        return state.RecordExists ? Task.FromResult(ToInfo()) : throw SmpcException.NotFound(What);
    }

    protected Task<bool> ExistsCoreAsync() => Task.FromResult(state.RecordExists);

    protected async Task IssueKeyCoreAsync(Caller caller, string keyId, byte[] keyHash)
    {
        caller.RequireTenant(Key.Tenant, What);
        if (!state.RecordExists) throw SmpcException.NotFound(What);
        caller.RequireRole(CallerRole.TenantAdmin);
        await GrainFactory.GetGrain<ICredentialGrain>(keyId).IssueAsync(Role, Key.Tenant, Key.Id, keyHash);
        state.State.KeyIds.Add(keyId);
        await state.WriteOrRollbackAsync(this, $"{kind}.issue-key");
        await AuditTrail.RecordAsync(this, Key.Tenant, AuditEvents.CredentialIssued(caller, Role, Key.Id, keyId));
    }

    protected Task<IReadOnlyList<string>> ListKeyIdsCoreAsync(Caller caller)
    {
        caller.RequireTenant(Key.Tenant, What);
        if (!state.RecordExists) throw SmpcException.NotFound(What);
        caller.RequireRole(CallerRole.TenantAdmin);
        return Task.FromResult<IReadOnlyList<string>>([.. state.State.KeyIds]);
    }

    private MemberInfo ToInfo() => new(Key.Tenant, Key.Id, state.State.DisplayName!, state.State.RegisteredAt, state.State.IdentityPublicKey);
}
