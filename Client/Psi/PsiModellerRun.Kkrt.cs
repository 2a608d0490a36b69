using System.Diagnostics;
using Smpc.Client.Records;
using Smpc.Contracts;
using Smpc.Protocols;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.Signatures;

namespace Smpc.Client.Psi;

/// <summary>The modeller's side of a kkrt-v1 session (docs/protocols/psi.md, "kkrt"): the OPRF receiver.</summary>
public sealed partial class PsiModellerRun
{
    /// <summary>Query rows written and uploaded at a time: 16,384 rows of 64 bytes (1 MiB), so the query (1.6 GB at 2^24 records) is never whole in memory.</summary>
    private const int KkrtRowsPerChunk = (1 << 20) / KkrtParameters.RowBytes;

    /// <summary>
    /// Reads and digests the records, declares the number of distinct digests, runs the base OTs on the pod's setup, streams
    /// the query, matches the pod's three tag lists and maps every matched digest back to every row that had it. The count is
    /// of distinct matching records (the unit of the declared set size), in both modes; in cardinality mode it is computed
    /// here, so the pod cannot withhold it.
    /// </summary>
    private async Task<PsiOutcome> RunKkrtAsync(
        string sessionId, string podId, PsiRequest spec, Func<CancellationToken, Task<IRecordSource>> openRecords, string? outputPath, CancellationToken ct)
    {
        var stats = new PsiReadStats();
        var digests = new KkrtDigests();
        var rows = new List<long>();
        IReadOnlyList<string> header;
        await using (var reader = await openRecords(ct))
        {
            header = reader.Columns;
            await foreach (var batch in PsiRecords.ReadAsync(reader, spec.ModellerColumns, BatchElements, stats, ct))
            {
                digests.AddRange(batch.Records);
                rows.AddRange(batch.Rows);
                Progress?.Report(new PsiProgress("read", rows.Count, null));
            }
        }

        var (distinct, recordToDistinct) = digests.Distinct();
        var request = spec with
        {
            ModellerSetSize = distinct.Length / KkrtItems.DigestBytes,
            Version = KkrtPsiVersion.Current,
            KeyBits = null,
            CountKey = null,
        };
        var create = new CreateSessionRequest(sessionId, modellerId, SessionKinds.Psi, [podId], Psi: request);
        var session = await client.CreateSessionAsync(tenant, create, ct);
        var matchedDistinct = await RunKkrtSessionAsync(session, distinct, ct, ModellerStatements.Session(tenant, create));
        var matchedRows = new List<long>();
        for (var r = 0; r < recordToDistinct.Length; r++)
            if (matchedDistinct[recordToDistinct[r]]) matchedRows.Add(rows[r]);
        var intersection = spec.Mode != PsiModeNames.Cardinality;
        var count = matchedDistinct.LongCount(m => m);
        return await FinishAsync(session, count, intersection ? matchedRows : null, openRecords, header, outputPath, stats, ct);
    }

