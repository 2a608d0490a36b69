namespace Smpc.Protocols.Federated;

/// <summary>Where a federated query or training session is, as its coordinator sees it.</summary>
public enum FederatedPhase
{
    /// <summary>Rounds run until the modeller finishes or a pod declines.</summary>
    Running = 1,
    /// <summary>The modeller finished it.</summary>
    Completed = 2,
    /// <summary>Ended with a reason (a pod declined, the modeller gave up, or its lifetime ended).</summary>
    Failed = 3,
    /// <summary>Ended early by its modeller or the tenant admin.</summary>
    Cancelled = 4,
}
