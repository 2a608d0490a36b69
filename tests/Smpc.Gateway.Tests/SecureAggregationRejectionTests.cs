using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Smpc.Client;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Gateway.Tests;

/// <summary>Bad, replayed and out-of-phase protocol messages through the real gateway: each is refused with a problem and changes nothing.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class SecureAggregationRejectionTests(EmbeddedService service)
{
    private sealed class Run(TenantClients tenant, SessionResponse session, IReadOnlyDictionary<int, string> pins) : IDisposable
    {
        private readonly Dictionary<int, SecureAggregationParty> _parties = [];

        public TenantClients T { get; } = tenant;

        public SessionResponse Session { get; } = session;

        public SmpcClient Pod(int party) => T.Pods[$"p{party}"];

        public SecureAggregationParty Party(int party)
        {
            if (!_parties.TryGetValue(party, out var p))
                _parties[party] = p = new SecureAggregationParty(AggregationSession.Parameters(Session), party, T.Identities[$"p{party}"], SystemRandomSource.Instance, pins);
            return p;
        }

        public async Task<int> VersionAsync() => (await T.Modeller.GetSessionAsync(T.Tenant, "s")).Version;

        public void Dispose()
        {
            foreach (var p in _parties.Values) p.Dispose();
        }
    }

    private async Task<Run> StartAsync()
    {
        var t = await Scenario.TenantAsync(service);
        var modeller = await ModellerAggregation.CreateAsync(t.Modeller, t.Tenant, "s", "m1", ["p1", "p2", "p3"],
            new AggregationRequest([new AggregationFieldRequest("x", 3, -10, 10)], "sum", "", "x", PhaseTimeoutSeconds: 60));
        var pins = await AggregationSession.PinsAsync(t.Modeller, modeller.Session, AggregationSession.EphemeralPins(), default);
        return new Run(t, modeller.Session, pins);
    }

    private static async Task ExpectAsync(HttpStatusCode status, string type, Func<Task> call, string? detail = null)
    {
        var error = await Assert.ThrowsAsync<SmpcApiException>(call);
        Assert.Equal((status, type), (error.Status, error.Type));
        if (detail is not null) Assert.Contains(detail, error.Detail, StringComparison.Ordinal);
    }

    /// <summary>Runs all three pods through the key exchange and share exchange.</summary>
    private static async Task ToMaskedInputAsync(Run run)
    {
        foreach (var p in new[] { 1, 2, 3 }) await run.Pod(p).SubmitKeyBundleAsync(run.T.Tenant, "s", run.Party(p).CreateKeyBundle().ToBytes());
        var bundles = (await run.Pod(1).GetKeyBundlesAsync(run.T.Tenant, "s")).Select(b => KeyBundle.Parse(b)).ToList();
        foreach (var p in new[] { 1, 2, 3 })
            await run.Pod(p).SubmitShareEnvelopesAsync(run.T.Tenant, "s", run.Party(p).CreateShareEnvelopes(bundles).Select(e => e.ToBytes()));
    }

    /// <summary>Waits (long poll) for unmasking: it opens once the survivors' masked sum is stored, after the call that fixed them.</summary>
    private static async Task UnmaskingAsync(Run run)
    {
        var session = await run.T.Modeller.GetSessionAsync(run.T.Tenant, "s");
        while (session.Phase == SessionPhases.MaskedInput) session = await run.T.Modeller.WaitForSessionChangeAsync(run.T.Tenant, "s", session.Version, 5);
    }

    private static async Task<ulong[]> MaskedAsync(Run run, int party) =>
        run.Party(party).CreateMaskedInput([.. (await run.Pod(party).GetShareEnvelopesAsync(run.T.Tenant, "s")).Select(e => ShareEnvelope.Parse(e))], [1, 2, 3]);

    [Fact]
    public async Task KeyBundle_ForAnotherParty_OrSignedByAnUnregisteredKey_OrMalformed_IsRefused_AndChangesNothing()
    {
        using var run = await StartAsync();
        var before = await run.VersionAsync();

        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => run.Pod(1).SubmitKeyBundleAsync(run.T.Tenant, "s", run.Party(2).CreateKeyBundle().ToBytes()), "party 1");
        using var stranger = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        var forged = new SecureAggregationParty(AggregationSession.Parameters(run.Session), 3, stranger, SystemRandomSource.Instance,
            new Dictionary<int, string> { [1] = "x", [2] = "x", [3] = stranger.Fingerprint });
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => run.Pod(3).SubmitKeyBundleAsync(run.T.Tenant, "s", forged.CreateKeyBundle().ToBytes()), "registered");
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => run.Pod(1).SubmitKeyBundleAsync(run.T.Tenant, "s", [1, 2, 3]), "Malformed");
        using var notBase64 = await Raw(run, HttpMethod.Post, "secagg/key-bundle", JsonContent.Create(new { data = "%%%" }), run.T.Pods["p1"]);
        Assert.Equal(HttpStatusCode.BadRequest, notBase64.StatusCode);

        Assert.Equal(before, await run.VersionAsync());
        Assert.Empty((await run.T.Modeller.GetSessionAsync(run.T.Tenant, "s")).Aggregation!.KeyBundles);
    }

    [Fact]
    public async Task KeyBundle_Resent_IsIdempotent_ButADifferentOneIsAConflict()
    {
        using var run = await StartAsync();
        var bundle = run.Party(1).CreateKeyBundle().ToBytes();
        var first = await run.Pod(1).SubmitKeyBundleAsync(run.T.Tenant, "s", bundle);

        var again = await run.Pod(1).SubmitKeyBundleAsync(run.T.Tenant, "s", bundle);
        using var other = new SecureAggregationParty(AggregationSession.Parameters(run.Session), 1, run.T.Identities["p1"], SystemRandomSource.Instance,
            await AggregationSession.PinsAsync(run.T.Modeller, run.Session, AggregationSession.EphemeralPins(), default));
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.Conflict, () => run.Pod(1).SubmitKeyBundleAsync(run.T.Tenant, "s", other.CreateKeyBundle().ToBytes()));

        Assert.Equal(first.Version, again.Version);
        Assert.Equal(first.Version, await run.VersionAsync());
    }

    [Fact]
    public async Task ProtocolSteps_ByTheWrongRoleOrAnOutsider_AreRefused()
    {
        using var run = await StartAsync();
        var other = await Scenario.TenantAsync(service);
        var bundle = run.Party(1).CreateKeyBundle().ToBytes();

        await ExpectAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => run.T.Modeller.SubmitKeyBundleAsync(run.T.Tenant, "s", bundle));
        await ExpectAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => run.T.Admin.GetKeyBundlesAsync(run.T.Tenant, "s"));
        await ExpectAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => other.Pods["p1"].SubmitKeyBundleAsync(run.T.Tenant, "s", bundle));
        await ExpectAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => run.Pod(1).SubmitKeyBundleAsync(run.T.Tenant, "no-such-session", bundle));
        await ExpectAsync(HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => run.Pod(1).GetUnmaskMaterialAsync(run.T.Tenant, "s"));
    }

    [Fact]
    public async Task OutOfPhaseMessages_AreRefusedWithWrongPhase()
    {
        using var run = await StartAsync();

        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => run.Pod(1).GetKeyBundlesAsync(run.T.Tenant, "s"));
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => run.Pod(1).SubmitShareEnvelopesAsync(run.T.Tenant, "s", [[1]]));
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => run.Pod(1).SubmitMaskedInputAsync(run.T.Tenant, "s", [1, 2, 3]));
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => run.Pod(1).GetUnmaskRequestAsync(run.T.Tenant, "s"));
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => run.T.Modeller.GetUnmaskMaterialAsync(run.T.Tenant, "s"));
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => run.T.Modeller.CompleteAggregationAsync(run.T.Tenant, "s", [1, 2, 3]));
    }

    [Fact]
    public async Task MaskedInput_OfTheWrongLength_OrWithAnElementAtLeastQ_IsRefused_AndALaterCorrectOneIsAccepted()
    {
        using var run = await StartAsync();
        await ToMaskedInputAsync(run);
        var masked = await MaskedAsync(run, 1);
        var before = await run.VersionAsync();

        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => run.Pod(1).SubmitMaskedInputAsync(run.T.Tenant, "s", masked[..2]), "must hold 24 bytes");
        await ExpectAsync(HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge, () => run.Pod(1).SubmitMaskedInputAsync(run.T.Tenant, "s", [.. masked, 5]));
        ulong[] nonCanonical = [masked[0], (1UL << 61) - 1, masked[2]]; // q itself
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => run.Pod(1).SubmitMaskedInputAsync(run.T.Tenant, "s", nonCanonical), "non-canonical");
        using var json = await Raw(run, HttpMethod.Put, "secagg/masked-input", JsonContent.Create(masked), run.T.Pods["p1"]);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);
        Assert.Equal(before, await run.VersionAsync());

        var accepted = await run.Pod(1).SubmitMaskedInputAsync(run.T.Tenant, "s", masked);
        var retried = await run.Pod(1).SubmitMaskedInputAsync(run.T.Tenant, "s", masked);
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.Conflict, () => run.Pod(1).SubmitMaskedInputAsync(run.T.Tenant, "s", [masked[1], masked[0], masked[2]]));

        Assert.Equal([1], accepted.Aggregation!.MaskedInputs);
        Assert.Equal(accepted.Version, retried.Version);
    }

    [Fact]
    public async Task APodDeclaredDropped_IsRefusedClearly_WhenItComesBack()
    {
        using var run = await StartAsync();
        await ToMaskedInputAsync(run);
        var late = await MaskedAsync(run, 3);
        await run.Pod(1).SubmitMaskedInputAsync(run.T.Tenant, "s", await MaskedAsync(run, 1));
        await run.Pod(2).SubmitMaskedInputAsync(run.T.Tenant, "s", await MaskedAsync(run, 2));

        service.Clock.Advance(TimeSpan.FromSeconds(61)); // the masked-input deadline passes with 2 ≥ t = 2 vectors
        var session = await run.T.Modeller.GetSessionAsync(run.T.Tenant, "s");
        await UnmaskingAsync(run); // the deadline fixed the survivors; unmasking opens once their masked sum is stored
        session = await run.T.Modeller.GetSessionAsync(run.T.Tenant, "s");
        Assert.Equal(SessionPhases.Unmasking, session.Phase);
        Assert.Equal([3], session.Aggregation!.Dropped);

        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => run.Pod(3).SubmitMaskedInputAsync(run.T.Tenant, "s", late), "declared dropped");
        Assert.Equal(session.Version, await run.VersionAsync());
    }

    [Fact]
    public async Task UnmaskResponse_FromANonSurvivorOrForgedParty_IsRefused()
    {
        using var run = await StartAsync();
        await ToMaskedInputAsync(run);
        foreach (var p in new[] { 1, 2, 3 }) await run.Pod(p).SubmitMaskedInputAsync(run.T.Tenant, "s", await MaskedAsync(run, p));
        await UnmaskingAsync(run);
        var request = UnmaskRequest.Parse(await run.Pod(1).GetUnmaskRequestAsync(run.T.Tenant, "s"));
        var response1 = run.Party(1).CreateUnmaskResponse(request).ToBytes();

        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => run.Pod(2).SubmitUnmaskResponseAsync(run.T.Tenant, "s", response1), "party 2");
        await run.Pod(1).SubmitUnmaskResponseAsync(run.T.Tenant, "s", response1);
        await run.Pod(1).SubmitUnmaskResponseAsync(run.T.Tenant, "s", response1); // retry
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.Conflict, () => run.Pod(1).SubmitUnmaskResponseAsync(run.T.Tenant, "s", [.. response1[..^1], (byte)(response1[^1] ^ 1)]));
        Assert.Equal([1], (await run.T.Modeller.GetSessionAsync(run.T.Tenant, "s")).Aggregation!.UnmaskResponses);
    }

    private async Task<HttpResponseMessage> Raw(Run run, HttpMethod method, string step, HttpContent content, SmpcClient _)
    {
        // The pod key is not exposed by SmpcClient; issue a fresh one for the raw request.
        var key = await run.T.Admin.IssuePodKeyAsync(run.T.Tenant, "p1");
        using var request = new HttpRequestMessage(method, $"v1/tenants/{run.T.Tenant}/sessions/s/{step}") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key.ApiKey);
        return await service.Http.SendAsync(request);
    }
}
