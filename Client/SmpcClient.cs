using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Signatures;

namespace Smpc.Client;

/// <summary>Typed client of the Smpc REST API (/v1), acting with one API key. Errors surface as <see cref="SmpcApiException"/>.</summary>
public sealed partial class SmpcClient(HttpClient http, string? apiKey = null)
{
    /// <summary>The same service, acting with another API key (the HttpClient is shared).</summary>
    public SmpcClient WithKey(string? otherKey) => new(http, otherKey) { Transfers = Transfers };

    /// <summary>The same client, signing as a modeller with <paramref name="identity"/> (session creation, cancels, federated seals and releases).</summary>
    public SmpcClient WithModellerIdentity(Ed25519KeyPair? identity) => new(http, apiKey) { Transfers = Transfers, ModellerIdentity = identity };

    /// <summary>The modeller's Ed25519 identity key this client signs with (null: it signs nothing, and pods refuse its sessions).</summary>
    public Ed25519KeyPair? ModellerIdentity { get; init; }

    /// <summary>The API key this client acts with (null: anonymous).</summary>
    public string? ApiKey => apiKey;

    /// <summary>The client's activity source; its spans carry trace context into the gateway.</summary>
    public static readonly ActivitySource Activity = new("Smpc.Client");

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>A client span inside the session's trace (W3C traceparent from the session resource), so every party's steps form one trace.</summary>
    public static Activity? StartSessionActivity(string name, SessionResponse session)
    {
        ActivityContext.TryParse(session.TraceParent, null, out var parent);
        var activity = Activity.StartActivity(name, ActivityKind.Internal, parent);
        activity?.SetTag("smpc.session", session.Id);
        return activity;
    }

    public Task<TenantResponse> CreateTenantAsync(CreateTenantRequest request, CancellationToken ct = default) =>
        SendAsync<TenantResponse>(HttpMethod.Post, "v1/tenants", request, ct);

    public Task<TenantResponse> GetTenantAsync(string tenantId, CancellationToken ct = default) =>
        SendAsync<TenantResponse>(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}", null, ct);

    /// <summary>Operator: sets a tenant's request rate per credential.</summary>
    public Task<TenantLimitsRequest> SetTenantLimitsAsync(string tenantId, TenantLimitsRequest limits, CancellationToken ct = default) =>
        SendAsync<TenantLimitsRequest>(HttpMethod.Put, $"v1/tenants/{Escape(tenantId)}/limits", limits, ct);

    public Task<IssuedKeyResponse> IssueAdminKeyAsync(string tenantId, CancellationToken ct = default) =>
        SendAsync<IssuedKeyResponse>(HttpMethod.Post, $"v1/tenants/{Escape(tenantId)}/admin-keys", null, ct);

    public Task<WhoAmIResponse> WhoAmIAsync(CancellationToken ct = default) => SendAsync<WhoAmIResponse>(HttpMethod.Get, "v1/me", null, ct);

    /// <summary>Revokes a key at once, or after <paramref name="after"/> (a rotation's overlap: issue the new key first).</summary>
    public Task<CredentialResponse> RevokeKeyAsync(string tenantId, string keyId, CancellationToken ct = default, TimeSpan? after = null) =>
        SendAsync<CredentialResponse>(HttpMethod.Delete,
            $"v1/tenants/{Escape(tenantId)}/keys/{Escape(keyId)}" + (after is { } a ? $"?afterSeconds={(long)a.TotalSeconds}" : ""), null, ct);

    /// <summary>Tenant admin: issues another API key for a modeller (rotation); shown once.</summary>
    public Task<IssuedKeyResponse> IssueModellerKeyAsync(string tenantId, string modellerId, CancellationToken ct = default) =>
        SendAsync<IssuedKeyResponse>(HttpMethod.Post, $"v1/tenants/{Escape(tenantId)}/modellers/{Escape(modellerId)}/keys", null, ct);

