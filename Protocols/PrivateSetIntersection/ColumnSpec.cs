namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>One selected column of a PSI record and its normalisation rule.</summary>
/// <param name="Name">Column name, used in error messages.</param>
/// <param name="Kind">Normalisation rule.</param>
/// <param name="DefaultCountryCode">For <see cref="ColumnKind.Phone"/>: the country of national numbers, as a calling code ("44") or an ISO 3166 region ("GB"); see <see cref="RecordEncoder.PhoneRegion"/>.</param>
public sealed record ColumnSpec(string Name, ColumnKind Kind, string? DefaultCountryCode = null);
