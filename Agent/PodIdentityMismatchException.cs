namespace Smpc.Agent;

/// <summary>The agent's identity key is not the one registered for its pod: it refuses to start rather than sign for another key.</summary>
public sealed class PodIdentityMismatchException(string pod, string local, string? registered)
    : Exception($"The identity key file's key ({local}) is not the key registered for pod {pod} ({registered ?? "none"}); the agent will not start. " +
        "Use the pod's own key file, or register this key for the pod.")
{
    /// <summary>The fingerprint of the key in the agent's identity key file.</summary>
    public string LocalFingerprint { get; } = local;

    /// <summary>The fingerprint the service has registered for the pod.</summary>
    public string? RegisteredFingerprint { get; } = registered;
}
