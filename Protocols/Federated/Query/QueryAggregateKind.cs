namespace Smpc.Protocols.Federated.Query;

/// <summary>The kind of an aggregate column of a federated query.</summary>
public enum QueryAggregateKind
{
    /// <summary>Rows in the group: an exact integer, pooled by summing.</summary>
    Count,

    /// <summary>The group's sum of a value, pooled by summing.</summary>
    Sum,

    /// <summary>The group's mean of a value, pooled as Σ(mean · count) / Σcount.</summary>
    Mean,
}
