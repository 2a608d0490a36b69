namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>The protocol a session runs.</summary>
public enum SessionKind
{
    /// <summary>Secure aggregation of vectors (DESIGN.md §3.1).</summary>
    SecureAggregation = 1,
    /// <summary>Private set intersection between a modeller and one pod (DESIGN.md §3.4).</summary>
    PrivateSetIntersection = 2,
}
