using System.Net;
using Smpc.Client;
using Spectre.Console;

namespace Smpc.Cli.Commands;

/// <summary>
/// A modeller's run that fails or is interrupted (Ctrl-C) cancels its session, best effort, rather than leaving it open
/// until its deadline: the pods stop at once and the tenant's session slot is freed.
/// </summary>
public static class CancelOnFailure
{
    /// <summary>How long the best-effort cancel may take (below the command line's process-termination timeout).</summary>
    public static readonly TimeSpan CancelTimeout = TimeSpan.FromSeconds(8);

    /// <summary>
    /// Runs <paramref name="run"/>; if it throws, cancels <paramref name="sessionId"/> with the reason and rethrows. A session
    /// that existed before the run (a retry, or an id already taken with other parameters) is never cancelled by it.
    /// </summary>
    public static async Task<T> RunAsync<T>(SmpcClient client, string tenant, string sessionId, Func<Task<T>> run, CancellationToken ct)
    {
        var existed = await ExistsAsync(client, tenant, sessionId, ct);
        try
        {
            return await run();
        }
        catch (Exception ex) when (!existed)
        {
            var reason = ct.IsCancellationRequested ? "the modeller's run was interrupted" : $"the modeller's run failed: {ex.Message}";
            await CancelAsync(client, tenant, sessionId, reason.Length > 480 ? reason[..480] : reason);
            throw;
        }
    }

    private static async Task<bool> ExistsAsync(SmpcClient client, string tenant, string sessionId, CancellationToken ct)
    {
        try
        {
            await client.GetSessionAsync(tenant, sessionId, ct);
            return true;
        }
        catch (SmpcApiException e) when (e.Status == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Cancels the session, printing what happened; a session already ended (or never created) is left as it is.</summary>
    public static async Task CancelAsync(SmpcClient client, string tenant, string sessionId, string reason)
    {
        using var timeout = new CancellationTokenSource(CancelTimeout);
        try
        {
            await client.CancelSessionAsync(tenant, sessionId, reason, timeout.Token);
            AnsiConsole.MarkupLineInterpolated($"[yellow]session {sessionId} cancelled[/] ({reason})");
        }
        catch (SmpcApiException e) when (e.Status is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
            // Already ended (failed, completed, cancelled) or never created: nothing is left open.
        }
        catch (Exception e) when (e is SmpcApiException or HttpRequestException or OperationCanceledException)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]could not cancel session {sessionId}[/] ({e.Message}); it stays open until its deadline");
        }
    }
}
