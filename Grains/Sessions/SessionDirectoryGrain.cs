using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Sessions;

/// <summary>
/// A session id's entry point: knows which kind of session the id holds and hands every <see cref="ISessionGrain"/> call
/// (create, get, wait, cancel, has-ended) to that kind's grain. It keeps the grain type and state name of the single
/// session grain of earlier versions, so stored sessions keep their kind (see docs/architecture.md, "Sessions").
/// </summary>
[GrainType(Legacy.LegacySessionStore.GrainType)]
public sealed class SessionDirectoryGrain(
    [PersistentState(Legacy.LegacySessionStore.StateName, SmpcDatabase.GrainStorageName)] IPersistentState<SessionDirectoryState> state)
    : Grain, ISessionDirectoryGrain
{
    private string Key => this.GetPrimaryKeyString();

    Task<SessionKind?> ISessionDirectoryGrain.GetKindAsync() => Task.FromResult<SessionKind?>(state.RecordExists ? state.State.Kind : null);

    async Task<SessionInfo> ISessionGrain.CreateAsync(Caller caller, CreateSession command)
    {
        // An id holds one kind for ever: a create of another kind goes to the stored kind's grain, which refuses it as a conflict.
        var kind = state.RecordExists ? state.State.Kind : command.Kind;
        var info = await Session(kind).CreateAsync(caller, command);
        if (!state.RecordExists)
        {
            // After the session is durable: a crash in between leaves a session nobody finds until the modeller's
            // idempotent retry of the create, which comes back here and records it.
            state.State.Kind = info.Kind;
            state.State.ModellerId = info.ModellerId;
            await state.WriteOrRollbackAsync(this, "session.directory");
        }

        return info;
    }

    Task<SessionInfo> ISessionGrain.GetAsync(Caller caller) => Stored().GetAsync(caller);

    Task<SessionInfo> ISessionGrain.WaitForChangeAsync(Caller caller, int knownVersion, TimeSpan timeout) => Stored().WaitForChangeAsync(caller, knownVersion, timeout);

    Task<SessionInfo> ISessionGrain.CancelAsync(Caller caller, string? reason, byte[]? signature) => Stored().CancelAsync(caller, reason, signature);

    Task<bool> ISessionGrain.HasEndedAsync() => state.RecordExists ? Stored().HasEndedAsync() : Task.FromResult(true);

    /// <summary>
    /// The grain of the stored kind; for an id that holds no session, a secure-aggregation grain, which has no state either
    /// and refuses the call exactly as any session grain refuses an unknown session.
    /// </summary>
    private ISessionGrain Stored() => Session(state.RecordExists ? state.State.Kind : SessionKind.SecureAggregation);

    private ISessionGrain Session(SessionKind kind)
    {
        var key = EntityKey.Parse(Key);
        return kind switch
        {
            SessionKind.PrivateSetIntersection => GrainFactory.GetPsiSession(key),
            SessionKind.FederatedQuery or SessionKind.FederatedTraining => GrainFactory.GetFederatedSession(key),
            _ => GrainFactory.GetSecureAggregationSession(key),
        };
    }
}
