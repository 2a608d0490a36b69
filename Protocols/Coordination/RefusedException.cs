namespace Smpc.Protocols.Coordination;

/// <summary>Carries a refusal out of a coordinator's rule checks to its public entry point, which turns it into a step.</summary>
internal sealed class RefusedException(RefusalKind kind, string message) : Exception(message)
{
    public Refusal Refusal { get; } = new(kind, message);

    public static RefusedException Invalid(string message) => new(RefusalKind.Invalid, message);

    public static RefusedException Conflict(string message) => new(RefusalKind.Conflict, message);

    public static RefusedException WrongPhase(string message) => new(RefusalKind.WrongPhase, message);

    /// <summary>The sender speaks another protocol version than the session.</summary>
    public static RefusedException UnsupportedVersion(string message) => new(RefusalKind.UnsupportedVersion, message);

    /// <summary>Runs a coordinator step; a refusal thrown by its checks becomes a refused step on the unchanged state.</summary>
    public static CoordinatorStep<TState, TEvent> Guard<TState, TEvent>(TState state, Func<CoordinatorStep<TState, TEvent>> step)
        where TState : class
    {
        ArgumentNullException.ThrowIfNull(state);
        try
        {
            return step();
        }
        catch (RefusedException refused)
        {
            return CoordinatorStep<TState, TEvent>.Refused(state, refused.Refusal);
        }
    }

    /// <summary>Runs rule checks: the refusal they throw, or null when they pass.</summary>
    public static Refusal? Check(Action check)
    {
        try
        {
            check();
            return null;
        }
        catch (RefusedException refused)
        {
            return refused.Refusal;
        }
    }
}
