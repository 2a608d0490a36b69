using System.Diagnostics;
using Smpc.Client.Records;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.Signatures;

namespace Smpc.Client.Psi;

/// <summary>Progress of a PSI run: the step and how many elements of it are done (of how many, when known).</summary>
public sealed record PsiProgress(string Step, long Done, long? Total);

/// <summary>What the modeller learned: the count, and in intersection mode its own matching rows (written to <see cref="OutputPath"/>).</summary>
public sealed record PsiOutcome(SessionResponse Session, long Count, IReadOnlyList<long>? MatchedRows, string? OutputPath, PsiReadStats Stats);

/// <summary>A PSI session ended without a result: the pod declined (policy), the deadline passed, or a check failed.</summary>
public sealed class PsiFailedException(SessionResponse session, string reason) : Exception(reason)
{
    public SessionResponse Session { get; } = session;
}

/// <summary>
/// The modeller's side of PSI (<c>smpc psi</c>): encodes its records, creates the session, blinds and uploads its query,
/// then unblinds and matches locally. Its records, its secret and the result never leave this process; the service gets
/// blinded elements and, if <see cref="ReportCount"/>, the count.
/// </summary>
public sealed partial class PsiModellerRun(SmpcClient client, string tenant, string modellerId)
{
    private const int BatchElements = 4096;

    /// <summary>Whether to record the count in the session (for the audit trail); the matching rows are never sent.</summary>
    public bool ReportCount { get; init; } = true;

    /// <summary>Progress reports (steps: read, blind, wait, pod-set, double-blind, reply, match, write; kkrt: read, base-ot, extend, reply).</summary>
    public IProgress<PsiProgress>? Progress { get; init; }

    /// <summary>
    /// Runs a whole session against <paramref name="podId"/> with the modeller's records from the source
    /// <paramref name="openRecords"/> opens (a CSV file or a database, e.g. Smpc.Agent's <c>RecordSources.Opener</c>); in
    /// intersection mode the source is opened again to copy the matched rows to <paramref name="outputPath"/>.
    /// </summary>
    public async Task<PsiOutcome> RunAsync(
        string sessionId, string podId, PsiRequest spec, Func<CancellationToken, Task<IRecordSource>> openRecords, string? outputPath, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(openRecords);
        if (spec.Protocol == PsiProtocolNames.Kkrt) return await RunKkrtAsync(sessionId, podId, spec, openRecords, outputPath, ct);
        var stats = new PsiReadStats();
        var records = new List<byte[]>();
        var rows = new List<long>();
        IReadOnlyList<string> header;
        await using (var reader = await openRecords(ct))
        {
            header = reader.Columns;
            await foreach (var batch in PsiRecords.ReadAsync(reader, spec.ModellerColumns, BatchElements, stats, ct))
            {
                records.AddRange(batch.Records);
                rows.AddRange(batch.Rows);
                Progress?.Report(new PsiProgress("read", records.Count, null));
            }
        }

        // ecdh speaks ecdh-oprf-v1; in cardinality mode the pod seals its count to a key only this run holds.
        var ecdh = spec.Protocol == PsiProtocolNames.Ecdh;
        if (ecdh && spec.Mode == PsiModeNames.Cardinality)
        {
            // One scalar blinds every record, so a repeated record is a repeated point, which the pod refuses: the count is
            // over distinct records (|X ∩ Y| as sets), and no rows are reported in this mode.
            records = [.. records.DistinctBy(Convert.ToBase64String)];
        }

        using var countKey = ecdh && spec.Mode == PsiModeNames.Cardinality ? X25519KeyPair.Generate(SystemRandomSource.Instance) : null;
        var request = spec with
        {
            ModellerSetSize = records.Count,
            Version = ecdh ? EcdhPsiVersion.Current : spec.Version,
            CountKey = countKey is null ? spec.CountKey : Convert.ToBase64String(countKey.PublicKey),
        };
        var create = new CreateSessionRequest(sessionId, modellerId, SessionKinds.Psi, [podId], Psi: request);
        var session = await client.CreateSessionAsync(tenant, create, ct);
        var outcome = await RunSessionAsync(session, records, countKey, ct, ModellerStatements.Session(tenant, create));
        IReadOnlyList<long>? matchedRows = outcome.Matched is { } matched ? [.. matched.Select(i => rows[i])] : null;
        return await FinishAsync(session, outcome.Count, matchedRows, openRecords, header, outputPath, stats, ct);
    }

