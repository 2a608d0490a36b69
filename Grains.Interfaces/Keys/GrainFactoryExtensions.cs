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

    /// <summary>A session whatever its kind: its directory entry, which hands each call to the kind's grain.</summary>
    public static ISessionGrain GetSession(this IGrainFactory factory, EntityKey key) => factory.GetGrain<ISessionDirectoryGrain>(key.ToString());

    /// <summary>The directory entry of a session id: which kind of session it holds.</summary>
    public static ISessionDirectoryGrain GetSessionDirectory(this IGrainFactory factory, EntityKey key) => factory.GetGrain<ISessionDirectoryGrain>(key.ToString());

    /// <summary>A secure-aggregation session (its protocol messages).</summary>
    public static ISecureAggregationSessionGrain GetSecureAggregationSession(this IGrainFactory factory, EntityKey key) => factory.GetGrain<ISecureAggregationSessionGrain>(key.ToString());

    /// <summary>A PSI session (its protocol messages).</summary>
    public static IPsiSessionGrain GetPsiSession(this IGrainFactory factory, EntityKey key) => factory.GetGrain<IPsiSessionGrain>(key.ToString());

    /// <summary>A federated query or training session (its protocol messages).</summary>
    public static IFederatedSessionGrain GetFederatedSession(this IGrainFactory factory, EntityKey key) => factory.GetGrain<IFederatedSessionGrain>(key.ToString());

    public static IPayloadGrain GetPayload(this IGrainFactory factory, PayloadKey key) => factory.GetGrain<IPayloadGrain>(key.ToString());
}
