using System.Diagnostics;
using Smpc.Agent.DataSources;
using Smpc.Client;
using Smpc.Client.Psi;
using Smpc.Contracts;
using Smpc.Protocols;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;
using Smpc.Protocols.Randomness;

namespace Smpc.Agent.Psi;

/// <summary>The pod's side of a kkrt-v1 session (docs/protocols/psi.md, "kkrt"): the OPRF sender.</summary>
public sealed partial class PsiPodDriver
{
    /// <summary>Chunk of the query handed to the sender at a time: 16,384 rows of 64 bytes (1 MiB).</summary>
    private const int KkrtQueryChunkBytes = 1 << 20;

    /// <summary>
    /// Accepts with kkrt-v1, uploads the setup (fresh code key and base-OT messages: nothing is kept or reused across
    /// sessions, whatever <see cref="PsiPolicy.SetReuseHours"/> says), digests its records meanwhile, reads the modeller's
    /// query as it downloads, and uploads the three sorted tag lists over its distinct records. A message the protocol
    /// refuses ends the session with a decline naming the step and the kind of fault.
    /// </summary>
    private async Task<SessionResponse> RunKkrtAsync(SessionResponse session, CancellationToken ct)
    {
        var psi = session.Psi!;
        using var sender = new KkrtPsiSender(psi.ModellerSetSize, SystemRandomSource.Instance);
        byte[] setup;
        using (var span = SmpcClient.StartSessionActivity("psi.kkrt.setup", session))
        {
            var watch = Stopwatch.StartNew();
            setup = sender.CreateSetup();
            span?.SetTag("smpc.psi.protocol", PsiProtocolNames.Kkrt);
            span?.SetTag("smpc.psi.base_ots", KkrtParameters.BaseOts);
            span?.SetTag("smpc.psi.bytes", setup.Length);
            span?.SetTag("smpc.psi.seconds", Math.Round(watch.Elapsed.TotalSeconds, 3));
        }

        session = await client.AcceptPsiAsync(tenant, session.Id, new PsiAcceptRequest(Version: KkrtPsiVersion.Current), ct);
        log($"session {session.Id}: pod {podId} accepted (kkrt {psi.Mode}, modeller set {psi.ModellerSetSize}, {sender.Bins} bins, source '{psi.Source}')");

        // The records are read and digested while the setup travels and the modeller builds its query.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var encoding = Task.Run(() => DigestOwnRecordsAsync(session, stop.Token), CancellationToken.None);
        try
        {
            using (var upload = new MemoryStream(setup, writable: false))
                session = await client.UploadPsiSetAsync(tenant, session.Id, PsiPayloads.PodSet, upload, ct);

            session = await WaitAsync(session, s => s.Psi!.QueryStored, ct);
            if (await ReadKkrtQueryAsync(session, sender, ct) is { } refused) return await DeclineAsync(session, refused, ct);

            var digests = await encoding;
            using var span = SmpcClient.StartSessionActivity("psi.kkrt.reply", session);
            var watch = Stopwatch.StartNew();
            byte[] reply;
            try
            {
                reply = sender.Reply(digests);
            }
            catch (ProtocolException ex)
            {
                return await DeclineAsync(session, KkrtRefusal("the pod could not answer", ex), ct);
            }

            var elements = digests.Length / KkrtItems.DigestBytes;
            using (var upload = new MemoryStream(reply, writable: false)) // already whole in memory: sent (and resent) from there, no spool
                session = await client.UploadPsiSetAsync(tenant, session.Id, PsiPayloads.Reply, upload, ct);
            span?.SetTag("smpc.psi.protocol", PsiProtocolNames.Kkrt);
            span?.SetTag("smpc.psi.bytes", reply.Length);
            Tag(span, elements, watch);
            log($"session {session.Id}: answered with {elements} distinct records ({reply.Length} bytes of tags) in {watch.Elapsed.TotalSeconds:F1}s");
            return session;
        }
        finally
        {
            await stop.CancelAsync();
            await encoding.ContinueWith(_ => { }, TaskScheduler.Default); // never leave the reader running
        }
    }

    /// <summary>Feeds the query to the sender as it downloads; returns the decline reason if the protocol refused it.</summary>
    private async Task<string?> ReadKkrtQueryAsync(SessionResponse session, KkrtPsiSender sender, CancellationToken ct)
    {
        using var span = SmpcClient.StartSessionActivity("psi.kkrt.extend", session);
        var watch = Stopwatch.StartNew();
        var feed = new KkrtQueryFeed(header => sender.ReadQueryHeader(header.Span), (first, rows) => sender.ReadQueryRows(first, rows));
        try
        {
            await client.ReadPsiSetAsync(tenant, session.Id, PsiPayloads.Query, 16, KkrtQueryChunkBytes / 16, batch =>
            {
                feed.Add(batch);
                return Task.CompletedTask;
            }, ct);
            feed.Complete();
            sender.EndQuery();
        }
        catch (ProtocolException ex)
        {
            span?.SetTag("smpc.psi.refused", ex.Error.ToString());
            return KkrtRefusal("the pod refused the modeller's query", ex);
        }

        span?.SetTag("smpc.psi.protocol", PsiProtocolNames.Kkrt);
        span?.SetTag("smpc.psi.bytes", feed.Bytes);
        Tag(span, feed.Rows, watch);
        return null;
    }

    /// <summary>Reads its source and returns its distinct item digests (16 bytes each), logging the skipped rows as the others do.</summary>
    private async Task<byte[]> DigestOwnRecordsAsync(SessionResponse session, CancellationToken ct)
    {
        using var span = SmpcClient.StartSessionActivity("psi.kkrt.encode", session);
        var watch = Stopwatch.StartNew();
        var stats = new PsiReadStats();
        var digests = new KkrtDigests();
        await using (var source = await RecordSources.OpenAsync(sources[session.Psi!.Source], baseDirectory, ct))
        {
            await foreach (var batch in PsiRecords.ReadAsync(source, session.Psi.PodColumns, BatchElements, stats, ct))
                digests.AddRange(batch.Records);
        }

        var distinct = digests.DistinctOnly();
        Tag(span, stats.Rows - stats.Skipped, watch);
        span?.SetTag("smpc.psi.skipped", stats.Skipped);
        log((stats.SkippedTooMany ? "WARNING: over 1% of rows skipped; " : "")
            + $"session {session.Id}: digested {distinct.Length / KkrtItems.DigestBytes} distinct records of {stats.Rows} in {watch.Elapsed.TotalSeconds:F1}s"
            + (stats.Skipped > 0 ? $"; skipped {stats.Skipped} by reason: {stats.ReasonSummary()} (first: {stats.FirstProblem ?? "blank key columns"})" : ""));
        return distinct;
    }

    /// <summary>The decline reason for a refusal by the kkrt protocol code: what happened, the stable error kind (Malformed, OutOfOrder, InvalidElement), the detail.</summary>
    private static string KkrtRefusal(string what, ProtocolException ex)
    {
        var reason = $"{what} ({ex.Error}): {ex.Message}";
        return reason.Length > 500 ? reason[..500] : reason;
    }
}