    /// <summary>Writes the matched rows (intersection, when an output is given), completes the session with the count (if reported) and returns the outcome.</summary>
    private async Task<PsiOutcome> FinishAsync(
        SessionResponse session, long count, IReadOnlyList<long>? matchedRows, Func<CancellationToken, Task<IRecordSource>> openRecords, IReadOnlyList<string> header,
        string? outputPath, PsiReadStats stats, CancellationToken ct)
    {
        string? written = null;
        if (matchedRows is not null && outputPath is not null)
        {
            written = outputPath;
            await WriteRowsAsync(openRecords, header, matchedRows, outputPath, ct);
        }

        var final = await client.CompletePsiAsync(tenant, session.Id, ReportCount ? count : null, ct);
        return new PsiOutcome(final, count, matchedRows, written, stats);
    }

    /// <summary>
    /// The protocol for an existing session over already-encoded records: the count and, in intersection mode, the matching
    /// indices. <paramref name="countKey"/> opens the pod's sealed count (ecdh cardinality). With <paramref name="ownStatement"/>
    /// (the statement of the modeller's own request), the accepted session must still be exactly that request: a service
    /// that changed the spec after creation (a smaller RSA key size, another count key) is refused before any blinding.
    /// </summary>
    public async Task<(long Count, int[]? Matched)> RunSessionAsync(
        SessionResponse session, IReadOnlyList<byte[]> records, X25519KeyPair? countKey, CancellationToken ct = default, byte[]? ownStatement = null)
    {
        if (session.Psi?.Protocol == PsiProtocolNames.Kkrt)
            throw new ArgumentException("A kkrt session runs over distinct item digests: use RunKkrtSessionAsync.", nameof(session));
        session = await WaitAsync(session, s => s.Psi!.Accepted, "the pod to accept", ct);
        if (ownStatement is not null) SmpcClient.RequireSame(ownStatement, session);
        var psi = session.Psi!;
        var mode = psi.Mode == PsiModeNames.Cardinality ? PsiMode.Cardinality : PsiMode.Intersection;
        var random = SystemRandomSource.Instance;
        if (psi.Protocol == PsiProtocolNames.RsaBlind)
        {
            var certified = await CertifyAsync(session, ct);
            var key = certified.Key;
            var rsa = new RsaPsiClient(certified, mode, random);
            try
            {
                await UploadQueryAsync(session, records, rsa.BlindBatch, key.ModulusBytes, ct);
                session = await WaitAsync(session, s => s.Phase == SessionPhases.Answered, "the pod's reply", ct);
                var tags = new List<byte>(records.Count * 32);
                var first = 0;
                using (var span = SmpcClient.StartSessionActivity("psi.unblind", session))
                {
                    await ReadAsync(session, PsiPayloads.Reply, key.ModulusBytes, "reply", batch =>
                    {
                        tags.AddRange(mode == PsiMode.Intersection ? rsa.UnblindBatch(first, batch) : rsa.UnblindShuffledBatch(batch));
                        first += batch.Length / key.ModulusBytes;
                    }, ct);
                    span?.SetTag("smpc.psi.elements", first);
                }
                return await MatchAsync(session, [.. tags], mode, ct);
            }
            finally
            {
                rsa.Wipe();
            }
        }

        // Our own spec decides the version (a pod that accepted with another was refused by the service); never run another.
        EcdhPsiVersion.Require(psi.Version, "the session");
        if (mode == PsiMode.Cardinality && !psi.CountedByPod)
            throw new PsiFailedException(session, "ecdh cardinality must be counted by the pod (ecdh-oprf-v1); the session says otherwise.");
        using var ecdh = new EcdhPsiClient(mode, random);
        await UploadQueryAsync(session, records, ecdh.BlindBatch, Ristretto255.Size, ct);
        if (psi.CountedByPod)
        {
            // The pod counts: raise its set to our secret, sort (shuffle) and hand it back; the pod reports the count or declines.
            session = await WaitAsync(session, s => s.Psi!.PodSetSize is not null, "the pod's set", ct);
            using var spool = new SortedSpool(Ristretto255.Size);
            using (var span = SmpcClient.StartSessionActivity("psi.double_blind", session))
            {
                await ReadAsync(session, PsiPayloads.PodSet, Ristretto255.Size, "pod-set", batch => spool.Add(ecdh.RaiseBatch(batch)), ct);
                span?.SetTag("smpc.psi.elements", spool.Added);
            }

            await client.UploadPsiSetAsync(tenant, session.Id, PsiPayloads.DoubleBlinded, stream => spool.WriteSortedAsync(stream, ct), spool.Added * Ristretto255.Size, ct);
            session = await WaitAsync(session, s => s.Phase == SessionPhases.Answered, "the pod's count", ct);
            return (await OpenCountAsync(session, countKey, ct), null);
        }

        session = await WaitAsync(session, s => s.Phase == SessionPhases.Answered, "the pod's reply", ct);

        // Intersection: Finalize each reply (in query order) into its OPRF tag and merge-join the tags with the pod's.
        var oprfTags = new List<byte>(records.Count * EcdhPsiVersion.TagBytes);
        var next = 0;
        using (var span = SmpcClient.StartSessionActivity("psi.unblind", session))
        {
            await ReadAsync(session, PsiPayloads.Reply, Ristretto255.Size, "reply", batch =>
            {
                oprfTags.AddRange(ecdh.FinalizeBatch(next, records, batch));
                next += batch.Length / Ristretto255.Size;
            }, ct);
            span?.SetTag("smpc.psi.elements", next);
        }

        return await MatchAsync(session, [.. oprfTags], mode, ct);
    }

