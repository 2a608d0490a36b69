namespace Smpc.Protocols.Coordination;

/// <summary>Carries a refusal out of a coordinator's rule checks to its public entry point, which turns it into a step.</summary>
internal sealed class RefusedException(RefusalKind kind, string message) : Exception(message)
{
    public Refusal Refusal { get; } = new(kind, message);

    public static RefusedException Invalid(string message) => new(RefusalKind.Invalid, message);

    public static RefusedException Conflict(string message) => new(RefusalKind.Conflict, message);

    public static RefusedException WrongPhase(string message) => new(RefusalKind.WrongPhase, message);
}