    /// <summary>
    /// The kkrt protocol for an existing session over the modeller's distinct item digests (16 bytes each): which of them the
    /// pod holds. A setup or reply the protocol refuses cancels the session, naming the fault, and throws <see cref="PsiFailedException"/>.
    /// </summary>
    public async Task<bool[]> RunKkrtSessionAsync(SessionResponse session, byte[] distinctDigests, CancellationToken ct = default, byte[]? ownStatement = null)
    {
        ArgumentNullException.ThrowIfNull(distinctDigests);
        // The cuckoo table is built while the pod accepts and makes its setup.
        var building = Task.Run(() =>
        {
            using var span = SmpcClient.StartSessionActivity("psi.kkrt.cuckoo", session);
            var watch = Stopwatch.StartNew();
            var receiver = new KkrtPsiReceiver(distinctDigests, SystemRandomSource.Instance);
            span?.SetTag("smpc.psi.protocol", PsiProtocolNames.Kkrt);
            span?.SetTag("smpc.psi.bins", receiver.Bins);
            Tag(span, distinctDigests.Length / KkrtItems.DigestBytes, watch);
            return receiver;
        }, ct);
        try
        {
            session = await WaitAsync(session, s => s.Psi!.Accepted, "the pod to accept", ct);
            if (ownStatement is not null) SmpcClient.RequireSame(ownStatement, session);
            var psi = session.Psi!;
            // Our own spec decides the version (a pod that accepted with another was refused by the service); never run another.
            KkrtPsiVersion.Require(psi.Version, "the session");
            if (psi.CountedByPod) throw new PsiFailedException(session, "kkrt cardinality is counted by the modeller (kkrt-v1); the session says the pod counts.");
            session = await WaitAsync(session, s => s.Psi!.PodSetStored, "the pod's setup", ct);
            var receiver = await building;

            var setup = new byte[KkrtParameters.SetupBytes];
            var got = 0;
            await client.ReadPsiSetAsync(tenant, session.Id, PsiPayloads.PodSet, 1, 1 << 16, batch =>
            {
                if (got + batch.Length > setup.Length) throw new PsiFailedException(session, $"The pod's kkrt setup is longer than {setup.Length} bytes.");
                batch.CopyTo(setup, got);
                got += batch.Length;
                return Task.CompletedTask;
            }, ct);
            using (var span = SmpcClient.StartSessionActivity("psi.kkrt.base_ot", session))
            {
                var watch = Stopwatch.StartNew();
                await RefuseOnFaultAsync(session, "setup", () => receiver.ReadSetup(setup.AsSpan(0, got)), ct);
                span?.SetTag("smpc.psi.protocol", PsiProtocolNames.Kkrt);
                span?.SetTag("smpc.psi.base_ots", KkrtParameters.BaseOts);
                span?.SetTag("smpc.psi.seconds", Math.Round(watch.Elapsed.TotalSeconds, 3));
                Progress?.Report(new PsiProgress("base-ot", KkrtParameters.BaseOts, KkrtParameters.BaseOts));
            }

            await UploadKkrtQueryAsync(session, receiver, distinctDigests.Length / KkrtItems.DigestBytes, ct);
            session = await WaitAsync(session, s => s.Phase == SessionPhases.Answered, "the pod's reply", ct);

            using (var span = SmpcClient.StartSessionActivity("psi.kkrt.match", session))
            {
                var watch = Stopwatch.StartNew();
                var tags = session.Psi!.PodSetSize is { } podSize ? KkrtParameters.ReplyBytes(psi.ModellerSetSize, podSize) : 0;
                using var reply = new MemoryStream((int)Math.Clamp(tags, 0, Array.MaxLength));
                await client.ReadPsiSetAsync(tenant, session.Id, PsiPayloads.Reply, 1, 1 << 20, async batch =>
                {
                    await reply.WriteAsync(batch, ct);
                    Progress?.Report(new PsiProgress("reply", reply.Length / receiver.TagBytes, tags > 0 ? tags / receiver.TagBytes : null));
                }, ct);
                KkrtMatches matches = null!;
                await RefuseOnFaultAsync(session, "reply", () => matches = receiver.Match(reply.GetBuffer().AsSpan(0, (int)reply.Length)), ct);
                span?.SetTag("smpc.psi.protocol", PsiProtocolNames.Kkrt);
                span?.SetTag("smpc.psi.bytes", reply.Length);
                span?.SetTag("smpc.psi.pod_elements", matches.PodSetSize);
                Tag(span, matches.Matched.Length, watch);
                return matches.Matched;
            }
        }
        finally
        {
            if (await building.ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default) is { } built) built.Dispose();
        }
    }

    /// <summary>Header, then the rows bin by bin in 1 MiB chunks, into the client's spooled, resumable upload.</summary>
    private async Task UploadKkrtQueryAsync(SessionResponse session, KkrtPsiReceiver receiver, long distinct, CancellationToken ct)
    {
        using var span = SmpcClient.StartSessionActivity("psi.kkrt.extend", session);
        var watch = Stopwatch.StartNew();
        var bins = receiver.Bins;
        var length = KkrtParameters.QueryBytes(distinct);
        await client.UploadPsiSetAsync(tenant, session.Id, PsiPayloads.Query, async stream =>
        {
            await stream.WriteAsync(receiver.QueryHeader(), ct);
            var buffer = new byte[KkrtRowsPerChunk * KkrtParameters.RowBytes];
            for (long first = 0; first < bins; first += KkrtRowsPerChunk)
            {
                var count = (int)Math.Min(KkrtRowsPerChunk, bins - first);
                receiver.WriteRows(first, count, buffer);
                await stream.WriteAsync(buffer.AsMemory(0, count * KkrtParameters.RowBytes), ct);
                Progress?.Report(new PsiProgress("extend", first + count, bins));
            }
        }, length, ct);
        span?.SetTag("smpc.psi.protocol", PsiProtocolNames.Kkrt);
        span?.SetTag("smpc.psi.bins", bins);
        span?.SetTag("smpc.psi.bytes", length);
        Tag(span, distinct, watch);
    }

    /// <summary>Runs a protocol step on a pod's message; a refusal cancels the session with the reason and ends the run.</summary>
    private async Task RefuseOnFaultAsync(SessionResponse session, string message, Action step, CancellationToken ct)
    {
        try
        {
            step();
        }
        catch (ProtocolException ex)
        {
            var reason = $"the modeller refused the pod's kkrt {message} ({ex.Error}): {ex.Message}";
            if (reason.Length > 500) reason = reason[..500];
            try
            {
                session = await client.CancelSessionAsync(tenant, session.Id, reason, ct);
            }
            catch (Exception inner) when (inner is SmpcApiException or HttpRequestException)
            {
                // The session may have ended already; the refusal is what the caller must see.
            }

            throw new PsiFailedException(session, reason);
        }
    }

    private static void Tag(Activity? span, long elements, Stopwatch watch)
    {
        span?.SetTag("smpc.psi.elements", elements);
        span?.SetTag("smpc.psi.seconds", Math.Round(watch.Elapsed.TotalSeconds, 3));
        span?.SetTag("smpc.psi.elements_per_second", Math.Round(elements / Math.Max(watch.Elapsed.TotalSeconds, 1e-6)));
    }
}
