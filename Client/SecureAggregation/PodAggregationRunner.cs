using System.Diagnostics;
using Smpc.Client.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Client.SecureAggregation;

/// <summary>The steps a pod can stop after (to model a pod that drops out).</summary>
public enum PodStep
{
    /// <summary>Runs to the end.</summary>
    None,
    /// <summary>Stops after publishing its key bundle.</summary>
    KeyBundle,
    /// <summary>Stops after sending its share envelopes.</summary>
    Shares,
    /// <summary>Stops after uploading its masked vector.</summary>
    MaskedInput,
}

/// <summary>
/// Runs one pod's side of a secure-aggregation session against the service: it polls the session and performs each step
/// locally with <see cref="SecureAggregationParty"/>. The input, the masks and the seeds never leave this process.
/// </summary>
public sealed class PodAggregationRunner(
    SmpcClient client,
    string tenant,
    string sessionId,
    string podId,
    Ed25519KeyPair identity,
    Func<SessionResponse, double[]> input,
    IRandomSource? random = null,
    IReadOnlyDictionary<string, string>? pinnedFingerprints = null)
{
    /// <summary>How often the session is polled.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Stop (drop out) after this step; for tests and drills.</summary>
    public PodStep StopAfter { get; init; } = PodStep.None;

    /// <summary>Runs until the session completes or fails (or the pod stops), and returns the session's last state.</summary>
    public async Task<SessionResponse> RunAsync(CancellationToken ct = default)
    {
        SecureAggregationParty? party = null;
        var done = PodStep.None;
        var answered = false;
        try
        {
            var backoff = TimeSpan.Zero;
            while (true)
            {
                if (backoff > TimeSpan.Zero) await Task.Delay(backoff, ct);
                SessionResponse session;
                try
                {
                    session = await client.GetSessionAsync(tenant, sessionId, ct);
                }
                catch (Exception ex) when (Transient.Is(ex, ct))
                {
                    backoff = Transient.Next(backoff);
                    continue;
                }

                backoff = TimeSpan.Zero;
                var status = session.Aggregation ?? throw new InvalidOperationException("Not a secure-aggregation session.");
                var me = session.PodIds.ToList().IndexOf(podId) + 1;
                if (session.Phase is SessionPhases.Completed or SessionPhases.Failed) return session;
                if (status.Dropped.Contains(me)) return session;

                try
                {
                switch (session.Phase)
                {
                    case SessionPhases.KeyExchange when done == PodStep.None:
                    {
                        using var span = Span("secagg.keys.publish", session, me);
                        var parameters = AggregationSession.Parameters(session);
                        var pins = await AggregationSession.PinsAsync(client, session, pinnedFingerprints, ct);
                        party = new SecureAggregationParty(parameters, me, identity, random ?? SystemRandomSource.Instance, pins);
                        await client.SubmitKeyBundleAsync(tenant, sessionId, party.CreateKeyBundle().ToBytes(), ct);
                        done = PodStep.KeyBundle;
                        break;
                    }

                    case SessionPhases.ShareExchange when done == PodStep.KeyBundle && party is not null:
                    {
                        using var span = Span("secagg.shares.send", session, me);
                        var bundles = (await client.GetKeyBundlesAsync(tenant, sessionId, ct)).Select(b => KeyBundle.Parse(b)).ToList();
                        var envelopes = party.CreateShareEnvelopes(bundles);
                        await client.SubmitShareEnvelopesAsync(tenant, sessionId, envelopes.Select(e => e.ToBytes()), ct);
                        done = PodStep.Shares;
                        break;
                    }

                    case SessionPhases.MaskedInput when done == PodStep.Shares && party is not null:
                    {
                        List<ShareEnvelope> received;
                        using (Span("secagg.shares.receive", session, me))
                            received = [.. (await client.GetShareEnvelopesAsync(tenant, sessionId, ct)).Select(e => ShareEnvelope.Parse(e))];
                        using var span = Span("secagg.masked.submit", session, me);
                        var masked = party.CreateMaskedInput(received, input(session));
                        await client.SubmitMaskedInputAsync(tenant, sessionId, masked, ct);
                        done = PodStep.MaskedInput;
                        break;
                    }

                    case SessionPhases.Unmasking when done == PodStep.MaskedInput && !answered && party is not null && status.MaskedInputs.Contains(me):
                    {
                        using var span = Span("secagg.unmask.respond", session, me);
                        var request = UnmaskRequest.Parse(await client.GetUnmaskRequestAsync(tenant, sessionId, ct));
                        await client.SubmitUnmaskResponseAsync(tenant, sessionId, party.CreateUnmaskResponse(request).ToBytes(), ct);
                        answered = true;
                        break;
                    }

                    case SessionPhases.ShareExchange or SessionPhases.MaskedInput or SessionPhases.Unmasking when done == PodStep.None:
                        return session; // joined too late for this round: the service has moved on without it
                }
                }
                catch (Exception ex) when (Transient.Is(ex, ct))
                {
                    // Every step is idempotent on the service: the same message is simply sent again.
                    backoff = Transient.Next(backoff);
                    continue;
                }

                if (StopAfter != PodStep.None && done == StopAfter) return session;
                if (answered) return await client.GetSessionAsync(tenant, sessionId, ct);
                await Task.Delay(PollInterval, ct);
            }
        }
        finally
        {
            party?.Dispose();
        }
    }

    private static Activity? Span(string name, SessionResponse session, int party)
    {
        var activity = SmpcClient.StartSessionActivity(name, session);
        activity?.SetTag("smpc.tenant", session.Tenant);
        activity?.SetTag("smpc.session", session.Id);
        activity?.SetTag("smpc.party", party);
        return activity;
    }
}
