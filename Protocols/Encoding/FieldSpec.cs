namespace Smpc.Protocols.Encoding;

/// <summary>One named run of vector elements with its fixed-point precision and declared value bounds.</summary>
/// <param name="Name">Field name used in error messages and results (e.g. "weights", "count").</param>
/// <param name="Length">Number of vector elements the field occupies.</param>
/// <param name="Precision">Scale factor: a value v is sent as round(v · Precision); 1 makes an exact integer field.</param>
/// <param name="Min">Smallest value a single party may submit.</param>
/// <param name="Max">Largest value a single party may submit.</param>
public sealed record FieldSpec(string Name, int Length, long Precision, double Min, double Max)
{
    /// <summary>The default fixed-point precision, 10^10.</summary>
    public const long DefaultPrecision = 10_000_000_000;

    /// <summary>An exact integer field (precision 1) with the given bounds.</summary>
    public static FieldSpec Integer(string name, int length, long min, long max) => new(name, length, 1, min, max);

    /// <summary>A real-valued field with the default precision 10^10.</summary>
    public static FieldSpec Real(string name, int length, double min, double max) => new(name, length, DefaultPrecision, min, max);

    /// <summary>True when the field holds integers exactly (precision 1).</summary>
    public bool IsInteger => Precision == 1;
}
