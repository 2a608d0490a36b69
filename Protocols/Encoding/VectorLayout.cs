namespace Smpc.Protocols.Encoding;

/// <summary>The ordered fields that make up every party's vector; all parties of a session share one layout.</summary>
public sealed class VectorLayout
{
    private readonly FieldSpec[] fields;
    private readonly int[] offsets;

    /// <summary>Creates a layout; names must be unique and non-empty, lengths positive.</summary>
    public VectorLayout(IEnumerable<FieldSpec> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        this.fields = [.. fields];
        if (this.fields.Length == 0)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "a vector layout needs at least one field");
        }

        offsets = new int[this.fields.Length];
        var names = new HashSet<string>(StringComparer.Ordinal);
        long total = 0;
        for (var i = 0; i < this.fields.Length; i++)
        {
            var f = this.fields[i];
            if (string.IsNullOrWhiteSpace(f.Name) || !names.Add(f.Name))
            {
                throw new InputRejectedException(ProtocolError.InvalidParameters, f.Name ?? string.Empty, $"field name '{f.Name}' is empty or repeated");
            }

            if (f.Length <= 0 || f.Precision < 1)
            {
                throw new InputRejectedException(ProtocolError.InvalidParameters, f.Name, $"field '{f.Name}' needs a positive length and a precision ≥ 1");
            }

            if (!double.IsFinite(f.Min) || !double.IsFinite(f.Max) || f.Min > f.Max)
            {
                throw new InputRejectedException(ProtocolError.InvalidParameters, f.Name, $"field '{f.Name}' bounds [{f.Min}, {f.Max}] must be finite with min ≤ max");
            }

            offsets[i] = (int)total;
            total += f.Length;
            if (total > Array.MaxLength)
            {
                throw new ProtocolException(ProtocolError.InvalidParameters, "vector layout is longer than an array can hold");
            }
        }

        Length = (int)total;
    }

    /// <summary>The fields in vector order.</summary>
    public IReadOnlyList<FieldSpec> Fields => fields;

    /// <summary>Total number of elements.</summary>
    public int Length { get; }

    /// <summary>A single-field layout, convenient for plain vectors.</summary>
    public static VectorLayout Single(FieldSpec field) => new([field]);

    /// <summary>Index of the first element of field <paramref name="fieldIndex"/>.</summary>
    public int OffsetOf(int fieldIndex) => offsets[fieldIndex];

    /// <summary>Position of the field called <paramref name="name"/>.</summary>
    public int IndexOf(string name)
    {
        for (var i = 0; i < fields.Length; i++)
        {
            if (string.Equals(fields[i].Name, name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        throw new ArgumentException($"no field named '{name}'", nameof(name));
    }
}
