using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Sessions;

/// <summary>
/// Cancelling a session: its modeller (a run that failed or was interrupted) or the tenant admin ends it at once, for every
/// kind and in any phase before its end. Long polls wake, so pods stop within one poll; every later protocol message is
/// refused as wrong-phase; stored sets and releases are deleted; a federated session's rounds are cancelled with it.
/// </summary>
public sealed partial class SessionGrain
{
    /// <summary>Longest reason a canceller may give.</summary>
    public const int MaxCancelReasonLength = 500;

    async Task<SessionInfo> ISessionGrain.CancelAsync(Caller caller, string? reason)
    {
        var what = $"Session '{Key.Id}'";
        caller.RequireTenant(Key.Tenant, what);
        if (!state.RecordExists || !MaySee(caller)) throw SmpcException.NotFound(what);
        caller.RequireRole(CallerRole.Modeller, CallerRole.TenantAdmin);
        if (reason is { Length: > MaxCancelReasonLength }) throw SmpcException.Invalid($"A reason is at most {MaxCancelReasonLength} characters.");
        if (state.State.Phase == SessionPhase.Cancelled)
        {
            await CancelRoundsAsync(caller, state.State.Cancellation?.Reason); // a retry finishes what a crash interrupted
            return ToInfo();
        }

        await AdvanceIfDueAsync();
        if (state.State.Phase is SessionPhase.Completed or SessionPhase.Failed)
            throw SmpcException.WrongPhase($"The session has already {(state.State.Phase == SessionPhase.Completed ? "completed" : "failed")}; there is nothing to cancel.");

        using var activity = SessionSpan("session.cancel");
        var given = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
        state.State.Cancellation = new SessionCancellation(caller.Role.ToString(), caller.Subject, given, time.GetUtcNow());
        state.State.Phase = SessionPhase.Cancelled;
        if (state.State.Aggregation is { } a) a.Deadline = null;
        if (state.State.Psi is { } p) p.Deadline = null;
        if (state.State.Federated is { } f) f.Deadline = null;
        await SaveAsync("session.cancel");
        SmpcTelemetry.SessionsEnded.Add(1, new KeyValuePair<string, object?>("smpc.session.outcome", "cancelled"));
        await AuditAsync(caller, (AuditEventType.SessionCancelled, given));

        // After the cancellation is durable: what is left is clean-up, which a retry of the cancel repeats.
        if (state.State.Psi is not null) await DeletePsiPayloadsAsync();
        if (state.State.Federated is not null)
        {
            await DeleteReleasesAsync();
            await CancelRoundsAsync(caller, given);
        }

        return ToInfo();
    }

    /// <summary>Cancels a federated session's rounds that have not ended (each refuses its later messages on its own).</summary>
    private async Task CancelRoundsAsync(Caller caller, string? reason)
    {
        if (state.State.Federated is not { } f) return;
        var because = $"its federated session {Key.Id} was cancelled" + (reason is null ? "" : $": {reason}");
        foreach (var round in f.Rounds)
        {
            var grain = GrainFactory.GetSession(new EntityKey(Key.Tenant, round.SessionId));
            if (await grain.HasEndedAsync()) continue;
            try
            {
                await grain.CancelAsync(caller, because.Length > MaxCancelReasonLength ? because[..MaxCancelReasonLength] : because);
            }
            catch (SmpcException ex) when (ex.Code is SmpcErrorCode.WrongPhase or SmpcErrorCode.NotFound)
            {
                // ended meanwhile, or never stored (a round the parent lists whose create did not finish)
            }
        }
    }

    /// <summary>Every protocol message after a cancellation is refused; reads of the session itself still answer.</summary>
    private void RefuseIfCancelled()
    {
        if (state.State.Phase != SessionPhase.Cancelled) return;
        var c = state.State.Cancellation;
        var by = c is null ? "" : $" by {(c.By is null ? "the tenant admin" : $"{c.Role.ToLowerInvariant()} {c.By}")}";
        throw SmpcException.WrongPhase($"The session was cancelled{by}{(c?.Reason is { } r ? $": {r}" : "")}.");
    }
}
