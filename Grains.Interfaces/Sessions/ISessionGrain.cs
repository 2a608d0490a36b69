namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>One protocol run. Keyed <c>"{tenant}/{session}"</c>.</summary>
[Alias("smpc.session")]
public interface ISessionGrain : IGrainWithStringKey
{
    /// <summary>Creates the session after checking that its modeller and pods exist in the tenant; idempotent for an identical command.</summary>
    [Alias("create")] Task<SessionInfo> CreateAsync(CreateSession command);

    /// <summary>The session, or a not-found error.</summary>
    [Alias("get")] Task<SessionInfo> GetAsync();
}
