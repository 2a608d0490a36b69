using System.Diagnostics;
using Smpc.Client;
using Smpc.Client.Identity;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Agent.SecureAggregation;

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
    /// <summary>Answered the unmask request (the last step; never a stop point).</summary>
    Unmask,
}

/// <summary>
/// Runs one pod's side of a secure-aggregation session against the service: it polls the session and performs each step
/// locally with <see cref="SecureAggregationParty"/>. The input, the masks and the seeds never leave this process. Peers'
/// identities are held to <c>pins</c> before the first message (null: first use in memory for this session only, see
/// <see cref="AggregationSession.EphemeralPins"/>; the agent passes its persistent store).
/// </summary>
public sealed class SecureAggregationPodDriver(
    SmpcClient client,
    string tenant,
    string sessionId,
    string podId,
    Ed25519KeyPair identity,
    Func<SessionResponse, double[]> input,
    IRandomSource? random = null,
    PinStore? pins = null)
{
    private readonly PinStore _pins = pins ?? AggregationSession.EphemeralPins();

    /// <summary>How often the session is polled when long polling is off (<see cref="LongPollSeconds"/> = 0).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long one long poll may wait for the session to change (0 = plain polling every <see cref="PollInterval"/>).</summary>
    public int LongPollSeconds { get; init; } = 20;

    /// <summary>Stop (drop out) after this step; for tests and drills.</summary>
    public PodStep StopAfter { get; init; } = PodStep.None;

    /// <summary>
    /// This pod's weight in a weighted-mean session (a configured number or its sample count). The driver forms w·x from
    /// the plain input x: never pre-multiply. Required for weighted means, ignored otherwise.
    /// </summary>
    public Func<SessionResponse, double>? Weight { get; init; }

    /// <summary>
    /// Checks every copy of the session the service serves against the modeller's signature (pinned identity) before the
    /// pod acts on it; the agent always sets it. Null: the driver trusts the service's parameters (tests, embedding hosts
    /// that verified by other means).
    /// </summary>
    public ModellerVerifier? Verifier { get; init; }

    /// <summary>Keeps the party's state on disk so the pod resumes after a restart (the agent sets it; null keeps it in memory only).</summary>
    public PartyStateFile? StateFile { get; init; }

    /// <summary>
    /// The pod's last word before its answer makes the sum computable: given the session and the unmask request (whose
    /// <see cref="UnmaskRequest.Survivors"/> are the parties in the sum), a reason to refuse, or null to answer. A refusal
    /// throws <see cref="PodPolicyRefusedException"/> without answering. Not asked again for a request already answered.
    /// </summary>
    public Func<SessionResponse, UnmaskRequest, string?>? BeforeUnmask { get; init; }

    /// <summary>
    /// True once this pod's masked vector may have reached the service (sent, in flight, or found recorded): from then on a
    /// sum may contain the input, so the agent keeps the session in its differencing ledger whatever happens next.
    /// </summary>
    public bool InputSent { get; private set; }

    /// <summary>Runs until the session completes or fails (or the pod stops), and returns the session's last state.</summary>
    /// <remarks>
    /// The party's state is saved before each message is sent, so a restarted pod re-sends exactly what it sent before
    /// (the service accepts identical retries) or, for the masked vector, recomputes the identical vector. The state file is
    /// wiped and deleted on every way out of the session: completed, failed, cancelled, dropped, or an exception (the agent
    /// then declines); only a cancellation of <paramref name="ct"/> (the agent stopping) keeps it, so a restart resumes.
    /// </remarks>
    public async Task<SessionResponse> RunAsync(CancellationToken ct = default)
    {
        try
        {
            return await RunCoreAsync(ct);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            StateFile?.Delete(); // the pod leaves the session (the agent declines it): nothing of it may outlive this
            throw;
        }
    }

    private async Task<SessionResponse> RunCoreAsync(CancellationToken ct)
    {
        SecureAggregationParty? party = null;
        var done = PodStep.None;
        try
        {
            var backoff = TimeSpan.Zero;
            int? idleAt = null; // the version at which there was nothing to do: long-poll for a change
            while (true)
            {
                if (backoff > TimeSpan.Zero) await Task.Delay(backoff, ct);
                SessionResponse session;
                try
                {
                    session = idleAt is { } known
                        ? await client.WaitForSessionChangeAsync(tenant, sessionId, known, LongPollSeconds, ct)
                        : await client.GetSessionAsync(tenant, sessionId, ct);
                }
                catch (Exception ex) when (Transient.Is(ex, ct))
                {
                    backoff = Transient.Next(backoff);
                    continue;
                }

                backoff = TimeSpan.Zero;
                var status = session.Aggregation ?? throw new InvalidOperationException("Not a secure-aggregation session.");
                var me = session.PodIds.ToList().IndexOf(podId) + 1;
                if (session.HasEnded() || status.Dropped.Contains(me))
                {
                    StateFile?.Delete();
                    return session;
                }

                // Before any step, on every copy served: the first copy's signature, then the same statement byte for byte.
                if (Verifier is not null) await Verifier.VerifyAsync(session, ct);
                PodStep acted;
                try
                {
                    party ??= await OpenPartyAsync(session, me, ct);
                    if (party is null) return session; // joined too late for this round: the service has moved on without it
                    if (party.State >= SecureAggregationParty.Step.MaskedInputSent) InputSent = true; // resumed after the upload
                    acted = await StepAsync(party, session, status, me, ct);
                }
                catch (Exception ex) when (Transient.Is(ex, ct))
                {
                    // Every step is idempotent on the service: the same message is simply sent again.
                    backoff = Transient.Next(backoff);
                    continue;
                }
                catch (SmpcApiException ex) when (ex.Status == System.Net.HttpStatusCode.Conflict)
                {
                    // Refused as wrong-phase: the session may have ended under this step (cancelled, failed) or dropped this pod.
                    var now = await client.GetSessionAsync(tenant, sessionId, ct);
                    if (!now.HasEnded() && now.Aggregation?.Dropped.Contains(me) != true) throw;
                    StateFile?.Delete();
                    return now;
                }

                if (acted == PodStep.Unmask)
                {
                    StateFile?.Delete(); // the pod's part is over; nothing secret needs keeping
                    return await client.GetSessionAsync(tenant, sessionId, ct);
                }

                if (acted != PodStep.None) done = acted;
                if (StopAfter != PodStep.None && done == StopAfter && acted != PodStep.None) return session;
                idleAt = acted == PodStep.None ? session.Version : null;
                if (acted == PodStep.None && LongPollSeconds == 0) await Task.Delay(PollInterval, ct);
            }
        }
        finally
        {
            party?.Dispose();
        }
    }

    /// <summary>Masks the plain input, or for a weighted mean x with this pod's weight (checked separately, w·x formed here).</summary>
    private ulong[] Mask(SecureAggregationParty party, IReadOnlyList<ShareEnvelope> received, SessionResponse session)
    {
        if (AggregationSession.WeightedLayout(session) is not { } weighted) return party.CreateMaskedInput(received, input(session));
        var weight = Weight ?? throw new InvalidOperationException(
            $"Session {session.Id} is a weighted mean: give this pod's weight (SecureAggregationPodDriver.Weight; agent config inputs.<name>.weight, a number or \"rows\") and its plain x; the runner forms w·x.");
        var encoded = weighted.Encode(input(session), weight(session));
        try
        {
            return party.CreateMaskedInputFromEncoded(received, encoded);
        }
        finally
        {
            Array.Clear(encoded);
        }
    }

    /// <summary>The saved party, a new one while keys are still being exchanged, or null when it is too late to join.</summary>
    private async Task<SecureAggregationParty?> OpenPartyAsync(SessionResponse session, int me, CancellationToken ct)
    {
        var parameters = AggregationSession.Parameters(session);
        // Before any message: a peer whose identity differs from its pin stops this pod here (PinMismatchException).
        var pinned = await AggregationSession.PinsAsync(client, session, _pins, ct, (podId, identity.Fingerprint));
        if (StateFile?.Load() is { } saved)
        {
            try
            {
                return SecureAggregationParty.ImportState(parameters, me, identity, random ?? SystemRandomSource.Instance, pinned, saved);
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(saved);
            }
        }

        return session.Phase == SessionPhases.KeyExchange
            ? new SecureAggregationParty(parameters, me, identity, random ?? SystemRandomSource.Instance, pinned)
            : null;
    }

    /// <summary>Does the one thing the party's step and the service's record call for; returns the step done, or None.</summary>
    private async Task<PodStep> StepAsync(SecureAggregationParty party, SessionResponse session, AggregationStatusResponse status, int me, CancellationToken ct)
    {
        switch (party.State)
        {
            case SecureAggregationParty.Step.Created when session.Phase == SessionPhases.KeyExchange:
                {
                    using var span = Span("secagg.keys.publish", session, me);
                    var bundle = party.CreateKeyBundle();
                    Save(party);
                    await client.SubmitKeyBundleAsync(tenant, sessionId, bundle.ToBytes(), ct);
                    return PodStep.KeyBundle;
                }

            case SecureAggregationParty.Step.KeysPublished when !status.KeyBundles.Contains(me) && session.Phase == SessionPhases.KeyExchange:
                await client.SubmitKeyBundleAsync(tenant, sessionId, party.PublishedBundle!.ToBytes(), ct); // resumed: re-send the same bundle
                return PodStep.KeyBundle;

            case SecureAggregationParty.Step.KeysPublished when session.Phase == SessionPhases.ShareExchange:
                {
                    using var span = Span("secagg.shares.send", session, me);
                    var bundles = (await client.GetKeyBundlesAsync(tenant, sessionId, ct)).Select(b => KeyBundle.Parse(b)).ToList();
                    var envelopes = party.CreateShareEnvelopes(bundles);
                    Save(party);
                    await client.SubmitShareEnvelopesAsync(tenant, sessionId, envelopes.Select(e => e.ToBytes()), ct);
                    return PodStep.Shares;
                }

            case SecureAggregationParty.Step.SharesSent when !status.ShareSenders.Contains(me) && session.Phase == SessionPhases.ShareExchange:
                await client.SubmitShareEnvelopesAsync(tenant, sessionId, party.SentEnvelopes!.Select(e => e.ToBytes()), ct);
                return PodStep.Shares;

            case SecureAggregationParty.Step.SharesSent or SecureAggregationParty.Step.MaskedInputSent
                when session.Phase == SessionPhases.MaskedInput && !party.MaskedInputConfirmed:
                {
                    if (status.MaskedInputs.Contains(me))
                    {
                        InputSent = true;
                        party.ConfirmMaskedInputAccepted();
                        Save(party);
                        return PodStep.MaskedInput;
                    }

                    List<ShareEnvelope> received;
                    using (Span("secagg.shares.receive", session, me))
                        received = [.. (await client.GetShareEnvelopesAsync(tenant, sessionId, ct)).Select(e => ShareEnvelope.Parse(e))];
                    using var span = Span("secagg.masked.submit", session, me);
                    var masked = Mask(party, received, session); // identical on a resumed retry
                    Save(party);
                    InputSent = true; // from here the vector may reach the service even if the answer is lost
                    await client.SubmitMaskedInputAsync(tenant, sessionId, masked, ct, party: me);
                    party.ConfirmMaskedInputAccepted();
                    Save(party);
                    return PodStep.MaskedInput;
                }

            case SecureAggregationParty.Step.MaskedInputSent or SecureAggregationParty.Step.Responded
                when session.Phase == SessionPhases.Unmasking && status.MaskedInputs.Contains(me) && !status.UnmaskResponses.Contains(me):
                {
                    using var span = Span("secagg.unmask.respond", session, me);
                    var request = UnmaskRequest.Parse(await client.GetUnmaskRequestAsync(tenant, sessionId, ct));
                    if (party.State != SecureAggregationParty.Step.Responded && BeforeUnmask?.Invoke(session, request) is { } refusal)
                        throw new PodPolicyRefusedException(refusal);
                    var response = party.CreateUnmaskResponse(request); // identical when resumed after answering
                    Save(party);
                    await client.SubmitUnmaskResponseAsync(tenant, sessionId, response.ToBytes(), ct);
                    return PodStep.Unmask;
                }

            default:
                return PodStep.None;
        }
    }

    private void Save(SecureAggregationParty party)
    {
        if (StateFile is not null) StateFile.Save(party.ExportState());
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
