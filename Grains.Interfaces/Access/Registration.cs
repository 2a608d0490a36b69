namespace Smpc.Grains.Interfaces.Access;

/// <summary>The outcome of an idempotent create: the stored entity, and whether this call created it (and so issued its key).</summary>
[GenerateSerializer, Immutable, Alias("smpc.registration`1")]
public sealed record Registration<T>([property: Id(0)] T Info, [property: Id(1)] bool Created);
