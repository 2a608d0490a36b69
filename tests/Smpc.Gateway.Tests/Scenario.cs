using Smpc.Client;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;

namespace Smpc.Gateway.Tests;

/// <summary>A tenant as its people see it: one client per credential.</summary>
internal sealed record TenantClients(
    string Tenant, SmpcClient Admin, SmpcClient Modeller, IReadOnlyDictionary<string, SmpcClient> Pods, IssuedKeyResponse ModellerKey,
    IReadOnlyDictionary<string, Ed25519KeyPair> Identities);

/// <summary>Builds the smallest tenant that can hold a session, through the REST API, with the keys the API hands out.</summary>
internal static class Scenario
{
    public static async Task<TenantClients> TenantAsync(EmbeddedService service, string[]? pods = null)
    {
        var tenant = "t-" + Guid.NewGuid().ToString("N")[..10];
        var created = await service.Operator.CreateTenantAsync(new CreateTenantRequest(tenant, "Tenant"));
        var admin = service.Anonymous.WithKey(created.AdminKey!.ApiKey);
        var podClients = new Dictionary<string, SmpcClient>();
        var identities = new Dictionary<string, Ed25519KeyPair>();
        foreach (var pod in pods ?? ["p1", "p2", "p3"])
        {
            identities[pod] = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
            var registered = await admin.RegisterPodAsync(tenant, new RegisterPodRequest(pod, "Pod " + pod, Convert.ToBase64String(identities[pod].PublicKey)));
            podClients[pod] = service.Anonymous.WithKey(registered.ApiKey!.ApiKey);
        }

        // The modeller signs the sessions it creates with its identity key, as pods' agents require.
        var modellerIdentity = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        var modeller = await admin.RegisterModellerAsync(tenant, new RegisterModellerRequest("m1", "Modeller", Convert.ToBase64String(modellerIdentity.PublicKey)));
        return new TenantClients(tenant, admin, service.Anonymous.WithKey(modeller.ApiKey!.ApiKey).WithModellerIdentity(modellerIdentity), podClients, modeller.ApiKey, identities);
    }

    /// <summary>A small valid aggregation spec (the modeller key is a placeholder; real runs use ModellerAggregation).</summary>
    public static AggregationRequest SmallAggregation() =>
        new([new AggregationFieldRequest("x", 3, -10, 10)], "mean", Convert.ToBase64String(new byte[32]), "x");

    public static async Task<TenantClients> TenantWithSessionAsync(EmbeddedService service, string sessionId = "s1")
    {
        var clients = await TenantAsync(service);
        await clients.Modeller.CreateSessionAsync(clients.Tenant, new CreateSessionRequest(sessionId, "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"], SmallAggregation()));
        return clients;
    }
}