    /// <summary>Opens the pod's sealed count; a count the pod withholds (below its minimum) ends the session without one.</summary>
    private async Task<long> OpenCountAsync(SessionResponse session, X25519KeyPair? countKey, CancellationToken ct)
    {
        if (countKey is null) throw new PsiFailedException(session, "The pod sealed its count to a count key this run does not hold.");
        if (session.Psi!.SealedCount is not { } sealedText) throw new PsiFailedException(session, "The session is answered but holds no sealed count.");
        var (withheld, value) = SealedPsiCount.Open(countKey, session.Id, Convert.FromBase64String(sealedText));
        if (!withheld) return value;
        session = await client.CompletePsiAsync(tenant, session.Id, null, ct);
        throw new PsiFailedException(session, $"The pod declined: the intersection is below the pod's minimum of {value}, so the count is withheld");
    }

    /// <summary>
    /// Checks the pod's RSA key and its proof for this session before a single blinded element exists; on refusal cancels
    /// the session with the reason code and rethrows the <see cref="RsaKeyRefusedException"/>.
    /// </summary>
    private async Task<CertifiedRsaPsiKey> CertifyAsync(SessionResponse session, CancellationToken ct)
    {
        var psi = session.Psi!;
        using var span = SmpcClient.StartSessionActivity("psi.key_verify", session);
        try
        {
            RsaPsiPublicKey key;
            byte[]? proof;
            try
            {
                key = RsaPsiPublicKey.ParseFraming(Convert.FromBase64String(psi.PublicKey ?? ""));
                proof = psi.KeyProof is null ? null : Convert.FromBase64String(psi.KeyProof);
            }
            catch (Exception ex) when (ex is FormatException or Protocols.MessageRejectedException)
            {
                throw new RsaKeyRefusedException(RsaKeyRefusal.ProofMalformed, $"the pod's key or proof does not parse: {ex.Message}");
            }

            // The binding is the tenant this modeller works in and the session it drives.
            return RsaKeyCertification.Verify(key, proof, new RsaKeyBinding(tenant, session.Id), psi.KeyBits ?? RsaPsiPublicKey.DefaultBits);
        }
        catch (RsaKeyRefusedException ex)
        {
            span?.SetTag("smpc.psi.key_refused", ex.ReasonCode);
            try
            {
                var reason = $"the modeller refused the pod's key: {ex.Message}";
                await client.CancelSessionAsync(tenant, session.Id, reason.Length > 500 ? reason[..500] : reason, ct);
            }
            catch (Exception inner) when (inner is SmpcApiException or HttpRequestException)
            {
                // The session may have ended already; the refusal is what the caller must see.
            }

            throw;
        }
    }

