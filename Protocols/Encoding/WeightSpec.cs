namespace Smpc.Protocols.Encoding;

/// <summary>The declared weight of a weighted mean: each pod's w lies in [Min, Max] (Min &gt; 0) and is a multiple of 1/Precision (default 1: counts).</summary>
/// <param name="Min">Smallest weight a pod may supply; must be positive and at least 1/Precision.</param>
/// <param name="Max">Largest weight a pod may supply.</param>
/// <param name="Precision">Scale factor: w is sent as the integer w · Precision, never rounded (a finer weight is refused).</param>
public sealed record WeightSpec(double Min, double Max, long Precision = 1);
