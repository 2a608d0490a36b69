using System.Net;
using System.Net.Http.Json;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;

namespace Smpc.Gateway.Tests.Attacks;

/// <summary>
/// A tenant built through the REST API that keeps every raw API key it was handed (Scenario's clients hide theirs), so an
/// attack can present any credential with any request. Members are named by id: "admin", modellers and pods.
/// </summary>
internal sealed class AttackTenant(EmbeddedService service, string tenant)
{
    private readonly Dictionary<string, IssuedKeyResponse> _keys = [];

    public string Tenant { get; } = tenant;

    public Dictionary<string, Ed25519KeyPair> Identities { get; } = [];

    /// <summary>The raw API key of "admin", a modeller or a pod.</summary>
    public string Key(string who) => _keys[who].ApiKey;

    public string KeyId(string who) => _keys[who].KeyId;

    public SmpcClient Client(string who) => service.Anonymous.WithKey(Key(who));

    public SmpcClient Admin => Client("admin");

    /// <summary>
    /// Creates a tenant with an admin, <paramref name="modellers"/> and <paramref name="pods"/> (each with an Ed25519 identity).
    /// With <paramref name="unlimited"/> the operator lifts its rate limit before any of its keys is used, so a test's many
    /// checks never meet a 429 (the flooding tests lower it on purpose).
    /// </summary>
    public static async Task<AttackTenant> CreateAsync(EmbeddedService service, string[] modellers, string[] pods, bool unlimited = true)
    {
        var id = "t-" + Guid.NewGuid().ToString("N")[..12];
        var created = await service.Operator.CreateTenantAsync(new CreateTenantRequest(id, "Tenant " + id));
        if (unlimited) await service.Operator.SetTenantLimitsAsync(id, new TenantLimitsRequest(100_000, 1_000_000));
        var t = new AttackTenant(service, id);
        t._keys["admin"] = created.AdminKey!;
        foreach (var pod in pods)
        {
            var identity = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
            t.Identities[pod] = identity;
            var registered = await t.Admin.RegisterPodAsync(id, new RegisterPodRequest(pod, "Pod " + pod, Convert.ToBase64String(identity.PublicKey)));
            t._keys[pod] = registered.ApiKey!;
        }

        foreach (var modeller in modellers)
            t._keys[modeller] = (await t.Admin.RegisterModellerAsync(id, new RegisterModellerRequest(modeller, "Modeller " + modeller))).ApiKey!;
        return t;
    }

    /// <summary>Issues another key for <paramref name="who"/> and keeps it under <paramref name="name"/>.</summary>
    public async Task<IssuedKeyResponse> IssueAsync(string who, string name)
    {
        var issued = who == "admin" ? await Admin.IssueAdminKeyAsync(Tenant)
            : who.StartsWith('p') ? await Admin.IssuePodKeyAsync(Tenant, who)
            : await IssueModellerKeyAsync(who);
        _keys[name] = issued;
        return issued;
    }

    // The client has no call for it: POST /v1/tenants/{id}/modellers/{modellerId}/keys directly.
    private async Task<IssuedKeyResponse> IssueModellerKeyAsync(string modeller)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/tenants/{Tenant}/modellers/{modeller}/keys");
        request.Headers.Authorization = new("Bearer", Key("admin"));
        using var response = await service.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<IssuedKeyResponse>())!;
    }

    /// <summary>Small secure-aggregation spec whose deadlines cannot pass during a test run (unless <paramref name="maskedInputSeconds"/> says so).</summary>
    public static AggregationRequest LongAggregation(int? maskedInputSeconds = null) =>
        new([new AggregationFieldRequest("x", 3, -10, 10)], "sum", Convert.ToBase64String(new byte[32]), "x", PhaseTimeoutSeconds: 86_400,
            PhaseTimeouts: maskedInputSeconds is { } s ? new Dictionary<string, int> { ["masked-input"] = s } : null);

    /// <summary>An ecdh (or rsa-blind, or kkrt) PSI spec with the given modeller set size and a one-day deadline.</summary>
    public static PsiRequest LongPsi(long size, string protocol = PsiProtocolNames.Ecdh) =>
        new(PsiModeNames.Intersection, Psi.PsiScenario.ModellerColumns, Psi.PsiScenario.PodColumns, "customers", size, protocol,
            protocol == PsiProtocolNames.RsaBlind ? 2048 : null, 86_400, protocol == PsiProtocolNames.Ecdh ? PsiProtocolNames.EcdhOprfV1 : protocol == PsiProtocolNames.Kkrt ? PsiProtocolNames.KkrtV1 : null);

    /// <summary>A federated query whose lifetime (4.5 days) outlasts any test run, whatever other tests do to the clock.</summary>
    public static QueryRequest LongQuery() => Smpc.Samples.HospitalAdmissions.AgeBandQuery() with { RoundTimeoutSeconds = 43_200 };
}

/// <summary>Assertions shared by the attack tests.</summary>
internal static class Expect
{
    /// <summary>The call fails with exactly this status and problem type.</summary>
    public static async Task<SmpcApiException> ProblemAsync(HttpStatusCode status, string type, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<SmpcApiException>(call);
        Assert.Equal((status, type), (error.Status, error.Type));
        return error;
    }

    public static void Problem(HttpStatusCode status, string? type, Answer answer, string context)
    {
        Assert.True(answer.Status == status && answer.Type == type,
            $"{context}: expected {(int)status} {type}, got {answer}");
    }
}
