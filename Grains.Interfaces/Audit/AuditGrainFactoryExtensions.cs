namespace Smpc.Grains.Interfaces.Audit;

/// <summary>Typed lookups of the audit grains, so call sites never build their keys.</summary>
public static class AuditGrainFactoryExtensions
{
    /// <summary>The audit log of <paramref name="tenant"/>.</summary>
    public static IAuditLogGrain GetAuditLog(this IGrainFactory factory, string tenant) => factory.GetGrain<IAuditLogGrain>(tenant);

    /// <summary>One stored page of a tenant's audit log.</summary>
    public static IAuditPageGrain GetAuditPage(this IGrainFactory factory, AuditPageKey key) => factory.GetGrain<IAuditPageGrain>(key.ToString());
}
