using System.Diagnostics;
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

    async Task<TenantInfo> ITenantGrain.CreateAsync(string displayName)
    {
        using var activity = SmpcTelemetry.Grains.StartActivity("tenant.create");
        activity?.SetTag(SmpcTelemetry.TenantAttribute, TenantId);
        if (!EntityKey.IsValidId(TenantId)) throw SmpcException.Invalid($"'{TenantId}' is not a valid tenant id.");
        MemberRules.ValidateDisplayName(displayName);

        if (state.RecordExists)
        {
            if (state.State.DisplayName == displayName) return ToInfo();
            throw SmpcException.Conflict($"Tenant '{TenantId}' already exists with another display name.");
        }

        state.State.DisplayName = displayName;
        state.State.CreatedAt = time.GetUtcNow();
        await state.WriteOrRollbackAsync(this, "tenant.create");
        return ToInfo();
    }

    Task<TenantInfo> ITenantGrain.GetAsync() =>
        state.RecordExists ? Task.FromResult(ToInfo()) : throw SmpcException.NotFound($"Tenant '{TenantId}'");

    Task<bool> ITenantGrain.ExistsAsync() => Task.FromResult(state.RecordExists);

    async Task ITenantGrain.AddMemberAsync(MemberKind kind, string id)
    {
        if (!state.RecordExists) throw SmpcException.NotFound($"Tenant '{TenantId}'");
        var set = Members(kind);
        if (set.Contains(id)) return;
        set.Add(id);
        await state.WriteOrRollbackAsync(this, "tenant.add-member");
    }

    Task<IReadOnlyList<string>> ITenantGrain.ListMembersAsync(MemberKind kind)
    {
        if (!state.RecordExists) throw SmpcException.NotFound($"Tenant '{TenantId}'");
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
