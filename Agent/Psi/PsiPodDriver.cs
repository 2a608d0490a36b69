using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Smpc.Agent.DataSources;
using Smpc.Client;
using Smpc.Client.Identity;
using Smpc.Client.Psi;
using Smpc.Contracts;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;
using Smpc.Protocols.Randomness;

namespace Smpc.Agent.Psi;

/// <summary>
/// The pod's side of one PSI session, run by the pod agent: applies the pod's policy (declining with a reason the modeller
/// reads), encodes its source under a fresh key (or a reused one, if the policy allows), answers the one query — of
/// exactly the declared size and without duplicate elements, checked here whatever the service let through — and for
/// pod-counted cardinality (every ecdh cardinality session) counts itself, sealing the count (or its refusal below the
/// minimum) to the modeller's count key. Records and keys stay in this process.
/// </summary>
public sealed partial class PsiPodDriver(SmpcClient client, string tenant, string podId, IReadOnlyDictionary<string, RecordSourceConfig> sources,
    PsiPolicy policy, string baseDirectory, string stateDirectory, Action<string> log)
{
    private const int BatchElements = 8192;

    private PsiPolicy Policy => policy;

    /// <summary>The modeller whose signature of the session verified (the agent sets it); the allow-list is checked against it.</summary>
    public VerifiedModeller? Modeller { get; init; }

    /// <summary>Checks each copy of the session served against the verified statement before the pod acts on it (the agent sets it).</summary>
    public ModellerVerifier? Verifier { get; init; }

    private IReadOnlyDictionary<string, RecordSourceConfig> Sources => sources;

    private string StateDirectory => stateDirectory;
    private static readonly SemaphoreSlim UsageLock = new(1, 1);

    /// <summary>
    /// Runs the session to the pod's end of it; returns the session as the pod left it. If the pod cannot go on, it declines
    /// (naming only the kind of failure) so the modeller is not left waiting for the deadline, and rethrows.
    /// </summary>
    public async Task<SessionResponse> RunAsync(SessionResponse session, CancellationToken ct)
    {
        try
        {
            return await RunCoreAsync(session, ct);
        }
        catch (Exception ex) when (ex is not PsiFailedException && !ct.IsCancellationRequested)
        {
            try
            {
                await client.DeclinePsiAsync(tenant, session.Id, $"the pod could not continue ({ex.GetType().Name})", ct);
            }
            catch (Exception inner) when (inner is SmpcApiException or HttpRequestException)
            {
                // The session may have ended already; the original failure is what matters.
            }

            throw;
        }
    }

    private async Task<SessionResponse> RunCoreAsync(SessionResponse session, CancellationToken ct)
    {
        var psi = session.Psi ?? throw new InvalidOperationException("Not a PSI session.");
        if (session.Phase != SessionPhases.AwaitingPod)
        {
            return session.Phase is SessionPhases.Exchange
                ? await DeclineAsync(session, "the pod agent restarted mid-session and the session's key is gone; start a new session", ct)
                : session;
        }

        if (Verifier is not null) await Verifier.VerifyAsync(session, ct);
        if (Refusal(session) is { } refusal) return await DeclineAsync(session, refusal, ct);
        if (!await ReserveDailyAsync(Capacity(psi)))
            return await DeclineAsync(session, $"the pod's daily limit of {policy.MaxModellerRecordsPerDay} modeller records would be exceeded", ct);
        if (psi.Protocol == PsiProtocolNames.Kkrt) return await RunKkrtAsync(session, ct);

        var mode = psi.Mode == PsiModeNames.Cardinality ? PsiMode.Cardinality : PsiMode.Intersection;
        var ecdh = psi.Protocol == PsiProtocolNames.Ecdh;
        // ecdh cardinality is always counted here: a modeller-counted count cannot withstand per-record blinds.
        var countByPod = mode == PsiMode.Cardinality && ecdh;
        var maxQuery = (int)Math.Min(int.MaxValue, policy.MaxModellerSetSize);
        using var cache = SetCache.Open(this, psi);
        using var server = cache.CreateServer(psi, mode, maxQuery, session);
        byte[]? publicKey = null, keyProof = null;
        if (server is RsaPsiServer rsa)
        {
            // The modeller blinds nothing until this proof (e-th roots of challenges bound to this session) verifies.
            publicKey = rsa.PublicKey.ToBytes();
            using (SmpcClient.StartSessionActivity("psi.key_proof", session))
                keyProof = rsa.ProveKey(new RsaKeyBinding(tenant, session.Id));
        }

        session = await client.AcceptPsiAsync(tenant, session.Id, new PsiAcceptRequest(
            publicKey is null ? null : Convert.ToBase64String(publicKey), countByPod, keyProof is null ? null : Convert.ToBase64String(keyProof),
            ecdh ? EcdhPsiVersion.Current : null), ct);
        log($"session {session.Id}: pod {podId} accepted ({psi.Protocol} {psi.Mode}, modeller set {psi.ModellerSetSize}, source '{psi.Source}')");

        var published = await UploadPodSetAsync(session, server, cache, ct);
        session = await WaitAsync(session, s => s.Psi!.QueryStored, ct);
        // The guard counts what is answered against the declared size and refuses repeated elements (equal points).
        var responder = new PsiQueryGuard(server.BeginQuery(psi.ModellerSetSize), psi.ModellerSetSize, server.ElementBytes);
        if (countByPod) return await CountAsync(session, responder, published, ct);
        if (psi.ModellerSetSize == 0) return session;

        using var span = SmpcClient.StartSessionActivity("psi.sign", session);
        var watch = Stopwatch.StartNew();
        if (mode == PsiMode.Intersection)
        {
            // Answers in query order, streamed straight from the query's download into the reply's upload.
            session = await client.UploadPsiSetAsync(tenant, session.Id, PsiPayloads.Reply, async stream =>
            {
                await client.ReadPsiSetAsync(tenant, session.Id, PsiPayloads.Query, server.ElementBytes, BatchElements, async batch =>
                    await stream.WriteAsync(responder.Respond(batch), ct), ct);
                responder.Complete();
            },
                psi.ModellerSetSize * server.ElementBytes, ct);
        }
        else
        {
            // Cardinality: the answers sorted, which to the modeller is a random order.
            using var spool = new SortedSpool(server.ElementBytes, unique: false);
            await client.ReadPsiSetAsync(tenant, session.Id, PsiPayloads.Query, server.ElementBytes, BatchElements, batch =>
            {
                spool.Add(responder.Respond(batch));
                return Task.CompletedTask;
            }, ct);
            responder.Complete();
            session = await client.UploadPsiSetAsync(tenant, session.Id, PsiPayloads.Reply, stream => spool.WriteSortedAsync(stream, ct), psi.ModellerSetSize * server.ElementBytes, ct);
        }

        Tag(span, psi.ModellerSetSize, watch);
        log($"session {session.Id}: answered {psi.ModellerSetSize} query elements in {watch.Elapsed.TotalSeconds:F1}s");
        return session;
    }

    /// <summary>Why the policy refuses this session, or null.</summary>
    public string? Refusal(SessionResponse session)
    {
        var psi = session.Psi!;
        if (!(Modeller?.IsAllowedBy(policy.Modellers) ?? (policy.Modellers.Count == 0 || policy.Modellers.Contains(session.ModellerId)))) return $"modeller {session.ModellerId} may not run PSI against this pod";
        if (!policy.Protocols.Contains(psi.Protocol)) return $"protocol {psi.Protocol} is not allowed (allowed: {string.Join(", ", policy.Protocols)})";
        if (!policy.Modes.Contains(psi.Mode)) return $"mode {psi.Mode} is not allowed (allowed: {string.Join(", ", policy.Modes)})";
        if (psi.Protocol == PsiProtocolNames.Kkrt && psi.Version != KkrtPsiVersion.Current)
            return $"unsupported-protocol-version: the session speaks kkrt '{psi.Version ?? "(unversioned)"}', this pod only '{KkrtPsiVersion.Current}'";
        if (Capacity(psi) > policy.MaxModellerSetSize)
            return psi.Protocol == PsiProtocolNames.Kkrt
                ? $"the modeller's set of {psi.ModellerSetSize} records gives {Capacity(psi)} kkrt bins (records it could test), over the pod's maximum of {policy.MaxModellerSetSize} per session"
                : $"the modeller's set of {psi.ModellerSetSize} records exceeds the pod's maximum of {policy.MaxModellerSetSize} per session";
        if (psi.Mode == PsiModeNames.Cardinality && policy.MinCount > 0 && psi.Protocol != PsiProtocolNames.Ecdh)
            return "this pod withholds counts below a minimum, which only ecdh cardinality can do (rsa-blind and kkrt cardinality are counted by the modeller)";
        if (psi.Protocol == PsiProtocolNames.Ecdh && psi.Version != EcdhPsiVersion.Current)
            return $"unsupported-protocol-version: the session speaks ecdh '{psi.Version ?? "(unversioned)"}', this pod only '{EcdhPsiVersion.Current}'";
        if (psi.Protocol == PsiProtocolNames.Ecdh && psi.Mode == PsiModeNames.Cardinality && psi.CountKey is null)
            return "an ecdh cardinality session needs the modeller's count key";
        if (!sources.ContainsKey(psi.Source)) return $"no data source named '{psi.Source}'";
        return null;
    }

    /// <summary>
    /// How many modeller records the session can test, which is what the per-session and per-day limits count: the declared
    /// set size, except for kkrt, where every one of the m(n) = ⌈1.5·n⌉ + 256 bins carries one OPRF value (docs/protocols/psi.md).
    /// </summary>
    public static long Capacity(PsiStatusResponse psi) =>
        psi.Protocol == PsiProtocolNames.Kkrt ? KkrtParameters.Bins(Math.Max(0, psi.ModellerSetSize)) : psi.ModellerSetSize;

    /// <summary>Encodes and uploads the pod's set (or the reused one); returns how many elements it published.</summary>
    private async Task<long> UploadPodSetAsync(SessionResponse session, IPsiServer server, SetCache cache, CancellationToken ct)
    {
        using var span = SmpcClient.StartSessionActivity("psi.server_set.sign", session);
        var watch = Stopwatch.StartNew();
        if (cache.CachedSetPath is { } cached)
        {
            await using var file = File.OpenRead(cached);
            await client.UploadPsiSetAsync(tenant, session.Id, PsiPayloads.PodSet, file, ct);
            span?.SetTag("smpc.psi.reused", true);
            Tag(span, file.Length / PsiTag.Size, watch);
            log($"session {session.Id}: reused the encoded set ({file.Length / PsiTag.Size} elements)");
            return file.Length / PsiTag.Size;
        }

        var stats = new PsiReadStats();
        using var spool = new SortedSpool(PsiTag.Size);
        await using (var source = await RecordSources.OpenAsync(sources[session.Psi!.Source], baseDirectory, ct))
        {
            await foreach (var batch in PsiRecords.ReadAsync(source, session.Psi.PodColumns, BatchElements, stats, ct))
                spool.Add(server.EncodeServerBatch(batch.Records));
        }

        var distinct = await spool.CountDistinctAsync(ct);
        var upload = cache.WriterFor(distinct * PsiTag.Size);
        await client.UploadPsiSetAsync(tenant, session.Id, PsiPayloads.PodSet, async stream =>
        {
            if (upload is null)
            {
                await spool.WriteSortedAsync(stream, ct);
                return;
            }

            await using var tee = new TeeStream(stream, upload);
            await spool.WriteSortedAsync(tee, ct);
        }, distinct * PsiTag.Size, ct);
        cache.Commit();
        Tag(span, stats.Rows - stats.Skipped, watch);
        span?.SetTag("smpc.psi.skipped", stats.Skipped);
        log((stats.SkippedTooMany ? "WARNING: over 1% of rows skipped; " : "")
            + $"session {session.Id}: encoded {distinct} distinct records of {stats.Rows} in {watch.Elapsed.TotalSeconds:F1}s"
            + (stats.Skipped > 0 ? $"; skipped {stats.Skipped} by reason: {stats.ReasonSummary()} (first: {stats.FirstProblem ?? "blank key columns"})" : ""));
        return distinct;
    }

    private async Task<SessionResponse> CountAsync(SessionResponse session, PsiQueryGuard responder, long published, CancellationToken ct)
    {
        var counter = new PodCardinalityCounter();
        await client.ReadPsiSetAsync(tenant, session.Id, PsiPayloads.Query, PsiTag.Size, BatchElements, batch =>
        {
            counter.AddAnswers(responder.Respond(batch));
            return Task.CompletedTask;
        }, ct);
        responder.Complete();
        session = await WaitAsync(session, s => s.Psi!.DoubleBlindedStored, ct);
        using var span = SmpcClient.StartSessionActivity("psi.intersect", session);
        var watch = Stopwatch.StartNew();
        await client.ReadPsiSetAsync(tenant, session.Id, PsiPayloads.DoubleBlinded, PsiTag.Size, BatchElements, batch =>
        {
            counter.Feed(batch);
            return Task.CompletedTask;
        }, ct);
        Tag(span, counter.Seen, watch);
        // Exactly as many distinct valid elements as this pod published, or no count at all.
        var count = counter.Finish(published);
        var withheld = count < policy.MinCount;
        byte[] sealedCount;
        try
        {
            // Sealed either way, so the service cannot tell a withheld count from a released one; the modeller learns which.
            sealedCount = SealedPsiCount.Seal(Convert.FromBase64String(session.Psi!.CountKey!), session.Id, withheld, withheld ? policy.MinCount : count, SystemRandomSource.Instance);
        }
        catch (Exception ex) when (ex is Smpc.Protocols.ProtocolException or FormatException)
        {
            return await DeclineAsync(session, $"the modeller's count key is unusable ({ex.Message})", ct);
        }

        log($"session {session.Id}: counted the intersection; reporting it sealed to the modeller" + (withheld ? " (withheld: below the minimum)" : ""));
        return await client.ReportSealedPsiCountAsync(tenant, session.Id, sealedCount, ct);
    }

    private async Task<SessionResponse> DeclineAsync(SessionResponse session, string reason, CancellationToken ct)
    {
        log($"session {session.Id}: declined ({reason})");
        return await client.DeclinePsiAsync(tenant, session.Id, reason, ct);
    }

    private async Task<SessionResponse> WaitAsync(SessionResponse session, Func<SessionResponse, bool> done, CancellationToken ct)
    {
        while (true)
        {
            if (session.HasEnded())
                throw new PsiFailedException(session, session.Psi?.FailureReason ?? session.CancelledText() ?? $"The session is {session.Phase}.");
            if (Verifier is not null) await Verifier.VerifyAsync(session, ct); // the same signed spec on every copy acted on
            if (done(session)) return session;
            session = await Transient.RetryAsync(() => client.WaitForSessionChangeAsync(tenant, session.Id, session.Version, 20, ct), ct);
        }
    }

    /// <summary>Adds <paramref name="records"/> to today's count if it stays within the daily limit (state file psi-usage.json).</summary>
    private async Task<bool> ReserveDailyAsync(long records)
    {
        await UsageLock.WaitAsync();
        try
        {
            var path = Path.Combine(stateDirectory, "psi-usage.json");
            var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            var usage = File.Exists(path) ? JsonSerializer.Deserialize<Dictionary<string, long>>(await File.ReadAllTextAsync(path)) ?? [] : [];
            var used = usage.GetValueOrDefault(today);
            if (used + records > policy.MaxModellerRecordsPerDay) return false;
            new PartyStateFile(path).Save(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, long> { [today] = used + records }));
            return true;
        }
        finally
        {
            UsageLock.Release();
        }
    }

    private static void Tag(Activity? span, long elements, Stopwatch watch)
    {
        span?.SetTag("smpc.psi.elements", elements);
        span?.SetTag("smpc.psi.seconds", Math.Round(watch.Elapsed.TotalSeconds, 3));
        span?.SetTag("smpc.psi.elements_per_second", Math.Round(elements / Math.Max(watch.Elapsed.TotalSeconds, 1e-6)));
    }

    /// <summary>
    /// The pod's key and encoded set, fresh per session, or (policy <see cref="PsiPolicy.SetReuseHours"/>) kept in the state
    /// directory under a name derived from source, columns and protocol, and reused while younger than the limit.
    /// </summary>
    private sealed class SetCache : IDisposable
    {
        private readonly string? _keyPath;
        private readonly string? _setPath;
        private FileStream? _writer;
        private byte[]? _secret;

        private SetCache(string? keyPath, string? setPath, bool fresh)
        {
            _keyPath = keyPath;
            _setPath = setPath;
            CachedSetPath = fresh ? null : setPath;
        }

        /// <summary>The reusable encoded set, when there is one.</summary>
        public string? CachedSetPath { get; }

        public static SetCache Open(PsiPodDriver runner, PsiStatusResponse psi)
        {
            if (runner.Policy.SetReuseHours <= 0) return new SetCache(null, null, fresh: true);
            // The encoder version is part of the identity: a set encoded under older canonical rules must not be reused.
            // The ecdh version and mode are part of it too: intersection publishes OPRF tags, cardinality group elements.
            var identity = JsonSerializer.Serialize(new { RecordEncoder.Version, psi.Protocol, EcdhVersion = psi.Protocol == PsiProtocolNames.Ecdh ? EcdhPsiVersion.Current : null, EcdhMode = psi.Protocol == PsiProtocolNames.Ecdh ? psi.Mode : null, psi.KeyBits, psi.Source, runner.Sources[psi.Source].Path, runner.Sources[psi.Source].Table, runner.Sources[psi.Source].Query, psi.PodColumns });
            var name = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..24];
            var directory = Path.Combine(runner.StateDirectory, "psi-sets");
            PartyStateFile.OwnerOnlyDirectory(directory); // the key, and the encoded set (testable against guesses with the public key)
            var keyPath = Path.Combine(directory, name + ".key");
            var setPath = Path.Combine(directory, name + ".set");
            var fresh = !File.Exists(keyPath) || !File.Exists(setPath)
                || DateTime.UtcNow - File.GetLastWriteTimeUtc(keyPath) > TimeSpan.FromHours(runner.Policy.SetReuseHours);
            return new SetCache(keyPath, setPath, fresh);
        }

        public IPsiServer CreateServer(PsiStatusResponse psi, PsiMode mode, int maxQuery, SessionResponse session)
        {
            using var span = SmpcClient.StartSessionActivity("psi.keygen", session);
            span?.SetTag("smpc.psi.protocol", psi.Protocol);
            var random = SystemRandomSource.Instance;
            if (CachedSetPath is not null)
            {
                span?.SetTag("smpc.psi.reused", true);
                var stored = File.ReadAllBytes(_keyPath!);
                try
                {
                    if (psi.Protocol == PsiProtocolNames.Ecdh) return new EcdhPsiServer(mode, random, stored, maxQuery);
                    using var key = RSA.Create();
                    key.ImportPkcs8PrivateKey(stored, out _);
                    return new RsaPsiServer(mode, random, key.ExportParameters(true), maxQuerySize: maxQuery);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(stored);
                }
            }

            if (psi.Protocol == PsiProtocolNames.Ecdh)
            {
                var ecdh = new EcdhPsiServer(mode, random, maxQuery);
                if (_keyPath is not null) _secret = ecdh.ExportSecret();
                return ecdh;
            }

            if (_keyPath is null) return new RsaPsiServer(mode, random, psi.KeyBits ?? RsaPsiPublicKey.DefaultBits, maxQuerySize: maxQuery);
            var parameters = RsaPsiServer.GenerateKey(psi.KeyBits ?? RsaPsiPublicKey.DefaultBits);
            using (var rsa = RSA.Create())
            {
                rsa.ImportParameters(parameters);
                _secret = rsa.ExportPkcs8PrivateKey();
            }

            return new RsaPsiServer(mode, random, parameters, maxQuerySize: maxQuery);
        }

        /// <summary>Where to keep a copy of the encoded set being uploaded (reuse on), else null.</summary>
        public Stream? WriterFor(long length)
        {
            if (_setPath is null || _secret is null) return null;
            PartyStateFile.Delete(_setPath + ".tmp"); // created afresh below, so owner-only
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            _writer = new FileStream(_setPath + ".tmp", options);
            return _writer;
        }

        /// <summary>Makes the kept set and its key current (owner-only permissions on the key).</summary>
        public void Commit()
        {
            if (_writer is null || _secret is null) return;
            _writer.Flush(flushToDisk: true);
            _writer.Dispose();
            _writer = null;
            File.Move(_setPath + ".tmp", _setPath!, overwrite: true);
            // The key last, durably (temporary file, fsync, rename, directory fsync): a set is only used with its key.
            new PartyStateFile(_keyPath!).Save((byte[])_secret.Clone());
        }

        public void Dispose()
        {
            if (_writer is not null)
            {
                // Never committed (the session failed mid-upload): the partial copy goes.
                _writer.Dispose();
                PartyStateFile.Delete(_setPath + ".tmp");
            }

            if (_secret is not null) CryptographicOperations.ZeroMemory(_secret);
        }
    }

    /// <summary>Writes to the upload and to the kept copy at once.</summary>
    private sealed class TeeStream(Stream first, Stream second) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => first.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            first.Write(buffer, offset, count);
            second.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await first.WriteAsync(buffer, cancellationToken);
            await second.WriteAsync(buffer, cancellationToken);
        }
    }
}
