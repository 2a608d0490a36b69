using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Smpc.ApiGateway.Hosting;
using Smpc.ApiGateway.Problems;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Access;

namespace Smpc.ApiGateway.Auth;

/// <summary>
/// <c>Authorization: Bearer smpc_…</c>. The operator key is checked against its configured SHA-256; every other key is
/// verified by its credential grain on every request (no cache), so revocation is immediate on every gateway.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IGrainFactory grains,
    IOptions<RestGatewayOptions> gateway) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header)) return AuthenticateResult.NoResult();
        string? presented;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) presented = header["Bearer ".Length..].Trim();
        // Browsers can only prompt for Basic: accepted on the dashboard's paths alone, so a cached password never reaches /v1.
        else if (DashboardGatewayExtensions.IsDashboardRequest(Context)) presented = DashboardGatewayExtensions.BasicPassword(header);
        else return Failed("Use the Bearer scheme.");
        if (string.IsNullOrEmpty(presented)) return Failed("Use the Bearer scheme, or Basic with the key as the password.");

        Caller? caller = null;
        var operatorHash = gateway.Value.OperatorKeyHash();
        if (operatorHash is not null && presented.StartsWith(OperatorKeys.Prefix, StringComparison.Ordinal))
        {
            if (ApiKey.HashesEqual(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(presented)), operatorHash)) caller = Caller.Operator;
        }
        else if (ApiKey.TryParse(presented, out var keyId, out var secretHash))
        {
            caller = await grains.GetGrain<ICredentialGrain>(keyId).VerifyAsync(secretHash);
        }

        return caller is null
            ? Failed("The API key is unknown, malformed or revoked.")
            : AuthenticateResult.Success(new AuthenticationTicket(CallerClaims.ToPrincipal(caller, SchemeName), SchemeName));
    }

    // Every failure spends the address's failed-authentication budget (AddressRateLimiter).
    private AuthenticateResult Failed(string reason)
    {
        Context.RequestServices.GetRequiredService<AddressRateLimiter>().RecordFailure(Context);
        return AuthenticateResult.Fail(reason);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (DashboardGatewayExtensions.IsDashboardRequest(Context))
        {
            // Basic first, so a browser prompts; the operator key is the password.
            Response.Headers.WWWAuthenticate = new([$"Basic realm=\"{DashboardGatewayExtensions.BasicRealm}\", charset=\"UTF-8\"", "Bearer"]);
            return WriteProblemAsync(StatusCodes.Status401Unauthorized, ProblemTypes.Unauthenticated, "Unauthenticated",
                "The dashboard is for the operator: send the operator key as 'Authorization: Bearer smpc_op_…' or as the HTTP Basic password.");
        }

        Response.Headers.WWWAuthenticate = "Bearer";
        return WriteProblemAsync(StatusCodes.Status401Unauthorized, ProblemTypes.Unauthenticated, "Unauthenticated",
            "Send a valid API key as 'Authorization: Bearer smpc_…'.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(StatusCodes.Status403Forbidden, ProblemTypes.Forbidden, "Forbidden", "This credential's role may not do this.");

    private Task WriteProblemAsync(int status, string type, string title, string detail) =>
        ProblemMapping.Problem(status, type, title, detail).ExecuteAsync(Context);
}
