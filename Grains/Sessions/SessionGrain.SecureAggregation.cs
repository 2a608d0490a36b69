using System.Diagnostics;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Payloads;
using Smpc.Grains.Storage;
using Smpc.Protocols;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Grains.Sessions;

/// <summary>
/// Secure aggregation (DESIGN.md §3.1) as the service runs it: it collects signed key bundles (U1), relays sealed share
/// envelopes (U2), stores masked vectors and sums the survivors' (U3) mod q, and relays unmask responses sealed to the
/// modeller. It parses and checks every message, and holds nothing that could reveal an input or the result.
/// A phase closes when every expected pod has acted, or at its deadline with at least t of them; with fewer, the
/// session fails with the reason and the late pods.
/// </summary>
public sealed partial class SessionGrain
{
    private const string MaskedSumName = "masked-sum";
    private IGrainTimer? _deadlineTimer;

    private const string WeightedMeanHowTo =
        "Ask for a weighted mean with the bounds of x in 'fields' and of each pod's weight separately: " +
        "\"operation\": \"weighted-mean\", \"fields\": [{\"name\": \"theta\", \"length\": 2, \"min\": -1, \"max\": 1, \"precision\": 1000000}], " +
        "\"weight\": {\"min\": 1, \"max\": 100000, \"precision\": 1} (CLI: --operation weighted-mean --weight 1:100000). " +
        "Each pod supplies plain x and its weight (agent config inputs.<name>.weight: a number or \"rows\"); its agent sends w·x and w, so do not pre-multiply or add a weight field.";

    private AggregationState Aggregation =>
        state.State.Aggregation ?? throw SmpcException.Invalid("This is not a secure-aggregation session.");

    private string ProtocolSessionId => Key.ToString();

    private static AggregationState CreateAggregation(AggregationSpec? spec, int podCount)
    {
        if (spec is null) throw SmpcException.Invalid("A secure-aggregation session needs an aggregation spec (fields, operation, modeller key).");
        foreach (var timeout in (spec.PhaseTimeouts?.Values ?? []).Append(spec.PhaseTimeout))
            if (timeout < TimeSpan.FromSeconds(1) || timeout > TimeSpan.FromDays(7))
                throw SmpcException.Invalid("Phase timeouts must be between 1 second and 7 days.");
        if (spec.PhaseTimeouts?.Keys.Any(p => p is not (SessionPhase.KeyExchange or SessionPhase.ShareExchange or SessionPhase.MaskedInput or SessionPhase.Unmasking)) == true)
            throw SmpcException.Invalid("phaseTimeouts name key-exchange, share-exchange, masked-input or unmasking.");
        foreach (var field in spec.Fields.Where(f => f.Shape is not null))
            if (field.Shape!.Count == 0 || field.Shape.Any(d => d < 1) || field.Shape.Aggregate(1L, (a, d) => a * d) != field.Length)
                throw SmpcException.Invalid($"Field '{field.Name}': shape [{string.Join(", ", field.Shape)}] must have positive dimensions whose product is its length {field.Length}.");
        if (!EntityKey.IsValidId(spec.Input)) throw SmpcException.Invalid("input must name the pods' input (an id).");
        if (!Enum.IsDefined(spec.Operation)) throw SmpcException.Invalid("operation must be sum, mean or weighted-mean.");
        if (spec.WeightField is not null) throw SmpcException.Invalid($"weightField is no longer accepted (pods pre-multiplied w·x by hand). {WeightedMeanHowTo}");
        if (spec.Operation == AggregationOperation.WeightedMean && spec.Weight is null) throw SmpcException.Invalid($"weighted-mean needs 'weight'. {WeightedMeanHowTo}");
        if (spec.Operation != AggregationOperation.WeightedMean && spec.Weight is not null) throw SmpcException.Invalid("'weight' applies only to operation weighted-mean.");
        var parameters = Parameters(spec, podCount, "validation");
        return new AggregationState { Spec = spec, Threshold = parameters.Threshold };
    }

