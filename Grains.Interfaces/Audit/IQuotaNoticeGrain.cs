namespace Smpc.Grains.Interfaces.Audit;

/// <summary>
/// Records <c>quota.reached</c> in a tenant's audit log once per quota and UTC day, however many requests the quota
/// refuses and through however many gateways. Keyed by tenant id; service-internal.
/// </summary>
[Alias("smpc.quota-notice")]
public interface IQuotaNoticeGrain : IGrainWithStringKey
{
    /// <summary>The quota <paramref name="quota"/> (limit <paramref name="limit"/>) refused a request on <paramref name="day"/>; true when this call recorded it.</summary>
    [Alias("reached")] Task<bool> ReachedAsync(string quota, long limit, DateOnly day);
}
