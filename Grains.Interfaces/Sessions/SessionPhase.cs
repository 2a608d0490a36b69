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
}
