namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>The protocol a session runs.</summary>
public enum SessionKind
{
    /// <summary>Secure aggregation of vectors (DESIGN.md §3.1).</summary>
    SecureAggregation = 1,
    /// <summary>Private set intersection between a modeller and one pod (DESIGN.md §3.4).</summary>
    PrivateSetIntersection = 2,
    /// <summary>Federated SQL (DESIGN.md §3.2): a parent session whose rounds are secure-aggregation sessions.</summary>
    FederatedQuery = 3,
    /// <summary>Federated training, FedAvg (DESIGN.md §3.3): a parent session whose rounds are secure-aggregation sessions.</summary>
    FederatedTraining = 4,
}
