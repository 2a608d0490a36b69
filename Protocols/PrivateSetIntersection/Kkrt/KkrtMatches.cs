namespace Smpc.Protocols.PrivateSetIntersection.Kkrt;

/// <summary>What the modeller learned: for each of its items (in the order given) whether the pod holds it, and the pod's set size.</summary>
public sealed record KkrtMatches(bool[] Matched, long PodSetSize)
{
    /// <summary>Number of matched items.</summary>
    public long Count => Matched.LongCount(m => m);
}