    /// <summary>Protocol parameters; a bad spec surfaces as a validation error that names the field or bound.</summary>
    private static SessionParameters Parameters(AggregationSpec spec, int podCount, string sessionId)
    {
        try
        {
            var fields = spec.Fields.Select(f => new FieldSpec(f.Name, f.Length, f.Precision, f.Min, f.Max));
            var layout = spec.Weight is { } w
                ? new WeightedMeanLayout(fields, new WeightSpec(w.Min, w.Max, w.Precision), podCount).WireLayout
                : new VectorLayout(fields);
            var parameters = SessionParameters.Create(sessionId, podCount, layout, spec.ModellerPublicKey, spec.Threshold);
            _ = parameters.Codec; // the codec proves that n bounded inputs cannot wrap the field
            return parameters;
        }
        catch (Exception ex) when (ex is ProtocolException or ArgumentException)
        {
            throw SmpcException.Invalid(ex.Message);
        }
    }

    private SessionParameters Parameters() => Parameters(Aggregation.Spec!, state.State.PodIds.Count, ProtocolSessionId);

    private static bool SameSpec(AggregationSpec? a, AggregationSpec? b) =>
        a is null ? b is null : b is not null && a.Fields.SequenceEqual(b.Fields) && a.Operation == b.Operation && a.Threshold == b.Threshold
            && a.ModellerPublicKey.AsSpan().SequenceEqual(b.ModellerPublicKey) && a.PhaseTimeout == b.PhaseTimeout && a.Input == b.Input && a.WeightField == b.WeightField && a.Weight == b.Weight
            && (a.PhaseTimeouts ?? new Dictionary<SessionPhase, TimeSpan>()).OrderBy(p => p.Key).SequenceEqual((b.PhaseTimeouts ?? new Dictionary<SessionPhase, TimeSpan>()).OrderBy(p => p.Key));

    private AggregationStatus? AggregationStatus()
    {
        if (state.State.Aggregation is not { Spec: not null } a) return null;
        return new AggregationStatus(ProtocolSessionId, a.Threshold, a.Spec, a.Deadline, [.. a.KeyBundles.Keys], [.. a.EnvelopeDigests.Keys],
            [.. a.MaskedInputs], [.. a.Responses.Keys], [.. a.Dropped], a.Included, a.FailureReason, new Dictionary<int, string>(a.Declined));
    }

    /// <summary>The calling pod's party index (1..n), or not-found for anyone who is not one of the session's pods.</summary>
    private int PartyOf(Caller caller)
    {
        var what = $"Session '{Key.Id}'";
        caller.RequireTenant(Key.Tenant, what);
        if (!state.RecordExists || !MaySee(caller)) throw SmpcException.NotFound(what);
        caller.RequireRole(CallerRole.Pod);
        RefuseIfCancelled();
        return state.State.PodIds.IndexOf(caller.Subject!) + 1;
    }

    private void RequireModeller(Caller caller)
    {
        var what = $"Session '{Key.Id}'";
        caller.RequireTenant(Key.Tenant, what);
        if (!state.RecordExists || !MaySee(caller)) throw SmpcException.NotFound(what);
        caller.RequireRole(CallerRole.Modeller);
        RefuseIfCancelled();
    }

    private void RequirePhase(SessionPhase phase, int? party = null)
    {
        if (party is { } declined && Aggregation.Declined.TryGetValue(declined, out var category))
            throw SmpcException.WrongPhase($"Party {declined} declined this session ({category}) and can no longer take part.");
        if (state.State.Phase == phase) return;
        if (party is { } p && Aggregation.Dropped.Contains(p))
            throw SmpcException.WrongPhase($"Party {p} was declared dropped in this round and can no longer take part.");
        var detail = state.State.Phase == SessionPhase.Failed ? $" It failed: {Aggregation.FailureReason}" : "";
        throw SmpcException.WrongPhase($"The session is in phase {state.State.Phase}, not {phase}.{detail}");
    }

