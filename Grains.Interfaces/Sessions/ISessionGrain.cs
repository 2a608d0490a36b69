using Orleans.Concurrency;
using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>
/// The one session contract: what every session answers whatever its protocol. Keyed <c>"{tenant}/{session}"</c>.
/// <see cref="Keys.GrainFactoryExtensions.GetSession"/> returns the session's directory entry, which knows the session's
/// kind and hands each call to the kind's grain (<see cref="ISecureAggregationSessionGrain"/>, <see cref="IPsiSessionGrain"/>,
/// <see cref="IFederatedSessionGrain"/>), which implement it too.
/// </summary>
[Alias("smpc.session")]
public interface ISessionGrain : IGrainWithStringKey
{
    /// <summary>A modeller creates the session for itself, after checks that its pods exist in the tenant; idempotent for an identical command.</summary>
    [Alias("create")] Task<SessionInfo> CreateAsync(Caller caller, CreateSession command);

    /// <summary>The session, for its modeller, its pods and the tenant's admin; not found for anyone else.</summary>
    [Alias("get")] Task<SessionInfo> GetAsync(Caller caller);

    /// <summary>
    /// Long poll: answers as soon as the session's version differs from <paramref name="knownVersion"/>, or after
    /// <paramref name="timeout"/> (at most 20 s) with the unchanged session. Read-only, so it may interleave with other calls.
    /// </summary>
    [Alias("wait"), AlwaysInterleave] Task<SessionInfo> WaitForChangeAsync(Caller caller, int knownVersion, TimeSpan timeout);

    /// <summary>Its modeller or the tenant admin cancels the session (and a federated session's rounds); idempotent once cancelled.</summary>
    [Alias("cancel")] Task<SessionInfo> CancelAsync(Caller caller, string? reason, [Immutable] byte[]? signature);

    /// <summary>For the tenant's session quota: true once the session has completed, failed or been cancelled, or if it was never created.</summary>
    [Alias("has-ended"), AlwaysInterleave] Task<bool> HasEndedAsync();
}
