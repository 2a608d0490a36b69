namespace Smpc.Protocols.Coordination;

/// <summary>A coordinator's typed "no": the message changed nothing, and this is what the sender is told.</summary>
/// <param name="Kind">The category of the refusal.</param>
/// <param name="Message">A sentence for the sender (never a secret: coordinators hold none).</param>
public sealed record Refusal(RefusalKind Kind, string Message);
