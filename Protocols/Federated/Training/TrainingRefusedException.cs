namespace Smpc.Protocols.Federated.Training;

/// <summary>A pod will not train on this request or its data; <see cref="Exception.Message"/> is the reason it sends the modeller (it never echoes a data value).</summary>
public sealed class TrainingRefusedException : Exception
{
    /// <summary>Creates a refusal with its reason.</summary>
    public TrainingRefusedException(string reason)
        : base(reason)
    {
    }

    /// <summary>Creates a refusal with its reason and the local error behind it (kept for the pod's own logs).</summary>
    public TrainingRefusedException(string reason, Exception inner)
        : base(reason, inner)
    {
    }
}
