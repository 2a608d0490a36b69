using System.Net;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;
using Smpc.Client.SecureAggregation;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Federated;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Gateway.Tests.Attacks;

/// <summary>
/// Malformed input on every route that takes a body: broken, too deep and too large JSON, wrong content types, truncated
/// and oversized octet streams, masked-vector elements not below q, PSI elements that are not canonical ristretto255 points
/// or not in (1, n − 1). Each is refused with its status and problem type, and nothing is stored.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class MalformedInputAttackTests(EmbeddedService service)
{
    private const string Json = "application/json";
    private const string OctetStream = "application/octet-stream";

    private static TheoryData<string, string, string> JsonRoutes(string[] variants)
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (method, template) in RouteTable.WithBody(Json))
            foreach (var variant in variants)
                data.Add(method, template, variant);
        return data;
    }

    public static TheoryData<string, string, string> MalformedJson => JsonRoutes(["truncated", "not json", "an array", "trailing garbage", "a string for an object"]);

    public static TheoryData<string, string, string> DeepJson => JsonRoutes(["33 levels", "1000 levels"]);

    public static TheoryData<string, string, string> LargeJson => JsonRoutes(["declared, Expect: 100-continue", "chunked", "declared, body withheld"]);

    public static TheoryData<string, string, string> NotJson => JsonRoutes(["text/plain", "application/x-www-form-urlencoded", "application/xml", "(none)"]);

    public static TheoryData<string, string, string> NotOctets
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (var (method, template) in RouteTable.WithBody(OctetStream))
                foreach (var type in new[] { Json, "text/plain", "multipart/form-data; boundary=x", "(none)" })
                    data.Add(method, template, type);
            return data;
        }
    }

    /// <summary>Sends the attack (as the route's allowed caller) and checks the answer and that the victim is unchanged.</summary>
    /// <remarks>With <paramref name="mayBeCut"/>, the gateway may close the connection while the client is still sending (it
    /// refused the body part-way, and an HTTP/1.1 client can then fail to read the 413): a null answer is accepted, the
    /// victim must still be unchanged.</remarks>
    private async Task RefusedAsync(string method, string template, Func<AttackWorld, Task<Answer?>> send, HttpStatusCode status, string type, bool mayBeCut = false)
    {
        var rule = RouteTable.Rule(method, template);
        var world = await AttackWorld.GetAsync(service);
        var before = await world.SnapshotAsync();

        var answer = await send(world);

        if (answer is null && mayBeCut)
        {
            Assert.Equal(before, await world.SnapshotAsync());
            return;
        }

        Assert.NotNull(answer);
        Expect.Problem(status, type, answer, rule.Key);
        Assert.Equal(before, await world.SnapshotAsync());
        if (rule.Template == "/v1/tenants") Assert.Equal(HttpStatusCode.NotFound, await world.IntruderTenantStatusAsync());
    }

    private static string AllowedKey(AttackWorld world, string method, string template) =>
        RouteTable.InsiderKey(world, RouteTable.AllowedInsider(RouteTable.Rule(method, template)));

    private Task<Answer> SendAsync(AttackWorld world, string method, string template, HttpContent content, bool expectContinue = false) =>
        AttackHttp.SendAsync(service.Http, new HttpMethod(method), RouteTable.Fill(world, template), AllowedKey(world, method, template), content, expectContinue);

    // JSON routes

    [Theory]
    [MemberData(nameof(MalformedJson))]
    public async Task MalformedJson_IsAMalformedRequest(string method, string template, string variant)
    {
        var body = variant switch
        {
            "truncated" => """{"id": "x", "displayName": """,
            "not json" => "hello, gateway",
            "an array" => "[1, 2, 3]",
            "trailing garbage" => """{"id": "x"} }""",
            _ => "\"a string\"",
        };
        await RefusedAsync(method, template, w => Sent(SendAsync(w, method, template, AttackHttp.Text(body, Json))), HttpStatusCode.BadRequest, ProblemTypes.MalformedRequest);
    }

    [Theory]
    [MemberData(nameof(DeepJson))]
    public async Task JsonDeeperThan32Levels_IsAMalformedRequest(string method, string template, string variant)
    {
        // The root object is level 1; an unknown property holding nested arrays takes it to 33 (or 1000) levels.
        var depth = variant == "33 levels" ? 32 : 999;
        var body = "{\"deep\":" + new string('[', depth) + new string(']', depth) + "}";
        await RefusedAsync(method, template, w => Sent(SendAsync(w, method, template, AttackHttp.Text(body, Json))), HttpStatusCode.BadRequest, ProblemTypes.MalformedRequest);
    }

    /// <summary>The control for the depth limit: 32 levels are parsed (and the step is then refused for its phase, changing nothing).</summary>
    [Fact]
    public async Task JsonOfExactly32Levels_IsStillParsed()
    {
        var world = await AttackWorld.GetAsync(service);
        var body = "{\"count\":1,\"deep\":" + new string('[', 31) + new string(']', 31) + "}";
        var before = await world.SnapshotAsync();

        var answer = await AttackHttp.SendAsync(service.Http, HttpMethod.Post, $"v1/tenants/{world.Victim.Tenant}/sessions/{AttackWorld.Psi}/psi/count",
            world.Victim.Key("p1"), AttackHttp.Text(body, Json));

        Expect.Problem(HttpStatusCode.Conflict, ProblemTypes.WrongPhase, answer, "a count with 32 levels of JSON before the pod accepted");
        Assert.Equal(before, await world.SnapshotAsync());
    }

    [Theory]
    [MemberData(nameof(LargeJson))]
    public async Task JsonLargerThan1MiB_IsPayloadTooLarge(string method, string template, string variant)
    {
        var body = Encoding.UTF8.GetBytes("{\"padding\":\"" + new string('a', 1 << 20) + "\"}");
        await RefusedAsync(method, template, w => variant switch
        {
            "declared, Expect: 100-continue" => Sent(SendAsync(w, method, template, AttackHttp.Bytes(body, Json), expectContinue: true)),
            "chunked" => SentOrCut(SendAsync(w, method, template, new UnknownLengthContent(body, Json))),
            _ => AttackHttp.RawAsync(service.Http, method, RouteTable.Fill(w, template), AllowedKey(w, method, template), Json, body.Length, [], endBody: false, TimeSpan.FromSeconds(10)),
        }, HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge, mayBeCut: variant == "chunked");
    }

    /// <summary>
    /// A client that sends a JSON body over the limit at once, with its Content-Length, gets the 413 every time (seen
    /// failing with a broken pipe about one time in twenty while LimitJsonBodies lowered Kestrel's limit before refusing).
    /// </summary>
    [Fact]
    public async Task JsonLargerThan1MiB_SentAtOnce_AlwaysGetsThe413()
    {
        var body = Encoding.UTF8.GetBytes("{\"padding\":\"" + new string('a', 1 << 20) + "\"}");
        var world = await AttackWorld.GetAsync(service);
        for (var round = 0; round < 3; round++)
        {
            foreach (var (method, template) in RouteTable.WithBody(Json))
            {
                var answer = await SendAsync(world, method, template, AttackHttp.Bytes(body, Json));
                Expect.Problem(HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge, answer, $"{method} {template}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(NotJson))]
    public async Task AJsonRoute_WithAnotherContentType_IsUnsupportedMediaType(string method, string template, string contentType)
    {
        var body = """{"id": "x", "displayName": "y"}""";
        await RefusedAsync(method, template, w => Sent(SendAsync(w, method, template, AttackHttp.Text(body, contentType == "(none)" ? null : contentType))),
            HttpStatusCode.UnsupportedMediaType, ProblemTypes.UnsupportedMediaType);
    }

    [Theory]
    [MemberData(nameof(NotOctets))]
    public async Task AnOctetStreamRoute_WithAnotherContentType_IsUnsupportedMediaType(string method, string template, string contentType)
    {
        await RefusedAsync(method, template, w => Sent(SendAsync(w, method, template, AttackHttp.Bytes(new byte[64], contentType == "(none)" ? null : contentType))),
            HttpStatusCode.UnsupportedMediaType, ProblemTypes.UnsupportedMediaType);
    }

    private static async Task<Answer?> Sent(Task<Answer> answer) => await answer;

    /// <summary>The answer, or null when the server closed the connection while the body was still being sent (seen under load).</summary>
    private static async Task<Answer?> SentOrCut(Task<Answer> answer)
    {
        try
        {
            return await answer;
        }
        catch (HttpRequestException ex) when (ex.InnerException is IOException)
        {
            return null;
        }
    }

    /// <summary>A body sent chunked: no Content-Length to refuse it by, so the gateway must cut it off while reading.</summary>
    private sealed class UnknownLengthContent : ByteArrayContent
    {
        public UnknownLengthContent(byte[] body, string contentType) : base(body) => Headers.ContentType = new(contentType);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    // Octet-stream routes in the phase that takes their body

    /// <summary>
    /// A tenant whose sessions each wait for an octet stream: "mi" (secure aggregation, masked input), "pq" (ecdh PSI,
    /// the modeller's 1-element query), "rq" (rsa-blind PSI, 1-element query), "kq" (kkrt PSI, the pod's setup), "fed"
    /// (federated, releases) and "agg" (payloads).
    /// </summary>
    private sealed class Uploads
    {
        private static readonly ConditionalWeakTable<EmbeddedService, Task<Uploads>> All = [];

        public required AttackTenant T { get; init; }

        public required byte[] RsaModulus { get; init; }

        public static Task<Uploads> GetAsync(EmbeddedService service) => All.GetValue(service, BuildAsync);

        private static async Task<Uploads> BuildAsync(EmbeddedService service)
        {
            string[] pods = ["p1", "p2", "p3"];
            var t = await AttackTenant.CreateAsync(service, ["m1"], pods);
            var m1 = t.Client("m1");

            using (var modeller = await ModellerAggregation.CreateAsync(m1, t.Tenant, "mi", "m1", pods, AttackTenant.LongAggregation()))
            {
                var pins = await AggregationSession.PinsAsync(m1, modeller.Session, AggregationSession.EphemeralPins(), default);
                var parties = pods.Select((p, i) => new SecureAggregationParty(AggregationSession.Parameters(modeller.Session), i + 1, t.Identities[p], SystemRandomSource.Instance, pins)).ToList();
                for (var i = 0; i < 3; i++) await t.Client(pods[i]).SubmitKeyBundleAsync(t.Tenant, "mi", parties[i].CreateKeyBundle().ToBytes());
                var bundles = (await t.Client("p1").GetKeyBundlesAsync(t.Tenant, "mi")).Select(b => KeyBundle.Parse(b)).ToList();
                for (var i = 0; i < 3; i++)
                    await t.Client(pods[i]).SubmitShareEnvelopesAsync(t.Tenant, "mi", parties[i].CreateShareEnvelopes(bundles).Select(e => e.ToBytes()));
                foreach (var party in parties) party.Dispose();
            }

            await m1.CreateSessionAsync(t.Tenant, new CreateSessionRequest("pq", "m1", SessionKinds.Psi, ["p1"], Psi: AttackTenant.LongPsi(1)));
            await t.Client("p1").AcceptPsiAsync(t.Tenant, "pq", new PsiAcceptRequest(Version: PsiProtocolNames.EcdhOprfV1));
            await m1.CreateSessionAsync(t.Tenant, new CreateSessionRequest("rq", "m1", SessionKinds.Psi, ["p1"], Psi: AttackTenant.LongPsi(1, PsiProtocolNames.RsaBlind)));
            using var server = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, 2048);
            await t.Client("p1").AcceptPsiAsync(t.Tenant, "rq", new PsiAcceptRequest(Convert.ToBase64String(server.PublicKey.ToBytes())));
            await m1.CreateSessionAsync(t.Tenant, new CreateSessionRequest("kq", "m1", SessionKinds.Psi, ["p1"], Psi: AttackTenant.LongPsi(1, PsiProtocolNames.Kkrt)));
            await t.Client("p1").AcceptPsiAsync(t.Tenant, "kq", new PsiAcceptRequest(Version: PsiProtocolNames.KkrtV1));
            await m1.CreateSessionAsync(t.Tenant, new CreateSessionRequest("fed", "m1", SessionKinds.Query, pods, Query: AttackTenant.LongQuery()));
            foreach (var pod in pods) await t.Client(pod).PutMemberKeyAsync(t.Tenant, "fed", pod, AttackWorld.MemberKey(t, "fed", pod));
            await m1.PutSealedKeysAsync(t.Tenant, "fed", pods.ToDictionary(p => p, _ => new byte[FederatedChannel.SignedContentKeySize]));
            await m1.CreateSessionAsync(t.Tenant, new CreateSessionRequest("agg", "m1", SessionKinds.SecureAggregation, pods, AttackTenant.LongAggregation()));
            return new Uploads { T = t, RsaModulus = server.PublicKey.Modulus };
        }

        /// <summary>Every session's version, phase and stored steps, and whether the probed payload or release exists.</summary>
        public async Task<string> SeenAsync(EmbeddedService service, string name)
        {
            var m1 = T.Client("m1");
            var text = new StringBuilder();
            foreach (var id in new[] { "mi", "pq", "rq", "kq", "fed", "agg" })
            {
                var s = await m1.GetSessionAsync(T.Tenant, id);
                text.Append($"{id}: v{s.Version} {s.Phase}");
                if (s.Aggregation is { } a) text.Append($" masked [{string.Join(",", a.MaskedInputs)}]");
                if (s.Psi is { } p) text.Append($" pod-set {p.PodSetStored} query {p.QueryStored} reply {p.ReplyStored} set {p.PodSetSize}");
                if (s.Federated is { } f) text.Append($" releases [{string.Join(",", f.Broadcasts)}]");
                text.AppendLine();
            }

            var payload = await AttackHttp.SendAsync(service.Http, HttpMethod.Get, $"v1/tenants/{T.Tenant}/sessions/agg/payloads/{name}/manifest", T.Key("m1"));
            var release = await AttackHttp.SendAsync(service.Http, HttpMethod.Get, $"v1/tenants/{T.Tenant}/sessions/fed/federated/releases/{name}", T.Key("p1"));
            text.AppendLine($"payload {name}: {(int)payload.Status}; release {name}: {(int)release.Status}");
            return text.ToString();
        }

        /// <summary>The upload request of a route: path and the caller that may send it.</summary>
        public (string Method, string Path, string Key, long Expected) Target(string route, string name) => route switch
        {
            "masked input" => ("PUT", $"v1/tenants/{T.Tenant}/sessions/mi/secagg/masked-input", T.Key("p1"), 24),
            "ecdh query" => ("PUT", $"v1/tenants/{T.Tenant}/sessions/pq/psi/query", T.Key("m1"), 32),
            "rsa query" => ("PUT", $"v1/tenants/{T.Tenant}/sessions/rq/psi/query", T.Key("m1"), 256),
            "kkrt setup" => ("PUT", $"v1/tenants/{T.Tenant}/sessions/kq/psi/pod-set", T.Key("p1"), Smpc.Protocols.PrivateSetIntersection.Kkrt.KkrtParameters.SetupBytes),
            "release" => ("PUT", $"v1/tenants/{T.Tenant}/sessions/fed/federated/releases/{name}", T.Key("m1"), 64),
            _ => ("PUT", $"v1/tenants/{T.Tenant}/sessions/agg/payloads/{name}", T.Key("m1"), 64),
        };
    }

    private static readonly string[] UploadRoutes = ["masked input", "ecdh query", "rsa query", "kkrt setup", "release", "payload"];

    public static TheoryData<string, string> Truncations
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var route in UploadRoutes)
                foreach (var cut in new[] { "no body", "half the body" })
                    data.Add(route, cut);
            data.Add("release", "after a full 1 MiB chunk");
            data.Add("payload", "after a full 1 MiB chunk");
            return data;
        }
    }

    public static TheoryData<string, string> Oversized
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var route in UploadRoutes) data.Add(route, "1 TiB declared, body withheld");
            foreach (var route in new[] { "masked input", "ecdh query", "rsa query", "kkrt setup" }) data.Add(route, "1 MiB declared and sent");
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Truncations))]
    public async Task ATruncatedOctetStream_FailsAndStoresNothing(string route, string cut)
    {
        var uploads = await Uploads.GetAsync(service);
        var name = "cut-" + Guid.NewGuid().ToString("N")[..8];
        var (method, path, key, expected) = uploads.Target(route, name);
        var (declared, sent) = cut switch
        {
            "no body" => (expected, 0),
            "half the body" => (expected, (int)expected / 2),
            _ => (3L << 20, (1 << 20) + 10),
        };
        var before = await uploads.SeenAsync(service, name);

        var logged = service.Logs.Lines.Count;

        var answer = await AttackHttp.RawAsync(service.Http, method, path, key, OctetStream, declared, new byte[sent], endBody: true, TimeSpan.FromSeconds(10));

        // A client that ends its body early (here by closing its side of the connection) has hung up. Kestrel ends the
        // request either as a hang-up (499, no answer) or as a body that ended early (400 malformed-request, written to a
        // connection the client is closing), whichever it notices first; either way it logs no error and commits nothing.
        if (answer is not null) Expect.Problem(HttpStatusCode.BadRequest, ProblemTypes.MalformedRequest, answer, $"{route} cut off at {sent} of {declared} bytes");
        var finished = await LoggedAsync(logged, line => line.Contains("Request finished", StringComparison.Ordinal) && line.Contains(path, StringComparison.Ordinal));
        Assert.True(finished.Contains(" - 499 - ", StringComparison.Ordinal) || finished.Contains(" - 400 - application/problem+json", StringComparison.Ordinal), finished);
        Assert.DoesNotContain(service.Logs.Lines.Skip(logged), line => line.StartsWith("Error", StringComparison.Ordinal) || line.StartsWith("Critical", StringComparison.Ordinal));
        Assert.Equal(before, await uploads.SeenAsync(service, name));
    }

    /// <summary>
    /// The first line logged since <paramref name="from"/> that matches (log lines of a request arrive just after its
    /// connection closes, with no event to wait on); the bound only keeps a gateway that never logs from hanging the suite.
    /// </summary>
    private async Task<string> LoggedAsync(int from, Func<string, bool> match)
    {
        for (var i = 0; i < 1200; i++)
        {
            if (service.Logs.Lines.Skip(from).FirstOrDefault(match) is { } line) return line;
            await Task.Delay(50);
        }

        throw new Xunit.Sdk.XunitException("The gateway logged no end of the request.");
    }

    [Theory]
    [MemberData(nameof(Oversized))]
    public async Task AnOversizedOctetStream_IsPayloadTooLarge_BeforeItsBodyIsRead(string route, string variant)
    {
        var uploads = await Uploads.GetAsync(service);
        var name = "big-" + Guid.NewGuid().ToString("N")[..8];
        var (method, path, key, _) = uploads.Target(route, name);
        var before = await uploads.SeenAsync(service, name);

        // 1 TiB declared, nothing sent: an answer within seconds shows the gateway refused it without reading. Or a whole
        // 1 MiB body sent at once: the refusal must still reach the client (the gateway drains what it did not read).
        var answer = variant == "1 TiB declared, body withheld"
            ? await AttackHttp.RawAsync(service.Http, method, path, key, OctetStream, 1L << 40, [], endBody: false, TimeSpan.FromSeconds(10))
            : await AttackHttp.SendAsync(service.Http, new HttpMethod(method), path, key, AttackHttp.Bytes(new byte[1 << 20]));

        Assert.NotNull(answer);
        Expect.Problem(HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge, answer, route);
        Assert.Equal(before, await uploads.SeenAsync(service, name));
    }

    [Theory]
    [InlineData((1UL << 61) - 1, 0)] // q itself
    [InlineData((1UL << 61) - 1, 2)]
    [InlineData(1UL << 61, 1)]
    [InlineData(1UL << 62, 0)]
    [InlineData(1UL << 63, 2)]
    [InlineData(ulong.MaxValue, 1)]
    public async Task AMaskedVectorElementAtLeastQ_IsAValidationProblem(ulong element, int position)
    {
        var uploads = await Uploads.GetAsync(service);
        ulong[] vector = [1, 2, 3];
        vector[position] = element;
        var before = await uploads.SeenAsync(service, "none");

        var error = await Expect.ProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation,
            () => uploads.T.Client("p1").SubmitMaskedInputAsync(uploads.T.Tenant, "mi", vector));

        Assert.Contains("non-canonical", error.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await uploads.SeenAsync(service, "none"));
    }

    /// <summary>Field prime of curve25519, little-endian: 2^255 − 19.</summary>
    private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;

    private static byte[] Le32(BigInteger value)
    {
        var bytes = new byte[32];
        value.TryWriteBytes(bytes, out _, isUnsigned: true, isBigEndian: false);
        return bytes;
    }

    [Theory]
    [InlineData("the identity (all zero)")]
    [InlineData("a negative field element (s = 1)")]
    [InlineData("s = p, a non-canonical encoding of 0")]
    [InlineData("s = p + 2, a non-canonical encoding of 2")]
    [InlineData("the top bit set on a valid point")]
    [InlineData("all bits set")]
    [InlineData("a non-negative s off the curve")]
    public async Task AnEcdhQueryElementThatIsNotACanonicalRistrettoPoint_IsAValidationProblem(string element)
    {
        var uploads = await Uploads.GetAsync(service);
        var bytes = element switch
        {
            "the identity (all zero)" => new byte[32],
            "a negative field element (s = 1)" => Le32(1),
            "s = p, a non-canonical encoding of 0" => Le32(P),
            "s = p + 2, a non-canonical encoding of 2" => Le32(P + 2),
            "the top bit set on a valid point" => TopBitSet(),
            "all bits set" => Enumerable.Repeat((byte)0xFF, 32).ToArray(),
            _ => OffTheCurve(),
        };
        Assert.False(Ristretto255.IsValid(bytes), "the test element must be invalid");

        await PsiElementRefusedAsync(uploads, "pq", bytes);

        static byte[] TopBitSet()
        {
            var point = ReplayAttackTests.Points(1);
            point[31] |= 0x80;
            return point;
        }

        static byte[] OffTheCurve()
        {
            for (var s = 2; ; s += 2)
                if (!Ristretto255.IsValid(Le32(s))) return Le32(s);
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("n − 1")]
    [InlineData("n")]
    [InlineData("n + 1")]
    [InlineData("2^2048 − 1")]
    public async Task AnRsaQueryElementOutsideOneToNMinusOne_IsAValidationProblem(string element)
    {
        var uploads = await Uploads.GetAsync(service);
        var n = new BigInteger(uploads.RsaModulus, isUnsigned: true, isBigEndian: true);
        var value = element switch
        {
            "0" => BigInteger.Zero,
            "1" => BigInteger.One,
            "n − 1" => n - 1,
            "n" => n,
            "n + 1" => n + 1,
            _ => BigInteger.Pow(2, 2048) - 1,
        };
        var bytes = new byte[256];
        value.TryWriteBytes(bytes.AsSpan(256 - value.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        Assert.False(RsaHashes.IsValidElement(bytes, uploads.RsaModulus), "the test element must be invalid");

        await PsiElementRefusedAsync(uploads, "rq", bytes);
    }

    private async Task PsiElementRefusedAsync(Uploads uploads, string session, byte[] element)
    {
        var before = await uploads.SeenAsync(service, "none");

        var error = await Expect.ProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation, () => uploads.T.Client("m1").UploadPsiSetAsync(
            uploads.T.Tenant, session, PsiPayloads.Query, stream => stream.WriteAsync(element).AsTask(), element.Length));

        Assert.Contains("Element 0", error.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await uploads.SeenAsync(service, "none"));
    }
}
