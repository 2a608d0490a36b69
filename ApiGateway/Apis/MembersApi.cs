using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Smpc.ApiGateway.Auth;
using Smpc.ApiGateway.Hosting;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Protocols.Crypto;

namespace Smpc.ApiGateway.Apis;

/// <summary>Pods and modellers of a tenant, registered by its admin; each gets an API key, shown once.</summary>
public static class MembersApi
{
    public static RouteGroupBuilder MapMembersApi(this RouteGroupBuilder v1)
    {
        var pods = v1.MapGroup("/tenants/{tenantId}/pods").WithTags("Pods");
        pods.MapPost("/", RegisterPodAsync).WithName("RegisterPod")
            .WithSummary("Tenant admin: registers a pod with its Ed25519 identity key and issues its API key (201, shown once); an identical retry answers 200 without a key.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithIdempotency();
        pods.MapGet("/{podId}", async Task<Ok<MemberResponse>> (string tenantId, string podId, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Ok(ToResponse(await grains.GetPod(RouteIds.Key(tenantId, podId, "Pod")).GetAsync(user.ToCaller()))))
            .WithName("GetPod").WithSummary("Reads a pod, with its identity key fingerprint for pinning.").ProducesProblem(StatusCodes.Status404NotFound);
        pods.MapGet("/", async Task<Ok<IReadOnlyList<string>>> (string tenantId, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Ok(await grains.GetTenant(RouteIds.Tenant(tenantId)).ListMembersAsync(user.ToCaller(), MemberKind.Pod)))
            .WithName("ListPods").WithSummary("Lists the ids of a tenant's pods.").ProducesProblem(StatusCodes.Status404NotFound);
        pods.MapGet("/{podId}/sessions", async Task<Ok<IReadOnlyList<string>>> (
                string tenantId, string podId, ClaimsPrincipal user, IGrainFactory grains, string? after = null, int waitSeconds = 20) =>
            {
                var pod = grains.GetPod(RouteIds.Key(tenantId, podId, "Pod"));
                return TypedResults.Ok(after is null
                    ? await pod.ListSessionsAsync(user.ToCaller())
                    : await pod.WaitForNewSessionAsync(user.ToCaller(), after, TimeSpan.FromSeconds(Math.Clamp(waitSeconds, 0, 20))));
            })
            .WithName("ListPodSessions")
            .WithSummary("The pod itself (or its admin): the ids of its sessions, oldest first. With after=<newest id known> the pod long-polls for new work.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .WithLongPoll("after");
        pods.MapPost("/{podId}/keys", async Task<Created<IssuedKeyResponse>> (string tenantId, string podId, ClaimsPrincipal user, IGrainFactory grains) =>
                await IssueAsync(tenantId, CallerRole.Pod, (caller, keyId, hash) => grains.GetPod(RouteIds.Key(tenantId, podId, "Pod")).IssueKeyAsync(caller, keyId, hash), user))
            .WithName("IssuePodKey").WithSummary("Tenant admin: issues another API key for a pod (rotation); shown once.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .WithIdempotency();
        pods.MapGet("/{podId}/keys", async Task<Ok<IReadOnlyList<CredentialResponse>>> (string tenantId, string podId, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Ok(await KeysApi.DescribeAsync(await grains.GetPod(RouteIds.Key(tenantId, podId, "Pod")).ListKeyIdsAsync(user.ToCaller()), user, grains)))
            .WithName("ListPodKeys").WithSummary("Tenant admin: the pod's API keys (never their secrets), revoked ones too, oldest first.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);

        var modellers = v1.MapGroup("/tenants/{tenantId}/modellers").WithTags("Modellers");
        modellers.MapPost("/", RegisterModellerAsync).WithName("RegisterModeller")
            .WithSummary("Tenant admin: registers a modeller with its Ed25519 identity key (pods act only on sessions it signs) and issues its API key (201, shown once); an identical retry answers 200 without a key.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithIdempotency();
        modellers.MapGet("/{modellerId}", async Task<Ok<MemberResponse>> (string tenantId, string modellerId, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Ok(ToResponse(await grains.GetModeller(RouteIds.Key(tenantId, modellerId, "Modeller")).GetAsync(user.ToCaller()))))
            .WithName("GetModeller").WithSummary("Reads a modeller, with its identity key and fingerprint for pinning (when it registered one).").ProducesProblem(StatusCodes.Status404NotFound);
        modellers.MapGet("/", async Task<Ok<IReadOnlyList<string>>> (string tenantId, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Ok(await grains.GetTenant(RouteIds.Tenant(tenantId)).ListMembersAsync(user.ToCaller(), MemberKind.Modeller)))
            .WithName("ListModellers").WithSummary("Lists the ids of a tenant's modellers.").ProducesProblem(StatusCodes.Status404NotFound);
        modellers.MapPost("/{modellerId}/keys", async Task<Created<IssuedKeyResponse>> (string tenantId, string modellerId, ClaimsPrincipal user, IGrainFactory grains) =>
                await IssueAsync(tenantId, CallerRole.Modeller, (caller, keyId, hash) => grains.GetModeller(RouteIds.Key(tenantId, modellerId, "Modeller")).IssueKeyAsync(caller, keyId, hash), user))
            .WithName("IssueModellerKey").WithSummary("Tenant admin: issues another API key for a modeller (rotation); shown once.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .WithIdempotency();
        modellers.MapGet("/{modellerId}/keys", async Task<Ok<IReadOnlyList<CredentialResponse>>> (string tenantId, string modellerId, ClaimsPrincipal user, IGrainFactory grains) =>
                TypedResults.Ok(await KeysApi.DescribeAsync(await grains.GetModeller(RouteIds.Key(tenantId, modellerId, "Modeller")).ListKeyIdsAsync(user.ToCaller()), user, grains)))
            .WithName("ListModellerKeys").WithSummary("Tenant admin: the modeller's API keys (never their secrets), revoked ones too, oldest first.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        return v1;
    }

    private static async Task<Results<Created<MemberResponse>, Ok<MemberResponse>>> RegisterPodAsync(
        string tenantId, RegisterPodRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var identity = DecodeIdentityKey(request.IdentityPublicKey);
        return await RegisterAsync(tenantId, request.Id, "pods", CallerRole.Pod,
            (key, keyId, hash) => grains.GetPod(key).RegisterAsync(user.ToCaller(), request.DisplayName, identity, keyId, hash));
    }

    private static async Task<Results<Created<MemberResponse>, Ok<MemberResponse>>> RegisterModellerAsync(
        string tenantId, RegisterModellerRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var identity = request.IdentityPublicKey is null ? [] : DecodeIdentityKey(request.IdentityPublicKey);
        return await RegisterAsync(tenantId, request.Id, "modellers", CallerRole.Modeller,
            (key, keyId, hash) => grains.GetModeller(key).RegisterAsync(user.ToCaller(), request.DisplayName, identity, keyId, hash));
    }

    private static async Task<Results<Created<MemberResponse>, Ok<MemberResponse>>> RegisterAsync(
        string tenantId, string? id, string collection, CallerRole role, Func<EntityKey, string, byte[], Task<Registration<MemberInfo>>> register)
    {
        var key = new EntityKey(RouteIds.Tenant(tenantId), RouteIds.BodyId(id, "id"));
        var (apiKey, keyId, hash) = ApiKey.Generate();
        var registration = await register(key, keyId, hash);
        var response = ToResponse(registration.Info);
        return registration.Created
            ? TypedResults.Created($"/v1/tenants/{key.Tenant}/{collection}/{key.Id}", response with { ApiKey = new IssuedKeyResponse(keyId, apiKey, role.ToString()) })
            : TypedResults.Ok(response);
    }

    private static async Task<Created<IssuedKeyResponse>> IssueAsync(string tenantId, CallerRole role, Func<Caller, string, byte[], Task> issue, ClaimsPrincipal user)
    {
        var (apiKey, keyId, hash) = ApiKey.Generate();
        await issue(user.ToCaller(), keyId, hash);
        return TypedResults.Created($"/v1/tenants/{tenantId}/keys/{keyId}", new IssuedKeyResponse(keyId, apiKey, role.ToString()));
    }

    private static byte[] DecodeIdentityKey(string? base64)
    {
        try
        {
            return Convert.FromBase64String(base64 ?? "");
        }
        catch (FormatException)
        {
            throw SmpcException.Invalid("identityPublicKey must be base64.");
        }
    }

    private static MemberResponse ToResponse(MemberInfo m) => m.IdentityPublicKey.Length == 0
        ? new(m.Tenant, m.Id, m.DisplayName, m.RegisteredAt)
        : new(m.Tenant, m.Id, m.DisplayName, m.RegisteredAt, Convert.ToBase64String(m.IdentityPublicKey), KeyFingerprint.Compute(m.IdentityPublicKey));
}
