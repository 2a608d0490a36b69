using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

/// <summary>
/// A pod's whole encoded set and its answer to a whole query, through the streamed API the pod agent uses
/// (<see cref="IPsiServer.EncodeServerBatch"/> and <see cref="IPsiServer.BeginQuery"/>), in one batch.
/// </summary>
internal static class PodAnswers
{
    /// <summary>The encoded set as the pod uploads it: encoded, then sorted (which de-duplicates it).</summary>
    public static byte[][] EncodedSet(IPsiServer pod, IReadOnlyList<byte[]> records) =>
        Split(PsiElements.SortUnique(pod.EncodeServerBatch(records), 32), 32);

    /// <summary>The pod's replies to one query, in order; the elements are sent as they are (a wrong length included).</summary>
    public static byte[][] Answer(IPsiServer pod, IReadOnlyList<byte[]> elements)
    {
        var replies = pod.BeginQuery(elements.Count).Respond(elements.SelectMany(e => e).ToArray());
        return Split(replies, pod.ElementBytes);
    }

    private static byte[][] Split(byte[] flat, int size) => [.. flat.Chunk(size)];
}
