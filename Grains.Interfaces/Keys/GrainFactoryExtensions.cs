using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.Grains.Interfaces.Keys;

/// <summary>Typed grain lookups so call sites never concatenate key strings.</summary>
public static class GrainFactoryExtensions
{
    public static ITenantGrain GetTenant(this IGrainFactory factory, string tenant) => factory.GetGrain<ITenantGrain>(tenant);

    public static IPodGrain GetPod(this IGrainFactory factory, EntityKey key) => factory.GetGrain<IPodGrain>(key.ToString());

    public static IModellerGrain GetModeller(this IGrainFactory factory, EntityKey key) => factory.GetGrain<IModellerGrain>(key.ToString());

    public static ISessionGrain GetSession(this IGrainFactory factory, EntityKey key) => factory.GetGrain<ISessionGrain>(key.ToString());

    public static IPayloadGrain GetPayload(this IGrainFactory factory, PayloadKey key) => factory.GetGrain<IPayloadGrain>(key.ToString());
}
