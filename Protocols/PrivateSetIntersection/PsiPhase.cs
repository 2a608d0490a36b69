namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>Where a PSI session is, as its coordinator sees it.</summary>
public enum PsiPhase
{
    /// <summary>Waiting for the pod to accept (publishing its RSA key for rsa-blind) or decline.</summary>
    AwaitingPod = 1,
    /// <summary>The pod's set, the modeller's query and the pod's reply (or the double-blinded set and the count) are exchanged.</summary>
    Exchange = 2,
    /// <summary>The modeller has everything it needs (or the pod's count); it finishes locally and reports.</summary>
    Answered = 3,
    /// <summary>The modeller finished.</summary>
    Completed = 4,
    /// <summary>Ended with a reason (a decline or the deadline).</summary>
    Failed = 5,
    /// <summary>Ended early by its modeller or the tenant admin.</summary>
    Cancelled = 6,
}
