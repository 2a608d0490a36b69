namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>
/// An amount of one kind to count against its daily <see cref="Limit"/>, with what the same upload still declares to come
/// (<see cref="StillExpected"/>), so an upload whose declared whole cannot fit is refused before it is half stored.
/// </summary>
[GenerateSerializer, Immutable, Alias("smpc.usage-charge")]
public sealed record UsageCharge(
    [property: Id(0)] UsageKind Kind,
    [property: Id(1)] long Amount,
    [property: Id(2)] long Limit,
    [property: Id(3)] long StillExpected = 0);