    async Task<SessionInfo> ISessionGrain.SubmitKeyBundleAsync(Caller caller, byte[] bundle)
    {
        var party = PartyOf(caller);
        await AdvanceIfDueAsync();
        var a = Aggregation;
        if (a.KeyBundles.TryGetValue(party, out var existing))
        {
            if (existing.AsSpan().SequenceEqual(bundle)) return ToInfo();
            throw SmpcException.Conflict($"Party {party} already published another key bundle.");
        }

        RequirePhase(SessionPhase.KeyExchange, party);
        using var activity = Span("secagg.keys.accept", party);
        var parsed = Parse(bundle, b => KeyBundle.Parse(b), "key bundle");
        if (parsed.SessionId != ProtocolSessionId || parsed.Party != party)
            throw SmpcException.Invalid($"The key bundle must be for session '{ProtocolSessionId}' and party {party}.");
        if (!parsed.VerifySignature(Parameters())) throw SmpcException.Invalid("The key bundle's signature does not verify.");
        var registered = await GrainFactory.GetPod(new EntityKey(Key.Tenant, caller.Subject!)).GetAsync(caller);
        if (!registered.IdentityPublicKey.AsSpan().SequenceEqual(parsed.IdentityKey))
            throw SmpcException.Invalid("The key bundle is signed with an identity key other than the pod's registered one.");

        a.KeyBundles[party] = bundle;
        await SettleAsync();
        await SaveAsync("secagg.keys");
        await AuditJoinedAsync(caller, $"published its key bundle (party {party})");
        return ToInfo();
    }

    Task<IReadOnlyList<byte[]>> ISessionGrain.GetKeyBundlesAsync(Caller caller) => ReadAsync(caller, () =>
    {
        if (Aggregation.KeyHolders is null) throw SmpcException.WrongPhase("Key bundles are released when the key exchange closes.");
        return Task.FromResult<IReadOnlyList<byte[]>>([.. Aggregation.KeyBundles.Values]);
    });

    async Task<SessionInfo> ISessionGrain.SubmitShareEnvelopesAsync(Caller caller, IReadOnlyList<byte[]> envelopes)
    {
        var party = PartyOf(caller);
        await AdvanceIfDueAsync();
        var a = Aggregation;
        var digest = PayloadFraming.Digest(envelopes);
        if (a.EnvelopeDigests.TryGetValue(party, out var existing))
        {
            if (existing == digest) return ToInfo();
            throw SmpcException.Conflict($"Party {party} already sent other share envelopes.");
        }

        RequirePhase(SessionPhase.ShareExchange, party);
        if (!a.KeyHolders!.Contains(party)) throw SmpcException.WrongPhase($"Party {party} published no key bundle and was dropped.");
        using var activity = Span("secagg.shares.accept", party);
        var byRecipient = new SortedDictionary<int, byte[]>();
        foreach (var bytes in envelopes)
        {
            var envelope = Parse(bytes, b => ShareEnvelope.Parse(b), "share envelope");
            if (envelope.SessionId != ProtocolSessionId || envelope.From != party)
                throw SmpcException.Invalid($"Every envelope must be from party {party} of session '{ProtocolSessionId}'.");
            if (envelope.To == party || !a.KeyHolders.Contains(envelope.To) || !byRecipient.TryAdd(envelope.To, bytes))
                throw SmpcException.Invalid($"Envelope to party {envelope.To} is not expected (self, unknown or repeated).");
        }

        var expected = a.KeyHolders.Where(p => p != party).ToList();
        if (!byRecipient.Keys.ToHashSet().SetEquals(expected))
            throw SmpcException.Invalid($"Envelopes are missing for parties {string.Join(", ", expected.Except(byRecipient.Keys))}.");
        // Stored in recipient order: the envelope for j is at j's rank among the other key holders (see CloseShareExchangeAsync).
        try
        {
            await PayloadFraming.WriteAsync(GrainFactory.GetPayload(SharesFrom(party)), [.. byRecipient.Values]);
        }
        catch (SmpcException e) when (e.Code == SmpcErrorCode.Conflict)
        {
            throw SmpcException.Conflict($"Party {party} already sent other share envelopes.");
        }

        a.EnvelopeDigests[party] = digest;
        await SettleAsync();
        await SaveAsync("secagg.shares");
        return ToInfo();
    }

    Task<IReadOnlyList<byte[]>> ISessionGrain.GetShareEnvelopesAsync(Caller caller)
    {
        var party = PartyOf(caller);
        return ReadAsync(caller, () =>
        {
            var a = Aggregation;
            if (a.ShareSenders is null) throw SmpcException.WrongPhase("Share envelopes are released when the share exchange closes.");
            if (!a.ShareSenders.Contains(party)) throw SmpcException.WrongPhase($"Party {party} was declared dropped in this round.");
            return PayloadFraming.ReadAsync(GrainFactory.GetPayload(SharesTo(party)));
        });
    }

