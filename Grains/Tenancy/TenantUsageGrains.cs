using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Tenancy;

/// <summary>Stored daily usage of a tenant.</summary>
public sealed class TenantUsageState
{
    public Dictionary<UsageKind, long> Totals { get; set; } = [];
}

/// <summary>Counts a tenant's stored bytes and PSI elements for one UTC day; one activation serialises every gateway's updates.</summary>
[GrainType("tenant-usage")]
public sealed class TenantUsageGrain(
    [PersistentState("usage", SmpcDatabase.GrainStorageName)] IPersistentState<TenantUsageState> state) : Grain, ITenantUsageGrain
{
    async Task<UsageKind?> ITenantUsageGrain.TryChargeAsync(IReadOnlyList<UsageCharge> charges)
    {
        var totals = state.State.Totals;
        foreach (var charge in charges)
            if (totals.GetValueOrDefault(charge.Kind) + Math.Max(0, charge.Amount) + Math.Max(0, charge.StillExpected) > charge.Limit) return charge.Kind;
        if (!charges.Any(c => c.Amount > 0)) return null;
        foreach (var charge in charges.Where(c => c.Amount > 0)) totals[charge.Kind] = totals.GetValueOrDefault(charge.Kind) + charge.Amount;
        await state.WriteOrRollbackAsync(this, "usage.add");
        return null;
    }

    Task<IReadOnlyDictionary<UsageKind, long>> ITenantUsageGrain.GetAsync() =>
        Task.FromResult<IReadOnlyDictionary<UsageKind, long>>(new Dictionary<UsageKind, long>(state.State.Totals));
}

/// <summary>Stored set of a tenant's running sessions.</summary>
public sealed class TenantSessionsState
{
    public SortedSet<string> Running { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Admits a tenant's sessions up to its concurrent-session quota; ended sessions are pruned when the quota is reached.</summary>
[GrainType("tenant-sessions")]
public sealed class TenantSessionsGrain(
    [PersistentState("sessions", SmpcDatabase.GrainStorageName)] IPersistentState<TenantSessionsState> state) : Grain, ITenantSessionsGrain
{
    async Task<bool> ITenantSessionsGrain.TryOpenAsync(string sessionId, int limit)
    {
        var running = state.State.Running;
        if (running.Contains(sessionId)) return true;
        if (running.Count >= limit)
        {
            var tenant = this.GetPrimaryKeyString();
            var ended = await Task.WhenAll(running.Select(async id => (id, Ended: await GrainFactory.GetSession(new EntityKey(tenant, id)).HasEndedAsync())));
            foreach (var (id, _) in ended.Where(e => e.Ended)) running.Remove(id);
        }

        if (running.Count >= limit)
        {
            if (state.RecordExists) await state.WriteOrRollbackAsync(this, "sessions.prune");
            return false;
        }

        running.Add(sessionId);
        await state.WriteOrRollbackAsync(this, "sessions.open");
        return true;
    }
}
