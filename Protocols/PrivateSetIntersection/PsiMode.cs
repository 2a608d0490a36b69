namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>What the PSI client (modeller) learns.</summary>
public enum PsiMode
{
    /// <summary>Which of the client's records are in the server's set.</summary>
    Intersection = 1,

    /// <summary>Only how many (the server shuffles its replies).</summary>
    Cardinality = 2,
}