    async Task<MaskedUpload> ISessionGrain.BeginMaskedInputAsync(Caller caller)
    {
        var party = PartyOf(caller);
        await AdvanceIfDueAsync();
        RequirePhase(SessionPhase.MaskedInput, party);
        if (!Aggregation.ShareSenders!.Contains(party)) throw SmpcException.WrongPhase($"Party {party} was declared dropped in this round.");
        var parameters = Parameters();
        var chunkBytes = parameters.ChunkElements * sizeof(ulong);
        var total = (long)parameters.Layout.Length * sizeof(ulong);
        var payload = MaskedPayload(party);
        var uploadId = await GrainFactory.GetPayload(payload).BeginAsync(new PayloadConstraints(total, chunkBytes, parameters.Field.Modulus));
        return new MaskedUpload(payload.ToString(), uploadId, chunkBytes, total);
    }

    async Task<SessionInfo> ISessionGrain.CommitMaskedInputAsync(Caller caller)
    {
        var party = PartyOf(caller);
        await AdvanceIfDueAsync();
        var a = Aggregation;
        if (a.MaskedInputs.Contains(party)) return ToInfo(); // the payload grain already refused different bytes
        RequirePhase(SessionPhase.MaskedInput, party);
        if (!a.ShareSenders!.Contains(party)) throw SmpcException.WrongPhase($"Party {party} was declared dropped in this round.");
        using var activity = Span("secagg.masked.accept", party);
        var manifest = await GrainFactory.GetPayload(MaskedPayload(party)).GetManifestAsync();
        var expected = (long)Parameters().Layout.Length * sizeof(ulong);
        if (manifest.Length != expected) throw SmpcException.Invalid($"The masked vector must hold {expected} bytes, not {manifest.Length}.");

        a.MaskedInputs.Add(party);
        await SettleAsync();
        await SaveAsync("secagg.masked");
        return ToInfo();
    }

    Task<byte[]> ISessionGrain.GetUnmaskRequestAsync(Caller caller) => ReadAsync(caller, () =>
    {
        var a = Aggregation;
        if (a.UnmaskRequest is null) throw SmpcException.WrongPhase("The unmask request exists once the masked-input phase closes.");
        if (caller.Role == CallerRole.Pod && !a.Survivors!.Contains(state.State.PodIds.IndexOf(caller.Subject!) + 1))
            throw SmpcException.WrongPhase("Only survivors answer the unmask request.");
        return Task.FromResult(a.UnmaskRequest);
    });

    async Task<SessionInfo> ISessionGrain.SubmitUnmaskResponseAsync(Caller caller, byte[] response)
    {
        var party = PartyOf(caller);
        await AdvanceIfDueAsync();
        var a = Aggregation;
        if (a.Responses.TryGetValue(party, out var existing))
        {
            if (existing.AsSpan().SequenceEqual(response)) return ToInfo();
            throw SmpcException.Conflict($"Party {party} already sent another unmask response.");
        }

        RequirePhase(SessionPhase.Unmasking, party);
        if (!a.Survivors!.Contains(party)) throw SmpcException.WrongPhase($"Party {party} is not a survivor of this round.");
        using var activity = Span("secagg.unmask.accept", party);
        var parsed = Parse(response, b => UnmaskResponse.Parse(b), "unmask response");
        if (parsed.SessionId != ProtocolSessionId || parsed.Party != party)
            throw SmpcException.Invalid($"The unmask response must be party {party}'s for session '{ProtocolSessionId}'.");
        a.Responses[party] = response;
        await SettleAsync();
        await SaveAsync("secagg.unmask");
        return ToInfo();
    }

