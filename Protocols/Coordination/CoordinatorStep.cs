namespace Smpc.Protocols.Coordination;

/// <summary>
/// What a coordinator made of one message: the new state and the events the service acts on (store, sum, audit), or a
/// refusal that leaves the state as it was. <see cref="Changed"/> is false for a refusal and for an idempotent repeat,
/// so the service saves only real changes.
/// </summary>
/// <typeparam name="TState">The coordinator's stored state.</typeparam>
/// <typeparam name="TEvent">The coordinator's event type.</typeparam>
public sealed record CoordinatorStep<TState, TEvent>(TState State, IReadOnlyList<TEvent> Events, Refusal? Refusal, bool Changed)
    where TState : class
{
    /// <summary>True when the message was refused.</summary>
    public bool IsRefused => Refusal is not null;

    /// <summary>The message was accepted and changed the state.</summary>
    public static CoordinatorStep<TState, TEvent> Accepted(TState state, IReadOnlyList<TEvent> events) => new(state, events, null, true);

    /// <summary>The message was accepted but changes nothing (a repeat, or nothing due).</summary>
    public static CoordinatorStep<TState, TEvent> Unchanged(TState state) => new(state, [], null, false);

    /// <summary>The message was refused; the state is unchanged.</summary>
    public static CoordinatorStep<TState, TEvent> Refused(TState state, Refusal refusal) => new(state, [], refusal, false);
}
