using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Smpc.Client;
using Smpc.Contracts;
using Smpc.Gateway.Tests.Audit;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Gateway.Tests.Psi;

/// <summary>
/// The service relays kkrt-v1 sessions (docs/protocols/psi.md, "Through the service") over real HTTP, the parties' messages
/// as opaque bytes of the right sizes: setup → query → reply → answered, exact sizes, order, parties, tenants, replays,
/// deadlines naming the kkrt step, and the payloads deleted when the session ends. Every refusal leaves the session as it was.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class KkrtRelayTests(EmbeddedService service)
{
    private const string Id = "k";
    private const string V = PsiProtocolNames.KkrtV1;

    /// <summary>Everything of a session a message could change.</summary>
    private sealed record Seen(
        int Version, string Phase, bool Accepted, bool CountedByPod, bool PodSetStored, long? PodSetSize, bool QueryStored, bool ReplyStored,
        bool DoubleBlindedStored, long? ReportedCount, string? FailureReason);

    private static Seen Of(SessionResponse s) => new(
        s.Version, s.Phase, s.Psi!.Accepted, s.Psi.CountedByPod, s.Psi.PodSetStored, s.Psi.PodSetSize, s.Psi.QueryStored, s.Psi.ReplyStored,
        s.Psi.DoubleBlindedStored, s.Psi.ReportedCount, s.Psi.FailureReason);

    private static async Task<Seen> SeenAsync(TenantClients t, string id = Id) => Of(await t.Modeller.GetSessionAsync(t.Tenant, id));

    private static PsiRequest Spec(long size = 1000, string mode = PsiModeNames.Intersection, int timeoutSeconds = 600) =>
        new(mode, PsiScenario.ModellerColumns, PsiScenario.PodColumns, "customers", size, PsiProtocolNames.Kkrt, null, timeoutSeconds, V);

    private async Task<TenantClients> SessionAsync(PsiRequest spec, string[]? pods = null, string id = Id, TenantClients? tenant = null)
    {
        var t = tenant ?? await Scenario.TenantAsync(service, pods ?? ["p1"]);
        await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(id, "m1", SessionKinds.Psi, ["p1"], Psi: spec));
        return t;
    }

    private static Task<SessionResponse> AcceptAsync(TenantClients t, string id = Id) =>
        t.Pods["p1"].AcceptPsiAsync(t.Tenant, id, new PsiAcceptRequest(Version: V));

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

    private static Task<SessionResponse> PutAsync(SmpcClient client, TenantClients t, string set, byte[] body, string id = Id) =>
        client.UploadPsiSetAsync(t.Tenant, id, set, stream => stream.WriteAsync(body).AsTask(), body.Length);

    private static async Task<byte[]> GetAsync(SmpcClient client, TenantClients t, string set, string id = Id)
    {
        var received = new MemoryStream();
        await client.ReadPsiSetAsync(t.Tenant, id, set, 1, 1 << 16, batch => received.WriteAsync(batch).AsTask());
        return received.ToArray();
    }

    /// <summary>A PUT of a set as plain HTTP: the status and problem type, without the client's retry recognition.</summary>
    private async Task<(HttpStatusCode, string?)> RawPutAsync(SmpcClient client, TenantClients t, string set, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"v1/tenants/{t.Tenant}/sessions/{Id}/psi/{set}") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", client.ApiKey);
        using var response = await service.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonDocument.Parse(text).RootElement.TryGetProperty("type", out var type) ? type.GetString() : null);
    }

    private static byte[] Setup() => RandomNumberGenerator.GetBytes(KkrtParameters.SetupBytes);

    private static byte[] Query(long n) => RandomNumberGenerator.GetBytes((int)KkrtParameters.QueryBytes(n));

    private static byte[] Reply(long n, int podRecords) => RandomNumberGenerator.GetBytes(3 * podRecords * KkrtParameters.TagBytes(n));

    // 1. Create and accept

    [Fact]
    public async Task Create_NeedsVersionKkrtV1_AndNoKeyBitsOrCountKey()
    {
        var t = await Scenario.TenantAsync(service, ["p1"]);
        Task Create(PsiRequest spec) => t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(Id, "m1", SessionKinds.Psi, ["p1"], Psi: spec));

        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.UnsupportedProtocolVersion, () => Create(Spec() with { Version = null }), "kkrt-v1");
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.UnsupportedProtocolVersion, () => Create(Spec() with { Version = PsiProtocolNames.EcdhOprfV1 }), "kkrt-v1");
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.UnsupportedProtocolVersion, () => Create(Spec() with { Version = "kkrt-v2" }), "kkrt-v1");
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => Create(Spec() with { KeyBits = 2048 }), "keyBits");
        await ExpectAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => Create(Spec(mode: PsiModeNames.Cardinality) with { CountKey = PsiScenario.CountKey }), "countKey");
        await ExpectAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound, () => t.Modeller.GetSessionAsync(t.Tenant, Id));

        await Create(Spec(mode: PsiModeNames.Cardinality));
        var created = await t.Modeller.GetSessionAsync(t.Tenant, Id);
        Assert.Equal((PsiProtocolNames.Kkrt, V, PsiModeNames.Cardinality, (int?)null), (created.Psi!.Protocol, created.Psi.Version, created.Psi.Mode, created.Psi.KeyBits));
        Assert.Equal(created.Version, (await t.Modeller.CreateSessionAsync(t.Tenant, new CreateSessionRequest(Id, "m1", SessionKinds.Psi, ["p1"], Psi: Spec(mode: PsiModeNames.Cardinality)))).Version);
        await ExpectAsync(HttpStatusCode.Conflict, ProblemTypes.Conflict, () => Create(Spec(size: 999, mode: PsiModeNames.Cardinality)));
    }

    [Fact]
    public async Task Accept_NeedsTheVersion_NoKey_AndIsNeverPodCounted()
    {
        var t = await SessionAsync(Spec(mode: PsiModeNames.Cardinality));
        var pod = t.Pods["p1"];

        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.UnsupportedProtocolVersion, () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest()), "kkrt-v1");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.UnsupportedProtocolVersion,
            () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1)), "kkrt-v1");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Convert.ToBase64String(new byte[40]), Version: V)), "no public key");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(CountedByPod: true, Version: V)), "counted by the pod");
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => t.Modeller.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Version: V)));
        Assert.Equal(SessionPhases.AwaitingPod, (await SeenAsync(t)).Phase);

        var accepted = await AcceptAsync(t);
        Assert.Equal(SessionPhases.Exchange, accepted.Phase);
        Assert.False(accepted.Psi!.PodSetStored || accepted.Psi.QueryStored || accepted.Psi.ReplyStored || accepted.Psi.CountedByPod);
        Assert.Equal(Of(accepted), Of(await AcceptAsync(t)));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.Conflict, () => pod.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(CountedByPod: true, Version: V)));
    }

    // 2. The relay

    [Fact]
    public async Task Relay_SetupQueryReply_ReachTheirReceiversByteForByte_AndEndDeletesThem()
    {
        using var metrics = new PsiMeasurements();
        var t = await SessionAsync(Spec(size: 1000));
        var pod = t.Pods["p1"];
        await AcceptAsync(t);
        var setup = Setup();
        var query = Query(1000);
        var reply = Reply(1000, 777);

        var afterSetup = await PutAsync(pod, t, PsiPayloads.PodSet, setup);
        Assert.True(afterSetup.Psi!.PodSetStored);
        Assert.Null(afterSetup.Psi.PodSetSize); // the pod's set size travels with the reply
        Assert.Equal(setup, await GetAsync(t.Modeller, t, PsiPayloads.PodSet));

        var afterQuery = await PutAsync(t.Modeller, t, PsiPayloads.Query, query);
        Assert.Equal((SessionPhases.Exchange, true), (afterQuery.Phase, afterQuery.Psi!.QueryStored));
        Assert.Equal(query, await GetAsync(pod, t, PsiPayloads.Query));

        var answered = await PutAsync(pod, t, PsiPayloads.Reply, reply);
        Assert.Equal((SessionPhases.Answered, (long?)777, true), (answered.Phase, answered.Psi!.PodSetSize, answered.Psi.ReplyStored));
        Assert.Equal(reply, await GetAsync(t.Modeller, t, PsiPayloads.Reply));
        Assert.Equal(setup, await GetAsync(t.Modeller, t, PsiPayloads.PodSet));
        AssertNoPayloadBytes(answered, setup, query, reply);
        Assert.NotEqual(0, await ChunkRowsAsync($"{t.Tenant}/{Id}/"));

        var done = await t.Modeller.CompletePsiAsync(t.Tenant, Id, 500);

        Assert.Equal((SessionPhases.Completed, (long?)500, (long?)777), (done.Phase, done.Psi!.ReportedCount, done.Psi.PodSetSize));
        Assert.Equal(0, await ChunkRowsAsync($"{t.Tenant}/{Id}/"));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => GetAsync(t.Modeller, t, PsiPayloads.Reply), "deleted");
        var audit = await AuditReading.AllAsync(t.Admin, t.Tenant, new AuditFilter(Session: Id));
        Assert.Contains(audit, e => e.Type == AuditEventTypes.SessionJoined && e.Detail!.Contains("(kkrt)", StringComparison.Ordinal));
        Assert.Contains(audit, e => e.Type == AuditEventTypes.PsiCountReported);
        Assert.Contains(audit, e => e.Type == AuditEventTypes.SessionCompleted);
        var trace = ActivityContext.Parse(done.TraceParent!, null).TraceId;
        var stores = service.SnapshotSpans().Where(a => a.TraceId == trace && a.OperationName.EndsWith(".store", StringComparison.Ordinal))
            .Select(a => (a.OperationName, a.GetTagItem("smpc.psi.protocol"), a.GetTagItem("smpc.psi.elements"))).ToList();
        Assert.Contains(("psi.pod_set.store", (object?)PsiProtocolNames.Kkrt, (object?)(long)KkrtParameters.BaseOts), stores);
        Assert.Contains(("psi.query.store", (object?)PsiProtocolNames.Kkrt, (object?)KkrtParameters.Bins(1000)), stores);
        Assert.Contains(("psi.reply.store", (object?)PsiProtocolNames.Kkrt, (object?)777L), stores);
        var measured = metrics.Snapshot();
        Assert.Contains(("smpc.psi.elements", "pod set", (long)KkrtParameters.BaseOts), measured);
        Assert.Contains(("smpc.psi.elements", "query", KkrtParameters.Bins(1000)), measured);
        Assert.Contains(("smpc.psi.elements", "reply", 777L), measured);
        Assert.Contains(("smpc.psi.bytes", "pod set", (long)setup.Length), measured);
        Assert.Contains(("smpc.psi.bytes", "query", (long)query.Length), measured);
        Assert.Contains(("smpc.psi.bytes", "reply", (long)reply.Length), measured);
    }

    /// <summary>The PSI counters' kkrt measurements while it lives: (instrument, payload, value).</summary>
    private sealed class PsiMeasurements : IDisposable
    {
        private readonly MeterListener listener = new();
        private readonly List<(string, string, long)> seen = [];

        public PsiMeasurements()
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Smpc" && instrument.Name is "smpc.psi.elements" or "smpc.psi.bytes") l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                string? payload = null, protocol = null;
                foreach (var tag in tags)
                {
                    if (tag.Key == "smpc.psi.payload") payload = tag.Value as string;
                    if (tag.Key == "smpc.psi.protocol") protocol = tag.Value as string;
                }

                if (protocol == PsiProtocolNames.Kkrt && payload is not null)
                    lock (seen) seen.Add((instrument.Name, payload, value));
            });
            listener.Start();
        }

        public List<(string, string, long)> Snapshot()
        {
            lock (seen) return [.. seen];
        }

        public void Dispose() => listener.Dispose();
    }

    [Fact]
    public async Task AnEmptyModellerSet_StillSendsAQueryOf256Rows_AndAnEmptyPodSetAnEmptyReply()
    {
        var t = await SessionAsync(Spec(size: 0));
        var pod = t.Pods["p1"];
        var accepted = await AcceptAsync(t);
        Assert.False(accepted.Psi!.QueryStored || accepted.Psi.ReplyStored); // no empty-set shortcut for kkrt
        await PutAsync(pod, t, PsiPayloads.PodSet, Setup());
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, []), "fixed size");
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(pod, t, PsiPayloads.Reply, []), "query");
        var query = Query(0);
        Assert.Equal(16_400 + (64 * 256), query.Length);
        await PutAsync(t.Modeller, t, PsiPayloads.Query, query);
        Assert.Equal(query, await GetAsync(pod, t, PsiPayloads.Query));

        var answered = await PutAsync(pod, t, PsiPayloads.Reply, []);

        Assert.Equal((SessionPhases.Answered, (long?)0), (answered.Phase, answered.Psi!.PodSetSize));
        Assert.Empty(await GetAsync(t.Modeller, t, PsiPayloads.Reply));
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => t.Modeller.CompletePsiAsync(t.Tenant, Id, 1), "distinct records");
        Assert.Equal(SessionPhases.Completed, (await t.Modeller.CompletePsiAsync(t.Tenant, Id, 0)).Phase);
    }

    // 3. Sizes

    [Fact]
    public async Task WrongSizes_AreRefused_400Or413_AndChangeNothing()
    {
        var t = await SessionAsync(Spec(size: 10));
        var pod = t.Pods["p1"];
        await AcceptAsync(t);
        var setup = Setup();

        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(pod, t, PsiPayloads.PodSet, setup[..^1]));
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(pod, t, PsiPayloads.PodSet, setup[..^16]));
        await RefusedAsync(t, HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge, () => PutAsync(pod, t, PsiPayloads.PodSet, [.. setup, 0]), "32784");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(pod, t, PsiPayloads.PodSet, []), "fixed size");
        await PutAsync(pod, t, PsiPayloads.PodSet, setup);

        var query = Query(10);
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, query[..^64]));
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(t.Modeller, t, PsiPayloads.Query, query[..^1]));
        await RefusedAsync(t, HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge, () => PutAsync(t.Modeller, t, PsiPayloads.Query, Query(11)));
        await RefusedAsync(t, HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge, () => PutAsync(t.Modeller, t, PsiPayloads.Query, [.. query, .. new byte[16]]));
        await PutAsync(t.Modeller, t, PsiPayloads.Query, query);

        var triple = 3 * KkrtParameters.TagBytes(10);
        var reply = Reply(10, 5);
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(pod, t, PsiPayloads.Reply, reply[..^1]), $"{triple}-byte elements");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(pod, t, PsiPayloads.Reply, reply[..(triple / 3)]), $"{triple}-byte elements");
        await RefusedAsync(t, HttpStatusCode.BadRequest, ProblemTypes.Validation, () => PutAsync(pod, t, PsiPayloads.Reply, [.. reply, 7]), $"{triple}-byte elements");

        Assert.Equal((long?)5, (await PutAsync(pod, t, PsiPayloads.Reply, reply)).Psi!.PodSetSize);
    }

    // 4. Order and phase

    [Fact]
    public async Task OutOfOrderSteps_AreWrongPhase_AndChangeNothing()
    {
        var t = await SessionAsync(Spec(size: 3));
        var pod = t.Pods["p1"];

        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(pod, t, PsiPayloads.PodSet, Setup()));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => GetAsync(t.Modeller, t, PsiPayloads.PodSet));
        await AcceptAsync(t);

        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(t.Modeller, t, PsiPayloads.Query, Query(3)), "setup");
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(pod, t, PsiPayloads.Reply, Reply(3, 2)), "query");
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => GetAsync(t.Modeller, t, PsiPayloads.PodSet), "not been stored");
        await PutAsync(pod, t, PsiPayloads.PodSet, Setup());
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(pod, t, PsiPayloads.Reply, Reply(3, 2)), "query");
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => GetAsync(pod, t, PsiPayloads.Query), "not been stored");
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(t.Modeller, t, PsiPayloads.DoubleBlinded, new byte[32]), "double-blinded");
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => pod.ReportPsiCountAsync(t.Tenant, Id, 1), "modeller counts");
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Modeller.CompletePsiAsync(t.Tenant, Id, 0));
        await PutAsync(t.Modeller, t, PsiPayloads.Query, Query(3));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => GetAsync(t.Modeller, t, PsiPayloads.Reply));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => t.Modeller.CompletePsiAsync(t.Tenant, Id, 0));
        await PutAsync(pod, t, PsiPayloads.Reply, Reply(3, 2));

        // Answered: no second query or setup (over raw HTTP: the client takes a 409 for a stored set as its own retry), nor a late decline.
        var before = await SeenAsync(t);
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.WrongPhase), await RawPutAsync(t.Modeller, t, PsiPayloads.Query, Query(3)));
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.WrongPhase), await RawPutAsync(pod, t, PsiPayloads.PodSet, Setup()));
        Assert.Equal(before, await SeenAsync(t));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => pod.DeclinePsiAsync(t.Tenant, Id, "too late"));
        Assert.Equal(SessionPhases.Answered, (await SeenAsync(t)).Phase);
    }

    [Fact]
    public async Task Replays_OfTheSameBytes_AreIdempotent_AndOfOtherBytes_AConflict()
    {
        var t = await SessionAsync(Spec(size: 4));
        var pod = t.Pods["p1"];
        await AcceptAsync(t);
        var setup = Setup();
        var query = Query(4);

        var stored = await PutAsync(pod, t, PsiPayloads.PodSet, setup);
        Assert.Equal(Of(stored), Of(await PutAsync(pod, t, PsiPayloads.PodSet, setup)));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.Conflict, () => PutAsync(pod, t, PsiPayloads.PodSet, Setup()));
        var queried = await PutAsync(t.Modeller, t, PsiPayloads.Query, query);
        Assert.Equal(Of(queried), Of(await PutAsync(t.Modeller, t, PsiPayloads.Query, query)));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.Conflict, () => PutAsync(t.Modeller, t, PsiPayloads.Query, Query(4)));
        Assert.Equal(setup, await GetAsync(t.Modeller, t, PsiPayloads.PodSet));
        Assert.Equal(query, await GetAsync(pod, t, PsiPayloads.Query));
    }

    // 5. Parties and tenants

    [Fact]
    public async Task Sets_SentOrFetchedByTheWrongParty_AreForbidden()
    {
        var t = await SessionAsync(Spec(size: 2));
        var pod = t.Pods["p1"];
        await AcceptAsync(t);
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => PutAsync(t.Modeller, t, PsiPayloads.PodSet, Setup()));
        await PutAsync(pod, t, PsiPayloads.PodSet, Setup());
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => PutAsync(pod, t, PsiPayloads.Query, Query(2)));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => GetAsync(pod, t, PsiPayloads.PodSet));
        await PutAsync(t.Modeller, t, PsiPayloads.Query, Query(2));

        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => PutAsync(t.Modeller, t, PsiPayloads.Reply, Reply(2, 1)));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => PutAsync(t.Admin, t, PsiPayloads.Reply, Reply(2, 1)));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => GetAsync(t.Modeller, t, PsiPayloads.Query));
        await PutAsync(pod, t, PsiPayloads.Reply, Reply(2, 1));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => GetAsync(pod, t, PsiPayloads.Reply));
        await RefusedAsync(t, HttpStatusCode.Forbidden, ProblemTypes.Forbidden, () => pod.CompletePsiAsync(t.Tenant, Id, 0));
    }

    [Fact]
    public async Task Outsiders_AnotherTenantAndAPodNotInTheSession_SeeNothing()
    {
        var t = await SessionAsync(Spec(size: 2), ["p1", "p2"]);
        await AcceptAsync(t);
        await PutAsync(t.Pods["p1"], t, PsiPayloads.PodSet, Setup());
        await PutAsync(t.Modeller, t, PsiPayloads.Query, Query(2));
        var other = await SessionAsync(Spec(size: 2), ["p1"]); // the same session id in another tenant

        foreach (var (who, client) in new[] { ("other tenant's modeller", other.Modeller), ("other tenant's pod", other.Pods["p1"]), ("p2", t.Pods["p2"]) })
        {
            var calls = new List<(string, Func<Task>)>
            {
                ("get session", () => client.GetSessionAsync(t.Tenant, Id)),
                ("accept", () => client.AcceptPsiAsync(t.Tenant, Id, new PsiAcceptRequest(Version: V))),
                ("decline", () => client.DeclinePsiAsync(t.Tenant, Id, "no")),
                ("complete", () => client.CompletePsiAsync(t.Tenant, Id, null)),
                ("put pod-set", () => PutAsync(client, t, PsiPayloads.PodSet, Setup())),
                ("put query", () => PutAsync(client, t, PsiPayloads.Query, Query(2))),
                ("put reply", () => PutAsync(client, t, PsiPayloads.Reply, Reply(2, 1))),
                ("get pod-set", () => GetAsync(client, t, PsiPayloads.PodSet)),
                ("get query", () => GetAsync(client, t, PsiPayloads.Query)),
            };
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

    // 6. Ends: deadline, cancel, decline

    [Fact]
    public async Task Deadline_NamesTheKkrtStep_AndDeletesThePayloads()
    {
        var t = await Scenario.TenantAsync(service, ["p1"]);
        foreach (var id in new[] { "kd1", "kd2", "kd3" })
        {
            await SessionAsync(Spec(size: 2, timeoutSeconds: 30), id: id, tenant: t);
            await AcceptAsync(t, id);
        }

        await PutAsync(t.Pods["p1"], t, PsiPayloads.PodSet, Setup(), "kd2");
        await PutAsync(t.Pods["p1"], t, PsiPayloads.PodSet, Setup(), "kd3");
        await PutAsync(t.Modeller, t, PsiPayloads.Query, Query(2), "kd3");
        Assert.NotEqual(0, await ChunkRowsAsync($"{t.Tenant}/kd3/"));

        service.Clock.Advance(TimeSpan.FromSeconds(31));

        Assert.Equal("The session's deadline passed while waiting for the pod's setup, the modeller's query.", (await SeenAsync(t, "kd1")).FailureReason);
        Assert.Equal("The session's deadline passed while waiting for the modeller's query.", (await SeenAsync(t, "kd2")).FailureReason);
        var kd3 = await t.Pods["p1"].GetSessionAsync(t.Tenant, "kd3");
        Assert.Equal((SessionPhases.Failed, "The session's deadline passed while waiting for the pod's reply."), (kd3.Phase, kd3.Psi!.FailureReason));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(t.Pods["p1"], t, PsiPayloads.Reply, Reply(2, 1), "kd3"), "deadline", "kd3");
        Assert.Equal(0, await ChunkRowsAsync($"{t.Tenant}/kd2/"));
        Assert.Equal(0, await ChunkRowsAsync($"{t.Tenant}/kd3/"));
    }

    [Fact]
    public async Task CancelAndDecline_EndTheSession_AndDeleteThePayloads()
    {
        var t = await Scenario.TenantAsync(service, ["p1"]);
        foreach (var id in new[] { "kc", "kx" })
        {
            await SessionAsync(Spec(size: 2), id: id, tenant: t);
            await AcceptAsync(t, id);
            await PutAsync(t.Pods["p1"], t, PsiPayloads.PodSet, Setup(), id);
            await PutAsync(t.Modeller, t, PsiPayloads.Query, Query(2), id);
            Assert.NotEqual(0, await ChunkRowsAsync($"{t.Tenant}/{id}/"));
        }

        var cancelled = await t.Modeller.CancelSessionAsync(t.Tenant, "kc", "changed my mind");
        var declined = await t.Pods["p1"].DeclinePsiAsync(t.Tenant, "kx", "capacity exceeded");

        Assert.Equal(SessionPhases.Cancelled, cancelled.Phase);
        Assert.Equal((SessionPhases.Failed, "The pod declined: capacity exceeded"), (declined.Phase, declined.Psi!.FailureReason));
        Assert.Equal(0, await ChunkRowsAsync($"{t.Tenant}/kc/"));
        Assert.Equal(0, await ChunkRowsAsync($"{t.Tenant}/kx/"));
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => PutAsync(t.Pods["p1"], t, PsiPayloads.Reply, Reply(2, 1), "kc"), id: "kc");
        await RefusedAsync(t, HttpStatusCode.Conflict, ProblemTypes.WrongPhase, () => GetAsync(t.Pods["p1"], t, PsiPayloads.Query, "kx"), "deleted", "kx");
    }

    /// <summary>The status (as JSON) carries sizes and flags only: no window of any payload, in base64 or hex.</summary>
    private static void AssertNoPayloadBytes(SessionResponse status, params byte[][] payloads)
    {
        var json = JsonSerializer.Serialize(status);
        Assert.True(json.Length < 4096, $"a status of {json.Length} characters");
        foreach (var payload in payloads)
        {
            for (var offset = 0; offset < 3; offset++)
            {
                var window = payload.AsSpan(offset, 12);
                Assert.DoesNotContain(Convert.ToBase64String(window)[..12], json, StringComparison.Ordinal);
                Assert.DoesNotContain(Convert.ToHexString(window), json, StringComparison.OrdinalIgnoreCase);
            }
        }
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
