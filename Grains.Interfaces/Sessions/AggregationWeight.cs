namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>The declared weight of a weighted mean: each pod's w lies in [Min, Max] (Min &gt; 0) and is a multiple of 1/Precision.</summary>
[GenerateSerializer, Immutable, Alias("smpc.aggregation-weight")]
public sealed record AggregationWeight(
    [property: Id(0)] double Min,
    [property: Id(1)] double Max,
    [property: Id(2)] long Precision);
