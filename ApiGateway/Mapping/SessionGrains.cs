using Smpc.ApiGateway.Apis;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.ApiGateway.Mapping;

/// <summary>
/// The session grain a route talks to: the session contract (<see cref="ISessionGrain"/>, through the session's
/// directory entry) for the generic routes, the kind's grain for a protocol's routes. A protocol call on a session of
/// another kind is refused as "This is not a … session." (after the caller's right to see it), as it always was.
/// </summary>
internal static class SessionGrains
{
    /// <summary>A session whatever its kind.</summary>
    public static ISessionGrain Any(IGrainFactory grains, string tenantId, string sessionId) =>
        Grains.Interfaces.Keys.GrainFactoryExtensions.GetSession(grains, RouteIds.Key(tenantId, sessionId, "Session"));

    /// <summary>Calls a secure-aggregation session.</summary>
    public static Task<T> SecureAggregationAsync<T>(IGrainFactory grains, string tenantId, string sessionId, Caller caller, Func<ISecureAggregationSessionGrain, Task<T>> call)
    {
        var key = RouteIds.Key(tenantId, sessionId, "Session");
        return SessionKindGuard.CallAsync(grains, key, caller, "secure-aggregation",
            () => call(Grains.Interfaces.Keys.GrainFactoryExtensions.GetSecureAggregationSession(grains, key)), SessionKind.SecureAggregation);
    }

    /// <summary>Calls a PSI session.</summary>
    public static Task<T> PsiAsync<T>(IGrainFactory grains, string tenantId, string sessionId, Caller caller, Func<IPsiSessionGrain, Task<T>> call)
    {
        var key = RouteIds.Key(tenantId, sessionId, "Session");
        return SessionKindGuard.CallAsync(grains, key, caller, "PSI",
            () => call(Grains.Interfaces.Keys.GrainFactoryExtensions.GetPsiSession(grains, key)), SessionKind.PrivateSetIntersection);
    }

    /// <summary>Calls a federated query or training session.</summary>
    public static Task<T> FederatedAsync<T>(IGrainFactory grains, string tenantId, string sessionId, Caller caller, Func<IFederatedSessionGrain, Task<T>> call)
    {
        var key = RouteIds.Key(tenantId, sessionId, "Session");
        return SessionKindGuard.CallAsync(grains, key, caller, "federated query or training",
            () => call(Grains.Interfaces.Keys.GrainFactoryExtensions.GetFederatedSession(grains, key)), SessionKind.FederatedQuery, SessionKind.FederatedTraining);
    }
}
