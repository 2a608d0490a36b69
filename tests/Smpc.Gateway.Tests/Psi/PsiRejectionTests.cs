using System.Net;
using System.Text;
using Microsoft.Data.Sqlite;
using Smpc.Agent.Psi;
using Smpc.Client;
using Smpc.Client.Psi;
using Smpc.Contracts;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.Randomness;

namespace Smpc.Gateway.Tests.Psi;

/// <summary>
/// Bad specs, bad acceptances, out-of-phase and malformed sets, wrong parties and outsiders through the real gateway: each is
/// refused with a problem and leaves the session exactly as it was. Policy refusals, deadlines and size limits end or bound
/// the session with a reason the modeller can read.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class PsiRejectionTests(EmbeddedService service)
{
    private const string Id = "s";

    /// <summary>Everything of a session a message could change.</summary>
    private sealed record Seen(
        int Version, string Phase, bool Accepted, string? PublicKey, bool CountedByPod, long? PodSetSize, bool QueryStored, bool ReplyStored,
        bool DoubleBlindedStored, long? PodCount, long? ReportedCount, string? FailureReason);

    private static Seen Of(SessionResponse s) => new(
        s.Version, s.Phase, s.Psi!.Accepted, s.Psi.PublicKey, s.Psi.CountedByPod, s.Psi.PodSetSize, s.Psi.QueryStored, s.Psi.ReplyStored,
        s.Psi.DoubleBlindedStored, s.Psi.PodCount, s.Psi.ReportedCount, s.Psi.FailureReason);

    private static async Task<Seen> SeenAsync(TenantClients t, string id = Id) => Of(await t.Modeller.GetSessionAsync(t.Tenant, id));

    private static PsiRequest Spec(string protocol = PsiProtocolNames.Ecdh, string mode = PsiModeNames.Intersection, long size = 3, int timeoutSeconds = 600) =>
        new(mode, PsiScenario.ModellerColumns, PsiScenario.PodColumns, "customers", size, protocol, protocol == PsiProtocolNames.RsaBlind ? 2048 : null, timeoutSeconds,
            protocol == PsiProtocolNames.Ecdh ? PsiProtocolNames.EcdhOprfV1 : null, protocol == PsiProtocolNames.Ecdh && mode == PsiModeNames.Cardinality ? PsiScenario.CountKey : null);

    private async Task<TenantClients> SessionAsync(PsiRequest spec, string[]? pods = null, string id = Id)
    {
        var t = await Scenario.TenantAsync(service, pods ?? ["p1"]);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(id, "m1", SessionKinds.Psi, ["p1"], Psi: spec));
        return t;
    }

    private static async Task<SmpcApiException> ExpectAsync(HttpStatusCode status, string type, Func<Task> call, string? detail = null)
    {
        var error = await Assert.ThrowsAsync<SmpcApiException>(call);
        Assert.Equal((status, type), (error.Status, error.Type));
        if (detail is not null) Assert.Contains(detail, error.Detail ?? "", StringComparison.Ordinal);
        return error;
    }

    /// <summary>Refused with <paramref name="status"/>/<paramref name="type"/>, and the session is exactly as before.</summary>
    private static async Task RefusedAsync(TenantClients t, HttpStatusCode status, string type, Func<Task> call, string? detail = null, string id = Id)
    {
        var before = await SeenAsync(t, id);
        await ExpectAsync(status, type, call, detail);
        Assert.Equal(before, await SeenAsync(t, id));
    }

    private static Task<SessionResponse> PutAsync(SmpcClient client, TenantClients t, string set, byte[] body, long? declared = null, string id = Id) =>
        client.UploadPsiSetAsync(t.Tenant, id, set, stream => stream.WriteAsync(body).AsTask(), declared ?? body.Length);

    private static Task<long> GetAsync(SmpcClient client, TenantClients t, string set, string id = Id) =>
        client.ReadPsiSetAsync(t.Tenant, id, set, 1, 1024, _ => Task.CompletedTask);

    /// <summary><paramref name="count"/> valid, distinct ristretto255 points.</summary>
    private static byte[] Points(int count)
    {
        var points = new byte[count * Ristretto255.Size];
        for (var i = 0; i < count; i++)
            RistrettoOprf.HashToGroup(Encoding.UTF8.GetBytes($"element {i} {Guid.NewGuid()}"), points.AsSpan(i * Ristretto255.Size, Ristretto255.Size));
        return points;
    }

    private static List<byte[]> Records(int count) => [.. Enumerable.Range(0, count).Select(i => Encoding.UTF8.GetBytes($"record {i}"))];

    private static string Key(RsaPsiServer server) => Convert.ToBase64String(server.PublicKey.ToBytes());

    /// <summary>A well-formed public key of another size (odd modulus with its top bit set, e = 65537).</summary>
    private static string FakeKey(int bits)
    {
        var modulus = new byte[bits / 8];
        Random.Shared.NextBytes(modulus);
        modulus[0] |= 0x80;
        modulus[^1] |= 1;
        return Convert.ToBase64String(new RsaPsiPublicKey(modulus, [1, 0, 1]).ToBytes());
    }

    // 1. Create

    public static TheoryData<string> BadSpecs => new()
    {
        "unknown-protocol", "unknown-mode", "kinds-differ", "no-columns", "rsa-1024", "ecdh-keybits", "negative-size", "two-pods", "no-psi", "timeout-1s", "no-such-country",
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public async Task Create_WithABadSpec_IsAValidationProblem_AndCreatesNothing(string bad)
    {
        var t = await Scenario.TenantAsync(service, ["p1", "p2"]);
        var good = Spec();
        IReadOnlyList<string> pods = ["p1"];
        PsiRequest? spec = bad switch
        {
            "unknown-protocol" => good with { Protocol = "dh" },
            "unknown-mode" => good with { Mode = "union" },
            "kinds-differ" => good with { PodColumns = [PsiScenario.PodColumns[0], new PsiColumnRequest("email", "text"), PsiScenario.PodColumns[2]] },
            "no-columns" => good with { ModellerColumns = [], PodColumns = [] },
            "rsa-1024" => good with { Protocol = PsiProtocolNames.RsaBlind, KeyBits = 1024 },
            "ecdh-keybits" => good with { KeyBits = 2048 },
            "negative-size" => good with { ModellerSetSize = -1 },
            "timeout-1s" => good with { TimeoutSeconds = 1 },
            "no-such-country" => good with { ModellerColumns = [.. good.ModellerColumns.Select(c => c.Kind == "phone" ? c with { CountryCode = "XX" } : c)] },
            "no-psi" => null,
            _ => good,
        };
        if (bad == "two-pods") pods = ["p1", "p2"];

        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(Id, "m1", SessionKinds.Psi, pods, Psi: spec)));

        await ExpectAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => t.Modeller.GetSessionAsync(t.Tenant, Id));
        Assert.Empty(await t.Pods["p1"].ListPodSessionsAsync(t.Tenant, "p1"));
        // The same id with the good spec is created: the refusal was for the one bad part.
        var created = await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(Id, "m1", SessionKinds.Psi, ["p1"], Psi: good));
        Assert.Equal(SessionPhases.AwaitingPod, created.Phase);
    }

    // 2. Accept

    [Fact]
    public async Task Accept_RsaBlind_WithoutAKey_AGarbageKey_OrAKeyOfAnotherSize_IsRefused()
    {
        var t = await SessionAsync(Spec(PsiProtocolNames.RsaBlind));
        var pod = t.Pods["p1"];

        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1)), "public key");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Convert.ToBase64String([1, 2, 3, 4, 5]))), "Malformed");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest("%%% not base64")), "base64");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(FakeKey(3072))), "2048-bit");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(FakeKey(4096))), "2048-bit");
        Assert.False((await SeenAsync(t)).Accepted);

        using var server = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, 2048);
        var accepted = await pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Key(server)));
        Assert.Equal(SessionPhases.Exchange, accepted.Phase);
        Assert.Equal(Key(server), accepted.Psi!.PublicKey);
    }

    [Fact]
    public async Task Version_AnOldModellerAndAnOldPod_AreRefusedByName_AndAPlainCountToo()
    {
        // A modeller from before ecdh-oprf-v1 sends no version: refused before any session exists.
        var t = await Scenario.TenantAsync(service, ["p1"]);
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.UnsupportedProtocolVersion,
            () => t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(Id, "m1", SessionKinds.Psi, ["p1"], Psi: Spec() with { Version = null })), "ecdh-oprf-v1");
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.UnsupportedProtocolVersion,
            () => t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(Id, "m1", SessionKinds.Psi, ["p1"], Psi: Spec() with { Version = "ecdh-oprf-v9" })), "ecdh-oprf-v1");

        // A pod from before it accepts without one: refused, the session still awaits a pod that speaks the version.
        var card = await SessionAsync(Spec(mode: PsiModeNames.Cardinality));
        var pod = card.Pods["p1"];
        await RefusedAsync(card, HttpStatusCode.BadRequest, ProblemTypes.UnsupportedProtocolVersion,
            () => pod.AcceptPsiAsync(card.Tenant, Id, new PsiAcceptRequest(CountedByPod: true)), "before ecdh-oprf-v1");
        Assert.Equal(SessionPhases.AwaitingPod, (await card.Modeller.GetSessionAsync(card.Tenant, Id)).Phase);

        // ecdh cardinality is never modeller-counted, and a pod-counted count is never plain.
        await RefusedAsync(card, HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => pod.AcceptPsiAsync(card.Tenant, Id, new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1)), "counted by the pod");
        await pod.AcceptPsiAsync(card.Tenant, Id, new PsiAcceptRequest(CountedByPod: true, Version: PsiProtocolNames.EcdhOprfV1));
        await RefusedAsync(card, HttpStatusCode.BadRequest, ProblemTypes.UnsupportedProtocolVersion, () => pod.ReportPsiCountAsync(card.Tenant, Id, 3), "sealedCount");

        // A cardinality spec without the modeller's count key is refused.
        var other = await Scenario.TenantAsync(service, ["p1"]);
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => other.Modeller.CreateSessionAsync(other.Tenant, new CreateSessionRequest(Id, "m1", SessionKinds.Psi, ["p1"], Psi: Spec(mode: PsiModeNames.Cardinality) with { CountKey = null })), "countKey");
    }

    [Fact]
    public async Task Accept_EcdhWithAKey_OrCountedByPodOutsideEcdhCardinality_IsRefused()
    {
        var t = await SessionAsync(Spec());
        var pod = t.Pods["p1"];
        using var server = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, 2048);

        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Key(server), Version: PsiProtocolNames.EcdhOprfV1)), "no public key");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(CountedByPod: true, Version: PsiProtocolNames.EcdhOprfV1)), "counted by the pod");

        var rsa = await SessionAsync(Spec(PsiProtocolNames.RsaBlind, PsiModeNames.Cardinality));
        await RefusedAsync(rsa, HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => rsa.Pods["p1"].AcceptPsiAsync(rsa.Tenant, Id, new PsiAcceptRequest(Key(server), CountedByPod: true)), "counted by the pod");

        var card = await SessionAsync(Spec(mode: PsiModeNames.Cardinality));
        Assert.True((await card.Pods["p1"].AcceptPsiAsync(card.Tenant, Id, new PsiAcceptRequest(CountedByPod: true, Version: PsiProtocolNames.EcdhOprfV1))).Psi!.CountedByPod);
    }

    [Fact]
    public async Task Accept_ByTheModeller_IsForbidden_ARepeat_IsIdempotent_AndADifferentOne_IsAConflict()
    {
        var t = await SessionAsync(Spec(PsiProtocolNames.RsaBlind));
        var pod = t.Pods["p1"];
        using var server = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, 2048);
        using var other = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, 2048);

        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Modeller.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Key(server))));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Admin.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Key(server))));

        var first = await pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Key(server)));
        var again = await pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Key(server)));
        Assert.Equal(Of(first), Of(again));

        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.Conflict, () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Key(other))));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.Conflict, () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1)));
        Assert.Equal(Key(server), (await SeenAsync(t)).PublicKey);
    }

    // 3. Out of phase

    [Fact]
    public async Task OutOfPhaseSteps_AreWrongPhase_AndChangeNothing()
    {
        var t = await SessionAsync(Spec());
        var pod = t.Pods["p1"];

        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(t.Modeller, t, PsiPayloads.Query, Points(3)));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(pod, t, PsiPayloads.PodSet, Points(2)));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Modeller.CompletePsiAsync(t.Tenant, Id, null));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => pod.ReportPsiCountAsync(t.Tenant, Id, 1));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => GetAsync(pod, t, PsiPayloads.Query));

        await pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(pod, t, PsiPayloads.Reply, Points(3)), "query");
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(t.Modeller, t, PsiPayloads.DoubleBlinded, Points(2)), "pod-counted");
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => pod.ReportPsiCountAsync(t.Tenant, Id, 1), "modeller counts");
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Modeller.CompletePsiAsync(t.Tenant, Id, 0));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => GetAsync(t.Modeller, t, PsiPayloads.Reply));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => GetAsync(t.Modeller, t, PsiPayloads.PodSet));

        // With the pod's set and the query stored, only the reply is missing: completing is still too early.
        await PutAsync(pod, t, PsiPayloads.PodSet, Points(2));
        await PutAsync(t.Modeller, t, PsiPayloads.Query, Points(3));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Modeller.CompletePsiAsync(t.Tenant, Id, 0));
        Assert.Equal(SessionPhases.Exchange, (await SeenAsync(t)).Phase);
    }

    // 4. Malformed elements

    [Fact]
    public async Task EcdhQuery_OfTheWrongLength_OrWithAnInvalidPoint_IsRefused_AndACorrectOneIsThenAccepted()
    {
        var t = await SessionAsync(Spec(size: 3));
        await t.Pods["p1"].AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1));
        var query = Points(3);

        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, query[..64]), "96 bytes");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, query[..33]));
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, query[..95]));
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, []), "fixed size");
        var notAPoint = query.ToArray();
        notAPoint.AsSpan(32, 32).Fill(0xFF);
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, notAPoint), "Element 1");
        var identity = query.ToArray();
        identity.AsSpan(64, 32).Clear();
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, identity), "Element 2");

        var stored = await PutAsync(t.Modeller, t, PsiPayloads.Query, query);
        Assert.True(stored.Psi!.QueryStored);
        var retried = await PutAsync(t.Modeller, t, PsiPayloads.Query, query);
        Assert.Equal(Of(stored), Of(retried));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.Conflict, () => PutAsync(t.Modeller, t, PsiPayloads.Query, Points(3)));
        var downloaded = new MemoryStream();
        await t.Pods["p1"].ReadPsiSetAsync(t.Tenant, Id, PsiPayloads.Query, 32, 8, batch => downloaded.WriteAsync(batch).AsTask());
        Assert.Equal(query, downloaded.ToArray());
    }

    [Fact]
    public async Task RsaQuery_WithAnElementOutsideOneToNMinusOne_OrOfTheWrongLength_IsRefused_AndACorrectOneIsThenAccepted()
    {
        var t = await SessionAsync(Spec(PsiProtocolNames.RsaBlind, size: 2));
        using var server = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, 2048);
        await t.Pods["p1"].AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Key(server)));
        var binding = new RsaKeyBinding(t.Tenant, Id);
        var certified = RsaKeyCertification.Verify(server.PublicKey, server.ProveKey(binding), binding, 2048);
        var query = new RsaPsiClient(certified, PsiMode.Intersection, SystemRandomSource.Instance).BlindBatch(Records(2));
        Assert.Equal(512, query.Length);

        var aboveN = query.ToArray();
        aboveN.AsSpan(0, 256).Fill(0xFF);
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, aboveN), "Element 0");
        var modulus = query.ToArray();
        server.PublicKey.Modulus.CopyTo(modulus, 256);
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, modulus), "Element 1");
        var one = query.ToArray();
        one.AsSpan(256, 256).Clear();
        one[^1] = 1;
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, one), "Element 1");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, query[..256]), "512 bytes");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, query[..300]));
        // An ecdh-sized query (32-byte elements) is not an rsa-blind one.
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, Points(2)));

        Assert.True((await PutAsync(t.Modeller, t, PsiPayloads.Query, query)).Psi!.QueryStored);
    }

    // 5. Wrong party

    [Fact]
    public async Task Sets_SentOrFetchedByTheWrongParty_AreForbidden()
    {
        var t = await SessionAsync(Spec(size: 2));
        var pod = t.Pods["p1"];
        await pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1));
        await PutAsync(pod, t, PsiPayloads.PodSet, Points(2));
        await PutAsync(t.Modeller, t, PsiPayloads.Query, Points(2));

        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => PutAsync(pod, t, PsiPayloads.Query, Points(2)));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => PutAsync(pod, t, PsiPayloads.DoubleBlinded, Points(2)));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => PutAsync(t.Modeller, t, PsiPayloads.PodSet, Points(2)));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => PutAsync(t.Modeller, t, PsiPayloads.PodSet, []));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => PutAsync(t.Modeller, t, PsiPayloads.Reply, Points(2)));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => GetAsync(t.Modeller, t, PsiPayloads.Query));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => GetAsync(pod, t, PsiPayloads.Reply));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => GetAsync(pod, t, PsiPayloads.PodSet));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Modeller.DeclinePsiAsync(t.Tenant, Id, "not mine to decline"));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => pod.CompletePsiAsync(t.Tenant, Id, null));

        // The right parties still can.
        Assert.Equal(2, await GetAsync(pod, t, PsiPayloads.Query) / 32);
        Assert.Equal(2, await GetAsync(t.Modeller, t, PsiPayloads.PodSet) / 32);
    }

    // 6. Outsiders

    [Fact]
    public async Task Outsiders_AnotherTenantsModellerAndPod_AndAPodNotInTheSession_SeeNothing()
    {
        var t = await SessionAsync(Spec(size: 2), ["p1", "p2"]);
        await t.Pods["p1"].AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1));
        await PutAsync(t.Pods["p1"], t, PsiPayloads.PodSet, Points(2));
        await PutAsync(t.Modeller, t, PsiPayloads.Query, Points(2));
        var other = await Scenario.TenantAsync(service, ["p1"]);
        // Another tenant with a session of the same id, so a leak across tenants could not hide behind "no such session".
        await other.Modeller.CreateSessionAsync(other.Tenant, new CreateSessionRequest(Id, "m1", SessionKinds.Psi, ["p1"], Psi: Spec(size: 2)));

        foreach (var (who, client) in new[] { ("other tenant's modeller", other.Modeller), ("other tenant's pod", other.Pods["p1"]), ("p2", t.Pods["p2"]) })
        {
            var calls = new List<(string, Func<Task>)>
            {
                ("get session", () => client.GetSessionAsync(t.Tenant, Id)),
                ("wait for session", () => client.WaitForSessionChangeAsync(t.Tenant, Id, 1, 0)),
                ("accept", () => client.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1))),
                ("decline", () => client.DeclinePsiAsync(t.Tenant, Id, "no")),
                ("count", () => client.ReportPsiCountAsync(t.Tenant, Id, 1)),
                ("complete", () => client.CompletePsiAsync(t.Tenant, Id, null)),
            };
            foreach (var set in new[] { PsiPayloads.PodSet, PsiPayloads.Query, PsiPayloads.Reply, PsiPayloads.DoubleBlinded })
            {
                calls.Add(($"put {set}", () => PutAsync(client, t, set, Points(2))));
                calls.Add(($"put empty {set}", () => PutAsync(client, t, set, [])));
                calls.Add(($"get {set}", () => GetAsync(client, t, set)));
            }

            foreach (var (what, call) in calls)
            {
                var before = await SeenAsync(t);
                var error = await Assert.ThrowsAsync<SmpcApiException>(call);
                Assert.Equal((HttpStatusCode.NotFound, ProblemTypes.NotFound, $"{who} {what}"), (error.Status, error.Type, $"{who} {what}"));
                Assert.Equal(before, await SeenAsync(t));
            }
        }

        Assert.Equal(SessionPhases.AwaitingPod, (await other.Modeller.GetSessionAsync(other.Tenant, Id)).Phase);
    }

    // 7. The generic payload route

    [Fact]
    public async Task GenericPayloadRoute_RefusesPsiNames()
    {
        var t = await SessionAsync(Spec(size: 2));
        await t.Pods["p1"].AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1));
        await PutAsync(t.Pods["p1"], t, PsiPayloads.PodSet, Points(2));
        await PutAsync(t.Modeller, t, PsiPayloads.Query, Points(2));

        foreach (var client in new[] { t.Modeller, t.Pods["p1"] })
        {
            foreach (var name in new[] { "psi-query", "psi-server-set", "psi-reply", "psi-double-blinded" })
            {
                await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => client.UploadPayloadAsync(t.Tenant, Id, name, new MemoryStream(Points(2))), "reserved");
                await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => client.DownloadPayloadAsync(t.Tenant, Id, name, new MemoryStream()), "reserved");
                await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => client.GetPayloadManifestAsync(t.Tenant, Id, name), "reserved");
            }
        }

        // The stored query is untouched: the pod reads back what the modeller sent.
        Assert.Equal(64, await GetAsync(t.Pods["p1"], t, PsiPayloads.Query));
    }

    // 8. Policy refusals in full runs

    private async Task<PsiFailedException> RefusedRunAsync(PsiRequest spec, PsiPolicy policy, string reason)
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var (outcome, failure, pod) = await scenario.RunAsync(t, spec, policy);
        Assert.Null(outcome);
        Assert.NotNull(failure);
        Assert.Equal(SessionPhases.Failed, failure.Session.Phase);
        Assert.Contains(reason, failure.Message, StringComparison.Ordinal);
        Assert.StartsWith("The pod declined: ", failure.Session.Psi!.FailureReason, StringComparison.Ordinal);
        Assert.Contains(reason, failure.Session.Psi.FailureReason, StringComparison.Ordinal);
        Assert.Equal(SessionPhases.Failed, pod.Phase);
        Assert.Null(failure.Session.Psi.PodCount);
        Assert.False(File.Exists(scenario.OutputCsv));
        return failure;
    }

    [Fact]
    public async Task Policy_AForeignModeller_IsDeclined() =>
        await RefusedRunAsync(PsiScenario.Spec(PsiProtocolNames.Ecdh, PsiModeNames.Intersection), new PsiPolicy { Modellers = ["someone-else"] },
            "modeller m1 may not run PSI against this pod");

    [Fact]
    public async Task Policy_AnOversizedModellerSet_IsDeclined()
    {
        var failure = await RefusedRunAsync(PsiScenario.Spec(PsiProtocolNames.Ecdh, PsiModeNames.Intersection), new PsiPolicy { MaxModellerSetSize = 3 },
            "the modeller's set of 8 records exceeds the pod's maximum of 3");
        Assert.False(failure.Session.Psi!.Accepted);
    }

    [Fact]
    public async Task Policy_ADisallowedMode_IsDeclined() =>
        await RefusedRunAsync(PsiScenario.Spec(PsiProtocolNames.Ecdh, PsiModeNames.Intersection), new PsiPolicy { Modes = [PsiModeNames.Cardinality] },
            "mode intersection is not allowed");

    [Fact]
    public async Task Policy_ACountBelowTheMinimum_IsWithheld_SealedSoTheServiceCannotTell()
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var (outcome, failure, _) = await scenario.RunAsync(t, PsiScenario.Spec(PsiProtocolNames.Ecdh, PsiModeNames.Cardinality), new PsiPolicy { MinCount = 100 });
        Assert.Null(outcome);
        Assert.NotNull(failure);
        Assert.Contains("below the pod's minimum of 100", failure.Message, StringComparison.Ordinal); // the modeller reads it from the sealed count
        var psi = failure.Session.Psi!;
        Assert.True(psi.CountedByPod && psi.DoubleBlindedStored);
        // The service saw a sealed count of the same size as a released one, and the session completes without a count.
        Assert.Equal(SessionPhases.Completed, failure.Session.Phase);
        Assert.Equal(SealedPsiCount.SealedBytes, Convert.FromBase64String(psi.SealedCount!).Length);
        Assert.Null(psi.PodCount);
        Assert.Null(psi.ReportedCount);
        Assert.Null(psi.FailureReason);
        Assert.False(File.Exists(scenario.OutputCsv));
    }

    [Fact]
    public async Task Policy_AMinimumCount_DeclinesRsaBlindCardinality() =>
        await RefusedRunAsync(PsiScenario.Spec(PsiProtocolNames.RsaBlind, PsiModeNames.Cardinality), new PsiPolicy { MinCount = 1 },
            "only ecdh cardinality");

    [Fact]
    public async Task Policy_AnUnknownSource_IsDeclined() =>
        await RefusedRunAsync(PsiScenario.Spec(PsiProtocolNames.Ecdh, PsiModeNames.Intersection) with { Source = "nope" }, new PsiPolicy(),
            "no data source named 'nope'");

    [Fact]
    public async Task Policy_TheDailyLimit_HoldsOverSessions()
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var policy = new PsiPolicy { MaxModellerRecordsPerDay = 10 };
        var spec = PsiScenario.Spec(PsiProtocolNames.Ecdh, PsiModeNames.Cardinality);

        var first = await scenario.RunAsync(t, spec, policy, "daily-1");
        var second = await scenario.RunAsync(t, spec, policy, "daily-2");

        Assert.Null(first.Failure);
        Assert.Equal(4, first.Outcome!.Count); // 7 distinct of 10 records used
        Assert.Null(second.Outcome);
        Assert.NotNull(second.Failure);
        Assert.Equal(SessionPhases.Failed, second.Failure.Session.Phase);
        Assert.Contains("daily limit of 10 modeller records", second.Failure.Session.Psi!.FailureReason, StringComparison.Ordinal);
    }

    // 9. Size limit

    [Fact]
    public async Task Query_DeclaredLargerThanAllowed_IsTooLarge_AndChangesNothing()
    {
        var t = await SessionAsync(Spec(size: 3));
        await t.Pods["p1"].AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1));

        await RefusedAsync(t, HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge, () => PutAsync(t.Modeller, t, PsiPayloads.Query, Points(4)), "at most 96 bytes");
        await RefusedAsync(t, HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge, () => PutAsync(t.Modeller, t, PsiPayloads.Query, [.. Points(3), 0]));
        Assert.True((await PutAsync(t.Modeller, t, PsiPayloads.Query, Points(3))).Psi!.QueryStored);

        await RefusedAsync(t, HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge, () => PutAsync(t.Pods["p1"], t, PsiPayloads.Reply, Points(4)), "at most 96 bytes");
    }

    // 10. Deadline

    [Fact]
    public async Task Deadline_FailsTheSession_NamingWhatItWaitedFor_AndDeletesItsSets()
    {
        var t = await Scenario.TenantAsync(service, ["p1"]);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("d1", "m1", SessionKinds.Psi, ["p1"], Psi: Spec(timeoutSeconds: 30)));
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest("d2", "m1", SessionKinds.Psi, ["p1"], Psi: Spec(timeoutSeconds: 30)));
        await t.Pods["p1"].AcceptPsiAsync(t.Tenant, "d2", new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1));
        await PutAsync(t.Pods["p1"], t, PsiPayloads.PodSet, Points(2), id: "d2");
        Assert.Equal(SessionPhases.AwaitingPod, (await t.Modeller.GetSessionAsync(t.Tenant, "d1")).Phase);
        Assert.NotEqual(0, await ChunkRowsAsync($"{t.Tenant}/d2/"));

        service.Clock.Advance(TimeSpan.FromSeconds(31));

        var d1 = await t.Modeller.GetSessionAsync(t.Tenant, "d1");
        Assert.Equal(SessionPhases.Failed, d1.Phase);
        Assert.Contains("deadline passed while waiting for the pod to accept", d1.Psi!.FailureReason, StringComparison.Ordinal);
        var d2 = await t.Pods["p1"].GetSessionAsync(t.Tenant, "d2");
        Assert.Equal(SessionPhases.Failed, d2.Phase);
        Assert.Contains("waiting for the modeller's query", d2.Psi!.FailureReason, StringComparison.Ordinal);
        Assert.DoesNotContain("pod's encoded set", d2.Psi.FailureReason, StringComparison.Ordinal);
        Assert.Null(d2.Psi.Deadline);

        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Pods["p1"].AcceptPsiAsync(t.Tenant, "d1", new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1)), "deadline", "d1");
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(t.Modeller, t, PsiPayloads.Query, Points(3), id: "d2"), "deadline", "d2");
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => GetAsync(t.Modeller, t, PsiPayloads.PodSet, "d2"), "deleted", "d2");
        Assert.Equal(0, await ChunkRowsAsync($"{t.Tenant}/d2/"));
    }

    private async Task<long> ChunkRowsAsync(string payloadKeyPrefix)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = service.DatabasePath, Mode = SqliteOpenMode.ReadOnly }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM smpc_payload_chunk WHERE substr(payload_key, 1, length($prefix)) = $prefix";
        command.Parameters.AddWithValue("$prefix", payloadKeyPrefix);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
