namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>One selected column of a PSI record and its normalisation rule.</summary>
/// <param name="Name">Column name, used in error messages.</param>
/// <param name="Kind">Normalisation rule.</param>
/// <param name="DefaultCountryCode">For <see cref="ColumnKind.Phone"/>: digits of the country code given to national numbers (e.g. "44").</param>
public sealed record ColumnSpec(string Name, ColumnKind Kind, string? DefaultCountryCode = null);