    private async Task UploadQueryAsync(SessionResponse session, IReadOnlyList<byte[]> records, Func<IReadOnlyList<byte[]>, byte[]> blind, int elementBytes, CancellationToken ct)
    {
        if (records.Count == 0) return; // an empty query is stored with the acceptance
        using var span = SmpcClient.StartSessionActivity("psi.blind", session);
        var watch = Stopwatch.StartNew();
        await client.UploadPsiSetAsync(tenant, session.Id, PsiPayloads.Query, async stream =>
        {
            for (var start = 0; start < records.Count; start += BatchElements)
            {
                var batch = records.Skip(start).Take(BatchElements).ToList();
                await stream.WriteAsync(blind(batch), ct);
                Progress?.Report(new PsiProgress("blind", start + batch.Count, records.Count));
            }
        }, (long)records.Count * elementBytes, ct);
        span?.SetTag("smpc.psi.elements", records.Count);
        span?.SetTag("smpc.psi.elements_per_second", Math.Round(records.Count / Math.Max(watch.Elapsed.TotalSeconds, 1e-6)));
    }

    private async Task<(long, int[]?)> MatchAsync(SessionResponse session, byte[] tags, PsiMode mode, CancellationToken ct)
    {
        using var span = SmpcClient.StartSessionActivity("psi.intersect", session);
        var matcher = new SortedSetMatcher(tags);
        await ReadAsync(session, PsiPayloads.PodSet, PsiTag.Size, "pod-set", batch => matcher.Feed(batch), ct);
        var matched = matcher.MatchedIndices();
        span?.SetTag("smpc.psi.elements", matcher.Seen);
        return (matched.Length, mode == PsiMode.Intersection ? matched : null);
    }

    private async Task ReadAsync(SessionResponse session, string set, int elementBytes, string step, Action<byte[]> onBatch, CancellationToken ct)
    {
        var total = set == PsiPayloads.PodSet ? session.Psi!.PodSetSize : session.Psi!.ModellerSetSize;
        long done = 0;
        await client.ReadPsiSetAsync(tenant, session.Id, set, elementBytes, BatchElements * 4, batch =>
        {
            onBatch(batch);
            done += batch.Length / elementBytes;
            Progress?.Report(new PsiProgress(step, done, total));
            return Task.CompletedTask;
        }, ct);
    }

    private async Task<SessionResponse> WaitAsync(SessionResponse session, Func<SessionResponse, bool> done, string what, CancellationToken ct)
    {
        while (true)
        {
            if (session.Phase == SessionPhases.Failed) throw new PsiFailedException(session, session.Psi?.FailureReason ?? "The session failed.");
            if (session.CancelledText() is { } cancelled) throw new PsiFailedException(session, $"The session was {cancelled}.");
            if (done(session)) return session;
            Progress?.Report(new PsiProgress($"waiting for {what}", 0, null));
            session = await Transient.RetryAsync(() => client.WaitForSessionChangeAsync(tenant, session.Id, session.Version, 20, ct), ct);
        }
    }

    private static async Task WriteRowsAsync(Func<CancellationToken, Task<IRecordSource>> openRecords, IReadOnlyList<string> header, IReadOnlyList<long> matchedRows, string outputPath, CancellationToken ct)
    {
        var wanted = new HashSet<long>(matchedRows);
        var directory = Path.GetDirectoryName(Path.GetFullPath(outputPath));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        await using var reader = await openRecords(ct);
        await using var writer = new CsvRowWriter(outputPath, header);
        long row = 0;
        await foreach (var values in reader.ReadRowsAsync(ct))
        {
            if (wanted.Contains(row++)) writer.WriteRow(values);
        }
    }
}
