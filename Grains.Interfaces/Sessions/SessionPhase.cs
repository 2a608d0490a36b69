namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>Where a session is in its protocol. Later protocol steps add phases between Created and the end states.</summary>
public enum SessionPhase
{
    /// <summary>Created and waiting for its participants.</summary>
    Created = 1,
    /// <summary>Finished successfully.</summary>
    Completed = 2,
    /// <summary>Ended with a reason.</summary>
    Failed = 3,
    /// <summary>Secure aggregation step 1: pods publish signed key bundles.</summary>
    KeyExchange = 4,
    /// <summary>Step 2: pods send sealed share envelopes, relayed unopened.</summary>
    ShareExchange = 5,
    /// <summary>Step 3: pods upload masked vectors.</summary>
    MaskedInput = 6,
    /// <summary>Step 4: survivors answer the unmask request, sealed to the modeller; the modeller unmasks.</summary>
    Unmasking = 7,
    /// <summary>PSI: waiting for the pod to accept (publishing its RSA key) or decline.</summary>
    AwaitingPod = 8,
    /// <summary>PSI: the pod's encoded set, the modeller's query and the pod's reply are exchanged.</summary>
    Exchange = 9,
    /// <summary>PSI: the modeller has everything it needs (or the pod's count); it finishes locally and reports.</summary>
    Answered = 10,
    /// <summary>Federated query or training: rounds run until the modeller finishes or a pod declines.</summary>
    Running = 11,
    /// <summary>Ended early by its modeller or the tenant admin; every later protocol message is refused.</summary>
    Cancelled = 12,
}
