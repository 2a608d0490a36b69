namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>One named field (tensor) of the aggregated vector: its length (and optional shape, row-major), fixed-point precision and declared bounds.</summary>
[GenerateSerializer, Immutable, Alias("smpc.aggregation-field")]
public sealed record AggregationField(
    [property: Id(0)] string Name,
    [property: Id(1)] int Length,
    [property: Id(2)] long Precision,
    [property: Id(3)] double Min,
    [property: Id(4)] double Max,
    [property: Id(5)] IReadOnlyList<int>? Shape = null)
{
    /// <summary>Equal when every part is, the shape compared element by element.</summary>
    public bool Equals(AggregationField? other) =>
        other is not null && Name == other.Name && Length == other.Length && Precision == other.Precision && Min.Equals(other.Min) && Max.Equals(other.Max)
        && (Shape ?? []).SequenceEqual(other.Shape ?? []);

    public override int GetHashCode() => HashCode.Combine(Name, Length, Precision, Min, Max);
}

/// <summary>What a secure-aggregation session computes and under which rules.</summary>
[GenerateSerializer, Immutable, Alias("smpc.aggregation-spec")]
public sealed record AggregationSpec(
    [property: Id(0)] IReadOnlyList<AggregationField> Fields,
    [property: Id(1)] AggregationOperation Operation,
    [property: Id(2)] int? Threshold,
    [property: Id(3)] byte[] ModellerPublicKey,
    [property: Id(4)] TimeSpan PhaseTimeout,
    [property: Id(5)] string Input,
    [property: Id(6)] string? WeightField,
    [property: Id(7)] IReadOnlyDictionary<SessionPhase, TimeSpan>? PhaseTimeouts = null,
    [property: Id(8)] AggregationWeight? Weight = null)
{
    /// <summary>How long <paramref name="phase"/> waits for late pods: its own timeout if set, else <see cref="PhaseTimeout"/>.</summary>
    public TimeSpan TimeoutFor(SessionPhase phase) => PhaseTimeouts?.GetValueOrDefault(phase) is { } own && own > TimeSpan.Zero ? own : PhaseTimeout;
}

/// <summary>The aggregate the modeller computes from the unmasked sum.</summary>
public enum AggregationOperation
{
    /// <summary>Σ x_i.</summary>
    Sum = 1,
    /// <summary>Σ x_i / |included|.</summary>
    Mean = 2,
    /// <summary>Σ w_i·x_i / Σ w_i: pods supply x (the fields) and w (bounded by <see cref="AggregationSpec.Weight"/>); the pod agent forms w·x.</summary>
    WeightedMean = 3,
}
