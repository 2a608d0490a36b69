namespace Smpc.Protocols.Federated.Query;

/// <summary>A federated query's declared shape is invalid; the message says what is wrong.</summary>
public sealed class QuerySpecException : Exception
{
    /// <summary>Creates the exception with a message naming the faulty part of the query.</summary>
    public QuerySpecException(string message)
        : base(message)
    {
    }
}
