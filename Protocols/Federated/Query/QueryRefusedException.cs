namespace Smpc.Protocols.Federated.Query;

/// <summary>
/// A pod refuses to answer a federated query: its policy forbids it, or its data does not fit the declared shape.
/// <see cref="Exception.Message"/> never quotes the pod's data, so it may be sent on (e.g. as the pod's decline reason);
/// <see cref="Detail"/> may (the value outside the bounds, the key outside the domain) and is for the pod's own log.
/// </summary>
public sealed class QueryRefusedException : Exception
{
    /// <summary>Creates a refusal whose reason quotes no data.</summary>
    public QueryRefusedException(string reason)
        : this(reason, reason)
    {
    }

    /// <summary>Creates a refusal with a shareable reason and a detailed one for the pod's operator.</summary>
    public QueryRefusedException(string reason, string detail, Exception? inner = null)
        : base(reason, inner)
    {
        Detail = detail;
    }

    /// <summary>The reason as the pod's operator should see it; it may quote the pod's own data, so it stays on the pod.</summary>
    public string Detail { get; }
}
