using System.Globalization;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Audit;

/// <summary>Stored state of a tenant's quota notices: per quota, the last UTC day it was recorded as reached.</summary>
public sealed class QuotaNoticeState
{
    public Dictionary<string, DateOnly> LastReached { get; set; } = [];
}

/// <summary>
/// Records <c>quota.reached</c> once per tenant, quota and UTC day. The day is stored before the audit entry is appended:
/// a crash between the two loses that day's entry rather than repeating it (the refusals themselves are answered 429 and
/// counted either way).
/// </summary>
[GrainType("quota-notice")]
public sealed class QuotaNoticeGrain(
    [PersistentState("quota-notice", SmpcDatabase.GrainStorageName)] IPersistentState<QuotaNoticeState> state) : Grain, IQuotaNoticeGrain
{
    async Task<bool> IQuotaNoticeGrain.ReachedAsync(string quota, long limit, DateOnly day)
    {
        if (state.State.LastReached.TryGetValue(quota, out var last) && last >= day) return false;
        state.State.LastReached[quota] = day;
        await state.WriteOrRollbackAsync(this, "quota.notice");
        await AuditTrail.RecordAsync(this, this.GetPrimaryKeyString(), new AuditEvent(
            AuditEventTypes.QuotaReached, AuditActor.Service, Detail: string.Create(CultureInfo.InvariantCulture, $"{quota}: limit {limit}")));
        return true;
    }
}
