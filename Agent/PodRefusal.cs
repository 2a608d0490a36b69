namespace Smpc.Agent;

/// <summary>
/// Why a pod will not take part in a secure-aggregation session: the reason category it tells the session (null when there
/// is nothing to tell, e.g. the session has ended) and a message that stays in the pod's own log.
/// </summary>
public sealed record PodRefusal(string? Category, string Message);