    async Task<UnmaskMaterial> ISessionGrain.GetUnmaskMaterialAsync(Caller caller)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        var a = Aggregation;
        if (state.State.Phase is not (SessionPhase.Unmasking or SessionPhase.Completed)) RequirePhase(SessionPhase.Unmasking);
        if (a.Responses.Count < a.Threshold)
            throw SmpcException.WrongPhase($"{a.Responses.Count} of the {a.Threshold} unmask responses needed have arrived.");
        return new UnmaskMaterial([.. a.KeyBundles.Values], a.UnmaskRequest!, [.. a.Responses.Values], a.MaskedSumPayload!);
    }

    async Task<SessionInfo> ISessionGrain.CompleteAsync(Caller caller, IReadOnlyList<int> includedParties)
    {
        RequireModeller(caller);
        await AdvanceIfDueAsync();
        var a = Aggregation;
        if (state.State.Phase == SessionPhase.Completed && a.Included!.SequenceEqual(includedParties.Order())) return ToInfo();
        RequirePhase(SessionPhase.Unmasking);
        var survivors = a.Survivors!;
        if (!survivors.SequenceEqual(includedParties.Order()))
            throw SmpcException.Invalid($"The result must include exactly the survivors {string.Join(", ", survivors)}.");
        a.Included = [.. survivors];
        a.Deadline = null;
        state.State.Phase = SessionPhase.Completed;
        await SaveAsync("secagg.complete");
        SmpcTelemetry.SessionsEnded.Add(1, new KeyValuePair<string, object?>("smpc.session.outcome", "completed"));
        await AuditEndedAsync(caller, null, $"result from parties {string.Join(", ", a.Included)}");
        return ToInfo();
    }

    async Task<SessionInfo> ISessionGrain.DeclineAggregationAsync(Caller caller, string category)
    {
        var party = PartyOf(caller);
        await AdvanceIfDueAsync();
        var a = Aggregation;
        if (!DeclineCategories.All.Contains(category))
            throw SmpcException.Invalid($"category must be one of {string.Join(", ", DeclineCategories.All)}.");
        if (a.Declined.TryGetValue(party, out var earlier))
        {
            if (earlier == category) return ToInfo();
            throw SmpcException.Conflict($"Party {party} already declined ({earlier}).");
        }

        if (state.State.Phase is not (SessionPhase.KeyExchange or SessionPhase.ShareExchange or SessionPhase.MaskedInput or SessionPhase.Unmasking))
            throw SmpcException.WrongPhase($"The session is {state.State.Phase}; there is nothing left to decline.{(a.FailureReason is { } r ? $" It failed: {r}" : "")}");
        using var activity = Span("secagg.decline", party);
        activity?.SetTag("smpc.decline.category", category);
        a.Declined[party] = category;
        // Its contribution to the open phase is withdrawn (nothing of it was released yet); once its masked vector is in the
        // sum (unmasking) it stays included and simply will not answer.
        switch (state.State.Phase)
        {
            case SessionPhase.KeyExchange: a.KeyBundles.Remove(party); a.Dropped.Add(party); break;
            case SessionPhase.ShareExchange: a.EnvelopeDigests.Remove(party); a.Dropped.Add(party); break;
            case SessionPhase.MaskedInput: a.MaskedInputs.Remove(party); a.Dropped.Add(party); break;
        }

        await SettleAsync();
        await SaveAsync("secagg.decline");
        if (state.State.Phase == SessionPhase.Failed)
            await AuditAsync(caller, (Interfaces.Audit.AuditEventType.PolicyDeclined, category), (Interfaces.Audit.AuditEventType.SessionFailed, a.FailureReason));
        else
            await AuditAsync(caller, (Interfaces.Audit.AuditEventType.PolicyDeclined, category));
        return ToInfo();
    }

    /// <summary>
    /// Closes the open phase as soon as every party expected in it has acted or declined (with at least t acting), and fails
    /// the session as soon as declines leave fewer than t parties who still can.
    /// </summary>
    private async Task SettleAsync()
    {
        var a = Aggregation;
        var (acted, expected, step) = PhaseProgress();
        if (expected.Count == 0) return;
        var pending = expected.Where(p => !acted.Contains(p) && !a.Declined.ContainsKey(p)).ToList();
        var actedCount = expected.Count(acted.Contains);
        if (actedCount + pending.Count < a.Threshold)
        {
            Fail($"Only {actedCount + pending.Count} of the {a.Threshold} parties needed can still {step}; declined: {DeclinedText(expected)}.");
            return;
        }

        if (pending.Count > 0) return;
        switch (state.State.Phase)
        {
            case SessionPhase.KeyExchange: CloseKeyExchange(); break;
            case SessionPhase.ShareExchange: await CloseShareExchangeAsync(); break;
            case SessionPhase.MaskedInput: await CloseMaskedInputAsync(); break;
            case SessionPhase.Unmasking when expected.Any(a.Declined.ContainsKey): a.Deadline = null; break; // every survivor answered or declined
        }
    }

    /// <summary>The open phase's parties that acted, the parties expected to, and the step's name.</summary>
    private (IReadOnlySet<int> Acted, IReadOnlyList<int> Expected, string Step) PhaseProgress()
    {
        var a = Aggregation;
        return state.State.Phase switch
        {
            SessionPhase.KeyExchange => (a.KeyBundles.Keys.ToHashSet(), Enumerable.Range(1, state.State.PodIds.Count).ToList(), "publish a key bundle"),
            SessionPhase.ShareExchange => (a.EnvelopeDigests.Keys.ToHashSet(), a.KeyHolders!, "send share envelopes"),
            SessionPhase.MaskedInput => (a.MaskedInputs, a.ShareSenders!, "submit a masked vector"),
            SessionPhase.Unmasking => (a.Responses.Keys.ToHashSet(), a.Survivors!, "answer the unmask request"),
            _ => (new HashSet<int>(), [], ""),
        };
    }

    private string DeclinedText(IEnumerable<int> parties)
    {
        var declined = parties.Where(Aggregation.Declined.ContainsKey).Select(p => $"{PodName(p)} ({Aggregation.Declined[p]})").ToList();
        return declined.Count == 0 ? "none" : string.Join(", ", declined);
    }

    /// <summary>Runs a read for the session's pods and modeller after applying any due deadline.</summary>
    private async Task<T> ReadAsync<T>(Caller caller, Func<Task<T>> read)
    {
        var what = $"Session '{Key.Id}'";
        caller.RequireTenant(Key.Tenant, what);
        if (!state.RecordExists || !MaySee(caller) || caller.Role == CallerRole.TenantAdmin) throw SmpcException.NotFound(what);
        RefuseIfCancelled();
        await AdvanceIfDueAsync();
        return await read();
    }

    private void CloseKeyExchange()
    {
        var a = Aggregation;
        a.KeyHolders = [.. a.KeyBundles.Keys];
        DropAllBut(a.KeyHolders);
        NextPhase(SessionPhase.ShareExchange);
    }

    /// <summary>
    /// Fixes U2 and turns the senders' envelope payloads into one payload per recipient: sender i stored its envelopes in
    /// recipient order, so the one for j is at j's rank among the key holders other than i (no envelope is parsed again).
    /// Reads and writes n payloads of n − 1 envelopes each, O(n²) bytes once; each pod then reads only its own.
    /// </summary>
    private async Task CloseShareExchangeAsync()
    {
        var a = Aggregation;
        a.ShareSenders = [.. a.EnvelopeDigests.Keys];
        DropAllBut(a.ShareSenders);
        using (var activity = SessionSpan("secagg.shares.relay"))
        {
            activity?.SetTag("smpc.parties", a.ShareSenders.Count);
            var rank = a.KeyHolders!.Order().Select((holder, i) => (holder, i)).ToDictionary(h => h.holder, h => h.i);
            var sent = await Task.WhenAll(a.ShareSenders.Select(sender => PayloadFraming.ReadAsync(GrainFactory.GetPayload(SharesFrom(sender)))));
            // j's rank among the holders other than i: its rank among all of them, less one if i comes before it. A recipient's
            // payload is replaced, not merely written: a close that failed half-way may be retried with another U2, and
            // nobody reads these payloads before U2 is durably fixed.
            await Task.WhenAll(a.ShareSenders.Select(async recipient =>
            {
                var payload = GrainFactory.GetPayload(SharesTo(recipient));
                await payload.DeleteAsync();
                await PayloadFraming.WriteAsync(payload, [.. a.ShareSenders.Select((sender, i) => (sender, i)).Where(s => s.sender != recipient)
                    .Select(s => sent[s.i][rank[recipient] - (s.sender < recipient ? 1 : 0)])]);
            }));
        }

        NextPhase(SessionPhase.MaskedInput);
    }

    /// <summary>Fixes U3, sums the survivors' masked vectors mod q chunk by chunk, and builds the unmask request.</summary>
    private async Task CloseMaskedInputAsync()
    {
        var a = Aggregation;
        a.Survivors = [.. a.MaskedInputs];
        DropAllBut(a.Survivors);
        var parameters = Parameters();
        using (var activity = SessionSpan("secagg.sum"))
        {
            activity?.SetTag(SmpcTelemetry.SessionAttribute, Key.Id);
            activity?.SetTag("smpc.parties", a.Survivors.Count);
            a.MaskedSumPayload = (await SumMaskedInputsAsync(parameters, a.Survivors)).ToString();
        }

        using (var activity = SessionSpan("secagg.survivors"))
        {
            activity?.SetTag("smpc.survivors", a.Survivors.Count);
            activity?.SetTag("smpc.dropped", a.Dropped.Count);
            a.UnmaskRequest = new UnmaskRequest(ProtocolSessionId, [.. a.ShareSenders!], [.. a.Survivors]).ToBytes();
        }

        NextPhase(SessionPhase.Unmasking);
    }

    /// <summary>
    /// Sums the survivors' masked vectors mod q into the payload <see cref="MaskedSumName"/> chunk by chunk: chunk k of every
    /// survivor is added (<see cref="MaskedChunkSummer"/>) and the sum chunk written before chunk k + 1 is read, so the silo
    /// holds a few chunks whatever the vector's length. A retry after a failure starts a fresh upload of the sum.
    /// </summary>
    private async Task<PayloadKey> SumMaskedInputsAsync(SessionParameters parameters, IReadOnlyList<int> survivors)
    {
        // Reads of one chunk index overlap a little (storage latency), bounded so that memory stays a few chunks.
        const int ReadsInFlight = 4;
        var sumKey = new PayloadKey(Key, MaskedSumName);
        var sumGrain = GrainFactory.GetPayload(sumKey);
        var chunkBytes = parameters.ChunkElements * sizeof(ulong);
        var total = (long)parameters.Layout.Length * sizeof(ulong);
        var upload = await sumGrain.BeginAsync(new PayloadConstraints(total, chunkBytes, parameters.Field.Modulus));
        var inputs = survivors.Select(party => (Party: party, Payload: GrainFactory.GetPayload(MaskedPayload(party)))).ToList();
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        for (var chunk = 0; chunk < parameters.ChunkCount; chunk++)
        {
            var summer = MaskedChunkSummer.For(parameters, survivors, chunk);
            for (var first = 0; first < inputs.Count; first += ReadsInFlight)
            {
                var batch = inputs.Skip(first).Take(ReadsInFlight).ToList();
                var reads = batch.Select(input => input.Payload.ReadChunkAsync(chunk)).ToList();
                for (var i = 0; i < batch.Count; i++) summer.Add(batch[i].Party, (await reads[i]).AsSpan());
            }

            var sum = summer.ToBytes();
            hash.AppendData(sum);
            await sumGrain.WriteChunkAsync(upload, chunk, sum);
        }

        await sumGrain.CompleteAsync(upload, total, Convert.ToHexStringLower(hash.GetHashAndReset()));
        SmpcTelemetry.BytesRelayed.Add(total);
        return sumKey;
    }

    /// <summary>Closes the current phase if its deadline has passed: with at least t parties it goes on without the late ones, with fewer it fails.</summary>
    private async Task AdvanceIfDueAsync()
    {
        if (state.State.Psi is not null)
        {
            await AdvancePsiIfDueAsync();
            return;
        }

        if (state.State.Federated is not null)
        {
            await AdvanceFederatedIfDueAsync();
            return;
        }

        if (state.State.Aggregation is not { Deadline: { } deadline } a || time.GetUtcNow() < deadline) return;
        var (acted, expected, step) = state.State.Phase switch
        {
            SessionPhase.KeyExchange => (a.KeyBundles.Count, Enumerable.Range(1, state.State.PodIds.Count).ToList(), "publish a key bundle"),
            SessionPhase.ShareExchange => (a.EnvelopeDigests.Count, a.KeyHolders!, "send share envelopes"),
            SessionPhase.MaskedInput => (a.MaskedInputs.Count, a.ShareSenders!, "submit a masked vector"),
            SessionPhase.Unmasking => (a.Responses.Count, a.Survivors!, "answer the unmask request"),
            _ => (0, [], ""),
        };
        if (expected.Count == 0) return;
        var late = state.State.Phase switch
        {
            SessionPhase.KeyExchange => expected.Where(p => !a.KeyBundles.ContainsKey(p)),
            SessionPhase.ShareExchange => expected.Where(p => !a.EnvelopeDigests.ContainsKey(p)),
            SessionPhase.MaskedInput => expected.Where(p => !a.MaskedInputs.Contains(p)),
            _ => expected.Where(p => !a.Responses.ContainsKey(p)),
        };

        if (acted < a.Threshold)
        {
            var declined = a.Declined.Keys.Any(expected.Contains) ? $"; declined: {DeclinedText(expected)}" : "";
            Fail($"Only {acted} of the {a.Threshold} parties needed did {step} before the deadline; late: {string.Join(", ", late.Where(p => !a.Declined.ContainsKey(p)).Select(PodName))}{declined}.");
        }
        else
        {
            switch (state.State.Phase)
            {
                case SessionPhase.KeyExchange: CloseKeyExchange(); break;
                case SessionPhase.ShareExchange: await CloseShareExchangeAsync(); break;
                case SessionPhase.MaskedInput: await CloseMaskedInputAsync(); break;
                default: a.Deadline = null; break; // enough responses: the modeller can finish whenever it likes
            }
        }

        await SaveAsync("secagg.deadline");
        if (state.State.Phase == SessionPhase.Failed) await AuditEndedAsync(null, a.FailureReason);
    }

    private void Fail(string reason)
    {
        state.State.Phase = SessionPhase.Failed;
        Aggregation.FailureReason = reason;
        Aggregation.Deadline = null;
        SmpcTelemetry.SessionsEnded.Add(1, new KeyValuePair<string, object?>("smpc.session.outcome", "failed"));
    }

    private string PodName(int party) => $"{state.State.PodIds[party - 1]} (party {party})";

    private void DropAllBut(IReadOnlyCollection<int> stayed)
    {
        foreach (var party in Enumerable.Range(1, state.State.PodIds.Count).Where(p => !stayed.Contains(p))) Aggregation.Dropped.Add(party);
    }

    private void NextPhase(SessionPhase next)
    {
        SmpcTelemetry.PhaseDurations.Record((time.GetUtcNow() - state.State.CreatedAt).TotalSeconds, new KeyValuePair<string, object?>("smpc.phase", state.State.Phase.ToString()));
        state.State.Phase = next;
        Aggregation.Deadline = time.GetUtcNow() + Aggregation.Spec!.TimeoutFor(next);
    }

    private async Task SaveAsync(string operation)
    {
        state.State.Version++;
        await state.WriteOrRollbackAsync(this, operation);
        ScheduleDeadline();
        NotifyChanged();
    }

    /// <summary>A timer closes a phase at its deadline even when nobody calls; calls also check the deadline first.</summary>
    private void ScheduleDeadline()
    {
        _deadlineTimer?.Dispose();
        _deadlineTimer = null;
        if ((state.State.Aggregation?.Deadline ?? state.State.Psi?.Deadline ?? state.State.Federated?.Deadline) is not { } deadline) return;
        var due = deadline - time.GetUtcNow();
        if (due < TimeSpan.Zero) due = TimeSpan.Zero;
        _deadlineTimer = this.RegisterGrainTimer(_ => AdvanceOrReloadAsync(), new GrainTimerCreationOptions(due + TimeSpan.FromMilliseconds(50), Timeout.InfiniteTimeSpan));
    }

    private PayloadKey MaskedPayload(int party) => new(Key, $"masked-{party}");

    private PayloadKey SharesFrom(int party) => new(Key, $"shares-from-{party}");

    private PayloadKey SharesTo(int party) => new(Key, $"shares-to-{party}");

    /// <summary>
    /// A service-side step of the session (it may run from a deadline timer, outside any request): a child of the session's
    /// trace, linked to whatever triggered it.
    /// </summary>
    private Activity? SessionSpan(string name)
    {
        ActivityContext.TryParse(state.State.TraceParent, null, out var sessionTrace);
        var links = Activity.Current is { } trigger ? new[] { new ActivityLink(trigger.Context) } : null;
        var activity = SmpcTelemetry.Grains.StartActivity(name, ActivityKind.Internal, sessionTrace, links: links);
        activity?.SetTag(SmpcTelemetry.SessionAttribute, Key.Id);
        return activity;
    }

    private Activity? Span(string name, int party)
    {
        var activity = SmpcTelemetry.Grains.StartActivity(name);
        activity?.SetTag(SmpcTelemetry.SessionAttribute, Key.Id);
        activity?.SetTag("smpc.party", party);
        return activity;
    }

    private static T Parse<T>(byte[] bytes, Func<byte[], T> parse, string what)
    {
        try
        {
            return parse(bytes);
        }
        catch (Exception ex) when (ex is ProtocolException or ArgumentException or IndexOutOfRangeException)
        {
            throw SmpcException.Invalid($"Malformed {what}: {ex.Message}");
        }
    }
}
