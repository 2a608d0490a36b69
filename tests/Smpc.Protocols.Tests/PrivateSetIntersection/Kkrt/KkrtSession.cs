using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Protocols.Tests.PrivateSetIntersection.Kkrt;

/// <summary>Test plumbing: item digests from small integers and a whole kkrt session between the two parties in memory.</summary>
internal static class KkrtSession
{
    public static byte[] Digests(IEnumerable<int> items) =>
        KkrtItems.Digests(items.Select(i => System.Text.Encoding.ASCII.GetBytes($"record-{i}")).ToList());

    /// <summary>Runs setup, query (streamed in chunks of <paramref name="chunkBins"/> rows) and reply; returns the matches.</summary>
    public static KkrtMatches Run(byte[] modellerDigests, byte[] podDigests, int seed = 1, int chunkBins = 1000)
    {
        using var receiver = new KkrtPsiReceiver(modellerDigests, new DeterministicTestRandom(seed));
        using var sender = new KkrtPsiSender(modellerDigests.Length / KkrtItems.DigestBytes, new DeterministicTestRandom(seed + 1000));
        return Run(receiver, sender, podDigests, chunkBins);
    }

    public static KkrtMatches Run(KkrtPsiReceiver receiver, KkrtPsiSender sender, byte[] podDigests, int chunkBins = 1000)
    {
        receiver.ReadSetup(sender.CreateSetup());
        Stream(receiver, sender, chunkBins);
        return receiver.Match(sender.Reply(podDigests));
    }

    /// <summary>The query: header, rows in chunks, end.</summary>
    public static void Stream(KkrtPsiReceiver receiver, KkrtPsiSender sender, int chunkBins)
    {
        sender.ReadQueryHeader(receiver.QueryHeader());
        var buffer = new byte[chunkBins * KkrtParameters.RowBytes];
        for (long bin = 0; bin < receiver.Bins; bin += chunkBins)
        {
            var count = (int)Math.Min(chunkBins, receiver.Bins - bin);
            receiver.WriteRows(bin, count, buffer);
            sender.ReadQueryRows(bin, buffer.AsSpan(0, count * KkrtParameters.RowBytes));
        }

        sender.EndQuery();
    }

    /// <summary>The whole query as one array (header ‖ rows), as the pod receives it.</summary>
    public static byte[] Query(KkrtPsiReceiver receiver)
    {
        var query = new byte[KkrtParameters.QueryHeaderBytes + (receiver.Bins * KkrtParameters.RowBytes)];
        receiver.QueryHeader().CopyTo(query, 0);
        receiver.WriteRows(0, (int)receiver.Bins, query.AsSpan(KkrtParameters.QueryHeaderBytes));
        return query;
    }
}
