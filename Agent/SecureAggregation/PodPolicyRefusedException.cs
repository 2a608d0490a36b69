namespace Smpc.Agent.SecureAggregation;

/// <summary>
/// The pod's own policy stopped it mid-session (e.g. the unmask request shows a set of included pods its differencing guard
/// refuses): the agent declines the session with the category <c>policy</c>; the message stays in the pod's log.
/// </summary>
public sealed class PodPolicyRefusedException(string message) : Exception(message);
