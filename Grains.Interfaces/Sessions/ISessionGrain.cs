using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>One protocol run. Keyed <c>"{tenant}/{session}"</c>.</summary>
[Alias("smpc.session")]
public interface ISessionGrain : IGrainWithStringKey
{
    /// <summary>A modeller creates the session for itself, after checks that its pods exist in the tenant; idempotent for an identical command.</summary>
    [Alias("create")] Task<SessionInfo> CreateAsync(Caller caller, CreateSession command);

    /// <summary>The session, for its modeller, its pods and the tenant's admin; not found for anyone else.</summary>
    [Alias("get")] Task<SessionInfo> GetAsync(Caller caller);
}
