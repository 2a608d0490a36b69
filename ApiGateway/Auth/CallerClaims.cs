using System.Security.Claims;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Errors;

namespace Smpc.ApiGateway.Auth;

/// <summary>Carries a <see cref="Caller"/> in a ClaimsPrincipal and back.</summary>
public static class CallerClaims
{
    private const string TenantClaim = "smpc:tenant";
    private const string SubjectClaim = "smpc:subject";
    private const string KeyIdClaim = "smpc:key-id";

    public static ClaimsPrincipal ToPrincipal(Caller caller, string scheme)
    {
        var claims = new List<Claim> { new(ClaimTypes.Role, caller.Role.ToString()) };
        if (caller.Tenant is not null) claims.Add(new(TenantClaim, caller.Tenant));
        if (caller.Subject is not null) claims.Add(new(SubjectClaim, caller.Subject));
        if (caller.KeyId is not null) claims.Add(new(KeyIdClaim, caller.KeyId));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
    }

    /// <summary>The caller of an authenticated request.</summary>
    public static Caller ToCaller(this ClaimsPrincipal user)
    {
        var role = user.FindFirstValue(ClaimTypes.Role);
        if (role is null || !Enum.TryParse<CallerRole>(role, out var parsed))
            throw new SmpcException(SmpcErrorCode.Unauthenticated, "No credential was presented.");
        return new Caller(parsed, user.FindFirstValue(TenantClaim), user.FindFirstValue(SubjectClaim), user.FindFirstValue(KeyIdClaim));
    }
}
