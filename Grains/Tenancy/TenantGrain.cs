using System.Diagnostics;
using Smpc.Grains.Audit;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Tenancy;

/// <summary>A tenant and its member directory.</summary>
[GrainType("tenant")]
public sealed class TenantGrain(
    [PersistentState("tenant", SmpcDatabase.GrainStorageName)] IPersistentState<TenantState> state,
    TimeProvider time) : Grain, ITenantGrain
{
    private string TenantId => this.GetPrimaryKeyString();

    private string What => $"Tenant '{TenantId}'";

    async Task<Registration<TenantInfo>> ITenantGrain.CreateAsync(Caller caller, string displayName, string adminKeyId, byte[] adminKeyHash)
    {
        using var activity = SmpcTelemetry.Grains.StartActivity("tenant.create");
        activity?.SetTag(SmpcTelemetry.TenantAttribute, TenantId);
        caller.RequireRole(CallerRole.Operator);
        if (!EntityKey.IsValidId(TenantId)) throw SmpcException.Invalid($"'{TenantId}' is not a valid tenant id.");
        MemberRules.ValidateDisplayName(displayName);

        if (state.RecordExists)
        {
            if (state.State.DisplayName == displayName) return new(ToInfo(), Created: false);
            throw SmpcException.Conflict($"{What} already exists with another display name.");
        }

        // Issue the key first: a crash in between leaves an orphan key of a tenant that does not exist (unusable),
        // never a tenant whose admin key was lost.
        await GrainFactory.GetGrain<ICredentialGrain>(adminKeyId).IssueAsync(CallerRole.TenantAdmin, TenantId, null, adminKeyHash);
        state.State.DisplayName = displayName;
        state.State.CreatedAt = time.GetUtcNow();
        state.State.AdminKeyIds.Add(adminKeyId);
        await state.WriteOrRollbackAsync(this, "tenant.create");
        await AuditTrail.RecordAsync(this, TenantId, AuditEvents.TenantCreated(caller), AuditEvents.CredentialIssued(caller, CallerRole.TenantAdmin, null, adminKeyId));
        return new(ToInfo(), Created: true);
    }

    Task<TenantInfo> ITenantGrain.GetAsync(Caller caller)
    {
        if (!state.RecordExists) throw SmpcException.NotFound(What);
        if (caller.Role != CallerRole.Operator) caller.RequireTenant(TenantId, What);
        return Task.FromResult(ToInfo());
    }

    Task<bool> ITenantGrain.ExistsAsync() => Task.FromResult(state.RecordExists);

    async Task<TenantLimits?> ITenantGrain.SetLimitsAsync(Caller caller, TenantLimits? limits)
    {
        // Another tenant's limits are not found (a tenant admin may not learn which tenants exist); its own are forbidden.
        if (caller.Role != CallerRole.Operator) caller.RequireTenant(TenantId, What);
        caller.RequireRole(CallerRole.Operator);
        if (!state.RecordExists) throw SmpcException.NotFound(What);
        if (limits is not null && TenantLimits.RateProblem(limits.RequestsPerSecond, limits.Burst) is { } problem) throw SmpcException.Invalid(problem);
        if (limits is { MaxConcurrentSessions: < 1 } or { PayloadBytesPerDay: < 1 } or { PsiElementsPerDay: < 1 })
            throw SmpcException.Invalid("maxConcurrentSessions, payloadBytesPerDay and psiElementsPerDay are positive when given.");
        if (state.State.Limits == limits) return limits;
        state.State.Limits = limits;
        await state.WriteOrRollbackAsync(this, "tenant.limits");
        await AuditTrail.RecordAsync(this, TenantId, AuditEvents.LimitsChanged(caller, limits));
        return limits;
    }

    Task<TenantLimits?> ITenantGrain.GetLimitsAsync() => Task.FromResult(state.RecordExists ? state.State.Limits : null);

    async Task ITenantGrain.IssueAdminKeyAsync(Caller caller, string keyId, byte[] keyHash)
    {
        if (!state.RecordExists) throw SmpcException.NotFound(What);
        if (caller.Role != CallerRole.Operator)
        {
            caller.RequireTenant(TenantId, What);
            caller.RequireRole(CallerRole.TenantAdmin);
        }

        await GrainFactory.GetGrain<ICredentialGrain>(keyId).IssueAsync(CallerRole.TenantAdmin, TenantId, null, keyHash);
        state.State.AdminKeyIds.Add(keyId);
        await state.WriteOrRollbackAsync(this, "tenant.issue-admin-key");
        await AuditTrail.RecordAsync(this, TenantId, AuditEvents.CredentialIssued(caller, CallerRole.TenantAdmin, null, keyId));
    }

    Task<IReadOnlyList<string>> ITenantGrain.ListAdminKeyIdsAsync(Caller caller)
    {
        caller.RequireTenant(TenantId, What);
        if (!state.RecordExists) throw SmpcException.NotFound(What);
        caller.RequireRole(CallerRole.TenantAdmin);
        return Task.FromResult<IReadOnlyList<string>>([.. state.State.AdminKeyIds]);
    }

    async Task ITenantGrain.AddMemberAsync(MemberKind kind, string id)
    {
        if (!state.RecordExists) throw SmpcException.NotFound(What);
        var set = Members(kind);
        if (set.Contains(id)) return;
        set.Add(id);
        await state.WriteOrRollbackAsync(this, "tenant.add-member");
    }

    Task<IReadOnlyList<string>> ITenantGrain.ListMembersAsync(Caller caller, MemberKind kind)
    {
        if (!state.RecordExists) throw SmpcException.NotFound(What);
        caller.RequireTenant(TenantId, What);
        return Task.FromResult<IReadOnlyList<string>>([.. Members(kind)]);
    }

    private SortedSet<string> Members(MemberKind kind) => kind switch
    {
        MemberKind.Pod => state.State.Pods,
        MemberKind.Modeller => state.State.Modellers,
        _ => throw new UnreachableException(),
    };

    private TenantInfo ToInfo() =>
        new(TenantId, state.State.DisplayName!, state.State.CreatedAt, state.State.Pods.Count, state.State.Modellers.Count);
}
