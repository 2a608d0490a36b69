namespace Smpc.Protocols.Federated;

/// <summary>Something a federated coordinator decided that the service must act on (measure, audit, delete releases).</summary>
public abstract record FederatedEvent
{
    /// <summary>A durable step of the session (round, member-key, sealed-keys, release, metrics, end), for the step counter.</summary>
    public sealed record StepTaken(string Step) : FederatedEvent;

    /// <summary>A pod published its member key: its first step in the session.</summary>
    public sealed record MemberJoined(string Pod) : FederatedEvent;

    /// <summary>The session ended: completed when <paramref name="FailureReason"/> is null; <paramref name="Declined"/> is a pod's reason when one declined.</summary>
    public sealed record Ended(string? FailureReason, string? Declined) : FederatedEvent;
}