    /// <summary>Tenant admin: what is stored of a key (never its secret).</summary>
    public Task<CredentialResponse> GetKeyAsync(string tenantId, string keyId, CancellationToken ct = default) =>
        SendAsync<CredentialResponse>(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}/keys/{Escape(keyId)}", null, ct);

    public Task<IssuedKeyResponse> IssuePodKeyAsync(string tenantId, string podId, CancellationToken ct = default) =>
        SendAsync<IssuedKeyResponse>(HttpMethod.Post, $"v1/tenants/{Escape(tenantId)}/pods/{Escape(podId)}/keys", null, ct);

    public Task<IReadOnlyList<string>> ListPodSessionsAsync(string tenantId, string podId, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<string>>(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}/pods/{Escape(podId)}/sessions", null, ct);

    /// <summary>Long poll for work: the pod's sessions once the newest differs from <paramref name="newestKnown"/> ("-": none known yet).</summary>
    public Task<IReadOnlyList<string>> WaitForPodSessionsAsync(string tenantId, string podId, string newestKnown, int waitSeconds = 20, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<string>>(HttpMethod.Get,
            $"v1/tenants/{Escape(tenantId)}/pods/{Escape(podId)}/sessions?after={Escape(newestKnown)}&waitSeconds={waitSeconds}", null, ct);

    public Task<MemberResponse> RegisterPodAsync(string tenantId, RegisterPodRequest request, CancellationToken ct = default) =>
        SendAsync<MemberResponse>(HttpMethod.Post, $"v1/tenants/{Escape(tenantId)}/pods", request, ct);

    public Task<MemberResponse> GetPodAsync(string tenantId, string podId, CancellationToken ct = default) =>
        SendAsync<MemberResponse>(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}/pods/{Escape(podId)}", null, ct);

    public Task<MemberResponse> RegisterModellerAsync(string tenantId, RegisterModellerRequest request, CancellationToken ct = default) =>
        SendAsync<MemberResponse>(HttpMethod.Post, $"v1/tenants/{Escape(tenantId)}/modellers", request, ct);

    public Task<MemberResponse> GetModellerAsync(string tenantId, string modellerId, CancellationToken ct = default) =>
        SendAsync<MemberResponse>(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}/modellers/{Escape(modellerId)}", null, ct);

    /// <summary>
    /// Creates a session. With a <see cref="ModellerIdentity"/> the request is signed (docs/protocols/signatures.md) and the
    /// session the service answers with must give the very statement signed, or <see cref="SessionMismatchException"/>.
    /// </summary>
    public async Task<SessionResponse> CreateSessionAsync(string tenantId, CreateSessionRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        // The statement of the modeller's own request: signed when it has an identity, and checked against the service's copy always.
        byte[]? statement = null;
        try
        {
            statement = ModellerStatements.Session(tenantId, request);
        }
        catch (Exception ex) when (ex is Smpc.Protocols.ProtocolException or ArgumentException or FormatException or NullReferenceException)
        {
            // Not a valid statement, so nothing to sign: the service names what is wrong with the request (and no pod would act on it unsigned).
        }

        if (ModellerIdentity is { } identity && statement is not null)
            request = request with { ModellerSignature = Convert.ToBase64String(identity.Sign(statement)) };
        var session = await SendAsync<SessionResponse>(HttpMethod.Post, $"v1/tenants/{Escape(tenantId)}/sessions", request, ct);
        if (statement is not null) RequireSame(statement, session);
        return session;
    }

    /// <summary>
    /// The modeller's own check of a session the service serves against the statement it signed from its own request:
    /// any difference (M, t, the layout, the pods or their order, a PSI or federated spec) is a <see cref="SessionMismatchException"/>.
    /// </summary>
    public static void RequireSame(byte[] signedStatement, SessionResponse session)
    {
        ArgumentNullException.ThrowIfNull(signedStatement);
        ArgumentNullException.ThrowIfNull(session);
        byte[] served;
        try
        {
            served = ModellerStatements.Session(session);
        }
        catch (Exception ex) when (ex is Smpc.Protocols.ProtocolException or ArgumentException or FormatException)
        {
            throw new SessionMismatchException(session, $"the session as the service stores it is not a valid statement ({ex.Message})");
        }

        if (!served.AsSpan().SequenceEqual(signedStatement))
            throw new SessionMismatchException(session, "the service stores other parameters than the modeller asked for and signed");
    }

    /// <summary>
    /// One page of the sessions the caller may see, newest first (admin: all of the tenant's; modeller: its own; pod: those it
    /// is in), narrowed by <paramref name="filter"/>; pass the page's <c>Next</c> as <see cref="SessionListFilter.Cursor"/> for the next page.
    /// </summary>
    public Task<SessionPageResponse> ListSessionsAsync(string tenantId, SessionListFilter? filter = null, CancellationToken ct = default)
    {
        var f = filter ?? new SessionListFilter();
        var query = new List<string> { $"limit={f.Limit}" };
        void Add(string name, string? value)
        {
            if (value is not null) query.Add($"{name}={Escape(value)}");
        }

        static string? Time(DateTimeOffset? t) => t?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        Add("kind", f.Kind);
        Add("phase", f.Phase);
        Add("modeller", f.Modeller);
        Add("pod", f.Pod);
        Add("createdAfter", Time(f.CreatedAfter));
        Add("createdBefore", Time(f.CreatedBefore));
        Add("endedAfter", Time(f.EndedAfter));
        Add("endedBefore", Time(f.EndedBefore));
        Add("cursor", f.Cursor);
        return SendAsync<SessionPageResponse>(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}/sessions?{string.Join('&', query)}", null, ct);
    }

    /// <summary>Every session matching <paramref name="filter"/>, page after page (its cursor is ignored).</summary>
    public async IAsyncEnumerable<SessionSummaryResponse> ListAllSessionsAsync(string tenantId, SessionListFilter? filter = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var f = (filter ?? new SessionListFilter()) with { Cursor = null };
        do
        {
            var page = await ListSessionsAsync(tenantId, f, ct);
            foreach (var s in page.Items) yield return s;
            f = f with { Cursor = page.Next };
        }
        while (f.Cursor is not null);
    }

    /// <summary>Tenant admin or operator: today's usage beside the limits in force.</summary>
    public Task<TenantUsageResponse> GetTenantUsageAsync(string tenantId, CancellationToken ct = default) =>
        SendAsync<TenantUsageResponse>(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}/usage", null, ct);

    /// <summary>Tenant admin: a pod's API keys (revoked too), oldest first.</summary>
    public Task<IReadOnlyList<CredentialResponse>> ListPodKeysAsync(string tenantId, string podId, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<CredentialResponse>>(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}/pods/{Escape(podId)}/keys", null, ct);

    /// <summary>Tenant admin: a modeller's API keys (revoked too), oldest first.</summary>
    public Task<IReadOnlyList<CredentialResponse>> ListModellerKeysAsync(string tenantId, string modellerId, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<CredentialResponse>>(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}/modellers/{Escape(modellerId)}/keys", null, ct);

    /// <summary>Tenant admin: the tenant's admin keys (revoked too), oldest first.</summary>
    public Task<IReadOnlyList<CredentialResponse>> ListAdminKeysAsync(string tenantId, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<CredentialResponse>>(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}/admin-keys", null, ct);

    public Task<SessionResponse> GetSessionAsync(string tenantId, string sessionId, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}/sessions/{Escape(sessionId)}", null, ct);

    /// <summary>Long poll: the session once its version differs from <paramref name="knownVersion"/>, or unchanged after <paramref name="waitSeconds"/>.</summary>
    public Task<SessionResponse> WaitForSessionChangeAsync(string tenantId, string sessionId, int knownVersion, int waitSeconds = 20, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Get,
            $"v1/tenants/{Escape(tenantId)}/sessions/{Escape(sessionId)}?waitForVersion={knownVersion}&waitSeconds={waitSeconds}", null, ct);

    /// <summary>Its modeller or the tenant admin: cancels the session (idempotent); pods stop and later protocol messages are refused.</summary>
    /// <remarks>With a <see cref="ModellerIdentity"/> the cancel is signed, so pods can tell the modeller's cancel from the service's.</remarks>
    public Task<SessionResponse> CancelSessionAsync(string tenantId, string sessionId, string? reason = null, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, $"v1/tenants/{Escape(tenantId)}/sessions/{Escape(sessionId)}/cancel",
            new CancelSessionRequest(reason, ModellerIdentity is { } identity ? Convert.ToBase64String(identity.Sign(ModellerStatements.Cancel(tenantId, sessionId, reason))) : null), ct);

    /// <summary>Streams <paramref name="content"/> to the service as one payload.</summary>
    public async Task<PayloadResponse> UploadPayloadAsync(string tenantId, string sessionId, string name, Stream content, CancellationToken ct = default)
    {
        using var activity = Activity.StartActivity("payload.upload", ActivityKind.Client);
        using var body = new StreamContent(content, 1 << 20);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (content.CanSeek) body.Headers.ContentLength = content.Length - content.Position;
        using var request = Request(HttpMethod.Put, PayloadPath(tenantId, sessionId, name));
        request.Content = body;
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        return await ReadAsync<PayloadResponse>(response, ct);
    }

    /// <summary>Streams a stored payload into <paramref name="destination"/>, resuming after a cut (<see cref="Transfers"/>); returns the byte count.</summary>
    public Task<long> DownloadPayloadAsync(string tenantId, string sessionId, string name, Stream destination, CancellationToken ct = default) =>
        ReceiveAsync("payload.download", PayloadPath(tenantId, sessionId, name), chunk => destination.WriteAsync(chunk, ct).AsTask(), ct);

    public Task<PayloadResponse> GetPayloadManifestAsync(string tenantId, string sessionId, string name, CancellationToken ct = default) =>
        SendAsync<PayloadResponse>(HttpMethod.Get, PayloadPath(tenantId, sessionId, name) + "/manifest", null, ct);

    public Task<SessionResponse> SubmitKeyBundleAsync(string tenantId, string sessionId, byte[] bundle, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, SecAgg(tenantId, sessionId, "key-bundle"), new ProtocolMessage(Convert.ToBase64String(bundle)), ct);

    public async Task<IReadOnlyList<byte[]>> GetKeyBundlesAsync(string tenantId, string sessionId, CancellationToken ct = default) =>
        Decode(await SendAsync<ProtocolMessages>(HttpMethod.Get, SecAgg(tenantId, sessionId, "key-bundles"), null, ct));

    public Task<SessionResponse> SubmitShareEnvelopesAsync(string tenantId, string sessionId, IEnumerable<byte[]> envelopes, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, SecAgg(tenantId, sessionId, "share-envelopes"), new ProtocolMessages([.. envelopes.Select(Convert.ToBase64String)]), ct);

    public async Task<IReadOnlyList<byte[]>> GetShareEnvelopesAsync(string tenantId, string sessionId, CancellationToken ct = default) =>
        Decode(await SendAsync<ProtocolMessages>(HttpMethod.Get, SecAgg(tenantId, sessionId, "share-envelopes"), null, ct));

    /// <summary>
    /// Uploads a masked vector as little-endian 8-byte elements (application/octet-stream), sent again whole after a transient
    /// failure (<see cref="Transfers"/>). With <paramref name="party"/> a retry refused because the first try was stored and the
    /// phase moved on is recognised as done.
    /// </summary>
    public Task<SessionResponse> SubmitMaskedInputAsync(string tenantId, string sessionId, ulong[] masked, CancellationToken ct = default, int? party = null)
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(masked.AsSpan()).ToArray();
        return SendUploadAsync("secagg.masked.upload", tenantId, sessionId, SecAgg(tenantId, sessionId, "masked-input"), () => OctetStream(new ByteArrayContent(bytes)),
            party is { } me ? s => s.Aggregation?.MaskedInputs.Contains(me) == true : null, ct);
    }

    /// <summary>Pod: declines a secure-aggregation session (or reports its own failure) with one of <see cref="Smpc.Protocols.SecureAggregation.DeclineCategories"/>.</summary>
    public Task<SessionResponse> DeclineAggregationAsync(string tenantId, string sessionId, string category, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, SecAgg(tenantId, sessionId, "decline"), new DeclineAggregationRequest(category), ct);

    public async Task<byte[]> GetUnmaskRequestAsync(string tenantId, string sessionId, CancellationToken ct = default) =>
        Convert.FromBase64String((await SendAsync<ProtocolMessage>(HttpMethod.Get, SecAgg(tenantId, sessionId, "unmask-request"), null, ct)).Data);

    public Task<SessionResponse> SubmitUnmaskResponseAsync(string tenantId, string sessionId, byte[] response, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, SecAgg(tenantId, sessionId, "unmask-response"), new ProtocolMessage(Convert.ToBase64String(response)), ct);

    public Task<UnmaskMaterialResponse> GetUnmaskMaterialAsync(string tenantId, string sessionId, CancellationToken ct = default) =>
        SendAsync<UnmaskMaterialResponse>(HttpMethod.Get, SecAgg(tenantId, sessionId, "material"), null, ct);

    /// <summary>The survivors' masked vectors summed mod q, as field elements (a cut download resumes, see <see cref="Transfers"/>).</summary>
    public async Task<ulong[]> GetMaskedSumAsync(string tenantId, string sessionId, CancellationToken ct = default)
    {
        using var bytes = new MemoryStream();
        await ReceiveAsync("secagg.masked_sum.download", SecAgg(tenantId, sessionId, "masked-sum"), chunk => bytes.WriteAsync(chunk, ct).AsTask(), ct);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(bytes.GetBuffer().AsSpan(0, (int)bytes.Length)).ToArray();
    }

    public Task<SessionResponse> CompleteAggregationAsync(string tenantId, string sessionId, IReadOnlyList<int> includedParties, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, SecAgg(tenantId, sessionId, "complete"), new CompleteAggregationRequest(includedParties), ct);

    public Task<SessionResponse> AcceptPsiAsync(string tenantId, string sessionId, PsiAcceptRequest accept, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, Psi(tenantId, sessionId, "accept"), accept, ct);

    public Task<SessionResponse> DeclinePsiAsync(string tenantId, string sessionId, string reason, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, Psi(tenantId, sessionId, "decline"), new PsiDeclineRequest(reason), ct);

    public Task<SessionResponse> ReportPsiCountAsync(string tenantId, string sessionId, long count, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, Psi(tenantId, sessionId, "count"), new PsiCountRequest(count), ct);

    /// <summary>Pod, pod-counted ecdh cardinality: its count sealed to the modeller's count key (SealedPsiCount).</summary>
    public Task<SessionResponse> ReportSealedPsiCountAsync(string tenantId, string sessionId, byte[] sealedCount, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, Psi(tenantId, sessionId, "count"), new PsiCountRequest(null, Convert.ToBase64String(sealedCount)), ct);

    public Task<SessionResponse> CompletePsiAsync(string tenantId, string sessionId, long? count, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, Psi(tenantId, sessionId, "complete"), new PsiCountRequest(count), ct);

    /// <summary>
    /// Uploads a PSI set (see <see cref="PsiPayloads"/>) written by <paramref name="write"/>; <paramref name="length"/> when known
    /// (0: an empty set). The writer runs once, into a spool, so a cut upload is sent again with the same bytes.
    /// </summary>
    public async Task<SessionResponse> UploadPsiSetAsync(string tenantId, string sessionId, string set, Func<Stream, Task> write, long? length = null, CancellationToken ct = default)
    {
        await using var spool = await SpoolAsync(write, length, ct);
        return await UploadPsiSetAsync(tenantId, sessionId, set, spool, ct);
    }

    /// <summary>
    /// Uploads a PSI set from <paramref name="content"/> (seekable; from its position to its end), sent again from that position
    /// after a transient failure (<see cref="Transfers"/>). A retry refused because the first try was stored and the session
    /// moved on (its answer was lost) is recognised as done from the session's state.
    /// </summary>
    public Task<SessionResponse> UploadPsiSetAsync(string tenantId, string sessionId, string set, Stream content, CancellationToken ct = default)
    {
        if (!content.CanSeek) throw new ArgumentException("A PSI set is uploaded from a seekable stream, so a retry can send it again.", nameof(content));
        var start = content.Position;
        var length = content.Length - start;
        Func<SessionResponse, bool> stored = set switch
        {
            PsiPayloads.PodSet => s => s.Psi?.PodSetStored == true || s.Psi?.PodSetSize is not null,
            PsiPayloads.Query => s => s.Psi?.QueryStored == true,
            PsiPayloads.Reply => s => s.Psi?.ReplyStored == true,
            _ => s => s.Psi?.DoubleBlindedStored == true,
        };
        return SendUploadAsync($"psi.{set}.upload", tenantId, sessionId, Psi(tenantId, sessionId, set), () => new PushContent(async stream =>
        {
            content.Position = start;
            await content.CopyToAsync(stream, 1 << 20, ct);
        }, length), stored, ct);
    }

    /// <summary>
    /// Downloads a PSI set, handing it over in batches of whole <paramref name="elementBytes"/>-byte elements (at most
    /// <paramref name="batchElements"/>), each element exactly once even when a cut download resumes (<see cref="Transfers"/>);
    /// returns the element count.
    /// </summary>
    public async Task<long> ReadPsiSetAsync(
        string tenantId, string sessionId, string set, int elementBytes, int batchElements, Func<byte[], Task> onBatch, CancellationToken ct = default)
    {
        var buffer = new byte[elementBytes * batchElements];
        var filled = 0;
        var bytes = await ReceiveAsync($"psi.{set}.download", Psi(tenantId, sessionId, set), async chunk =>
        {
            while (!chunk.IsEmpty)
            {
                var take = Math.Min(chunk.Length, buffer.Length - filled);
                chunk[..take].CopyTo(buffer.AsMemory(filled));
                filled += take;
                chunk = chunk[take..];
                if (filled < buffer.Length) continue;
                await onBatch(buffer.ToArray());
                filled = 0;
            }
        }, ct);
        if (filled % elementBytes != 0) throw new InvalidDataException($"The {set} ends mid-element ({filled % elementBytes} stray bytes).");
        if (filled > 0) await onBatch(buffer[..filled]);
        return bytes / elementBytes;
    }

    /// <summary>Pod: publishes its signed member key for a federated session.</summary>
    public Task<SessionResponse> PutMemberKeyAsync(string tenantId, string sessionId, string podId, MemberKeyRequest key, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Put, Federated(tenantId, sessionId, $"member-keys/{Escape(podId)}"), key, ct);

    /// <summary>Modeller: the content key sealed to every pod.</summary>
    public Task<SessionResponse> PutSealedKeysAsync(string tenantId, string sessionId, IReadOnlyDictionary<string, byte[]> boxes, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Put, Federated(tenantId, sessionId, "sealed-keys"),
            new SealedKeysRequest(boxes.ToDictionary(b => b.Key, b => Convert.ToBase64String(b.Value))), ct);

    /// <summary>Modeller: uploads a release (ciphertext) of a federated session, sent again whole after a transient failure (<see cref="Transfers"/>).</summary>
    public Task<SessionResponse> UploadReleaseAsync(string tenantId, string sessionId, string name, byte[] release, CancellationToken ct = default) =>
        SendUploadAsync("federated.release.upload", tenantId, sessionId, Federated(tenantId, sessionId, $"releases/{Escape(name)}"),
            () => OctetStream(new ByteArrayContent(release)), stored: null, ct);

    /// <summary>Downloads a release (ciphertext) of a federated session; a cut download resumes (<see cref="Transfers"/>).</summary>
    public async Task<byte[]> DownloadReleaseAsync(string tenantId, string sessionId, string name, CancellationToken ct = default)
    {
        using var bytes = new MemoryStream();
        await ReceiveAsync("federated.release.download", Federated(tenantId, sessionId, $"releases/{Escape(name)}"), chunk => bytes.WriteAsync(chunk, ct).AsTask(), ct);
        return bytes.ToArray();
    }

    /// <summary>Pod: declines a federated session; it fails with this reason.</summary>
    public Task<SessionResponse> DeclineFederatedAsync(string tenantId, string sessionId, string reason, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, Federated(tenantId, sessionId, "decline"), new DeclineRequest(reason), ct);

    /// <summary>Modeller: publishes one round's metrics.</summary>
    public Task<SessionResponse> ReportRoundMetricsAsync(string tenantId, string sessionId, string round, IReadOnlyDictionary<string, double> values, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, Federated(tenantId, sessionId, "metrics"), new RoundMetricsRequest(round, values), ct);

    /// <summary>Modeller: ends a federated session (a reason makes it fail).</summary>
    public Task<SessionResponse> FinishFederatedAsync(string tenantId, string sessionId, string? failureReason = null, CancellationToken ct = default) =>
        SendAsync<SessionResponse>(HttpMethod.Post, Federated(tenantId, sessionId, "finish"), new FinishFederatedRequest(failureReason), ct);

    private static string Federated(string tenantId, string sessionId, string step) =>
        $"v1/tenants/{Escape(tenantId)}/sessions/{Escape(sessionId)}/federated/{step}";

    private static string Psi(string tenantId, string sessionId, string step) =>
        $"v1/tenants/{Escape(tenantId)}/sessions/{Escape(sessionId)}/psi/{step}";

    /// <summary>A request body produced while it is sent, so a set never has to be held whole.</summary>
    private sealed class PushContent : HttpContent
    {
        private readonly Func<Stream, Task> _write;
        private readonly long? _length;

        public PushContent(Func<Stream, Task> write, long? length)
        {
            _write = write;
            _length = length;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            if (length is { } l) Headers.ContentLength = l;
        }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => _write(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = _length ?? 0;
            return _length is not null;
        }
    }

    private static HttpContent OctetStream(HttpContent content)
    {
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    private static string SecAgg(string tenantId, string sessionId, string step) =>
        $"v1/tenants/{Escape(tenantId)}/sessions/{Escape(sessionId)}/secagg/{step}";

    private static IReadOnlyList<byte[]> Decode(ProtocolMessages messages) => [.. messages.Items.Select(Convert.FromBase64String)];

    /// <summary>Readiness: 200 when the cluster and its storage answer, otherwise an exception.</summary>
    public Task<HealthResponse> GetReadinessAsync(CancellationToken ct = default) =>
        SendAsync<HealthResponse>(HttpMethod.Get, "health/ready", null, ct);

    private static string PayloadPath(string tenantId, string sessionId, string name) =>
        $"v1/tenants/{Escape(tenantId)}/sessions/{Escape(sessionId)}/payloads/{Escape(name)}";

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = Request(method, path);
        if (body is not null) request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        using var response = await http.SendAsync(request, ct);
        return await ReadAsync<T>(response, ct);
    }

    private HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        if (apiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return request;
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken ct)
    {
        await EnsureSuccessAsync(response, ct);
        return (await response.Content.ReadFromJsonAsync<T>(Json, ct))!;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        string? type = null, title = null, detail = null;
        try
        {
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
            type = problem.RootElement.TryGetProperty("type", out var t) ? t.GetString() : null;
            title = problem.RootElement.TryGetProperty("title", out var ti) ? ti.GetString() : null;
            detail = problem.RootElement.TryGetProperty("detail", out var d) ? d.GetString() : null;
        }
        catch (JsonException)
        {
            title = response.ReasonPhrase;
        }

        throw new SmpcApiException(response.StatusCode, type, title, detail);
    }
}
