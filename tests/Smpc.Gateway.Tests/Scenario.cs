using Smpc.Client;
using Smpc.Client.Contracts;

namespace Smpc.Gateway.Tests;

/// <summary>Builds the smallest tenant that can hold a session, through the REST API.</summary>
internal static class Scenario
{
    public static async Task<string> TenantWithSessionAsync(SmpcClient client, string sessionId = "s1")
    {
        var tenant = "t-" + Guid.NewGuid().ToString("N")[..10];
        await client.CreateTenantAsync(new CreateTenantRequest(tenant, "Tenant"));
        foreach (var pod in new[] { "p1", "p2", "p3" }) await client.RegisterPodAsync(tenant, new RegisterMemberRequest(pod, "Pod " + pod));
        await client.RegisterModellerAsync(tenant, new RegisterMemberRequest("m1", "Modeller"));
        await client.CreateSessionAsync(tenant, new CreateSessionRequest(sessionId, "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"]));
        return tenant;
    }
}
