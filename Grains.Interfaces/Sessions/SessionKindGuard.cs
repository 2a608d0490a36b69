using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;

namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>
/// Calls one kind's session grain and, when it knows no such session, tells a session of another kind (400 "This is not
/// a … session.", after the caller's right to see it) from a session that does not exist (404).
/// </summary>
public static class SessionKindGuard
{
    /// <summary>Runs <paramref name="call"/> on a grain of one of <paramref name="kinds"/>, named <paramref name="kindName"/> in the refusal.</summary>
    public static async Task<T> CallAsync<T>(IGrainFactory grains, EntityKey key, Caller caller, string kindName, Func<Task<T>> call, params SessionKind[] kinds)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(call);
        try
        {
            return await call();
        }
        catch (SmpcException e) when (e.Code == SmpcErrorCode.NotFound)
        {
            if (await grains.GetSessionDirectory(key).GetKindAsync() is not { } kind || kinds.Contains(kind)) throw;
            await grains.GetSession(key).GetAsync(caller); // not found for whoever may not see the session
            throw SmpcException.Invalid($"This is not a {kindName} session.");
        }
    }
}
