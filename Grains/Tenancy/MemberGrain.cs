using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Tenancy;

/// <summary>What pods and modellers share: registration inside an existing tenant.</summary>
public abstract class MemberGrain(IPersistentState<MemberState> state, TimeProvider time, MemberKind kind) : Grain
{
    protected EntityKey Key => EntityKey.Parse(this.GetPrimaryKeyString());

    private string What => $"{kind} '{Key.Id}'";

    protected async Task<MemberInfo> RegisterCoreAsync(string displayName)
    {
        var key = Key;
        using var activity = SmpcTelemetry.Grains.StartActivity($"{kind.ToString().ToLowerInvariant()}.register");
        activity?.SetTag(SmpcTelemetry.TenantAttribute, key.Tenant);
        MemberRules.ValidateDisplayName(displayName);

        if (state.RecordExists)
        {
            if (state.State.DisplayName != displayName) throw SmpcException.Conflict($"{What} is already registered with another display name.");
        }
        else
        {
            var tenant = GrainFactory.GetTenant(key.Tenant);
            if (!await tenant.ExistsAsync()) throw SmpcException.NotFound($"Tenant '{key.Tenant}'");
            state.State.DisplayName = displayName;
            state.State.RegisteredAt = time.GetUtcNow();
            await state.WriteOrRollbackAsync(this, $"{kind}.register");
        }

        // Repeated on an idempotent retry, so a crash between the two writes heals itself.
        await GrainFactory.GetTenant(key.Tenant).AddMemberAsync(kind, key.Id);
        return ToInfo();
    }

    protected Task<MemberInfo> GetCoreAsync() =>
        state.RecordExists ? Task.FromResult(ToInfo()) : throw SmpcException.NotFound(What);

    protected Task<bool> ExistsCoreAsync() => Task.FromResult(state.RecordExists);

    private MemberInfo ToInfo() => new(Key.Tenant, Key.Id, state.State.DisplayName!, state.State.RegisteredAt);
}
