using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// The canonical record encoder shared by both PSI sides: typed, normalised, length-prefixed columns.
/// </summary>
/// <remarks>
/// 1. Each selected column value is normalised by its <see cref="ColumnKind"/> (null, empty or blank → absent).
/// 2. The record is "smpc/psi/record/v1" ‖ BE16 column count ‖ per column: kind byte ‖ 0x00 (absent) or
///    0x01 ‖ BE32 byte length ‖ UTF-8 bytes.
/// The length prefixes make the encoding injective: ("ab", "c") and ("a", "bc") never collide.
/// </remarks>
public sealed class RecordEncoder
{
    private static readonly byte[] Prefix = "smpc/psi/record/v1"u8.ToArray();

    // Under InvariantGlobalization .NET cannot normalise non-ASCII text; two hosts would then encode the
    // same name differently and miss matches silently, so such values are refused instead.
    private static readonly bool NormalizationAvailable = "e\u0301".Normalize(NormalizationForm.FormC) == "\u00e9";
    private readonly ColumnSpec[] columns;

    /// <summary>Creates an encoder for the given columns, in order.</summary>
    public RecordEncoder(IReadOnlyList<ColumnSpec> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count is 0 or > ushort.MaxValue)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "a record needs 1..65535 columns");
        }

        foreach (var c in columns)
        {
            if (c.Kind == ColumnKind.Phone && c.DefaultCountryCode is { } cc && (cc.Length is 0 or > 3 || !cc.All(char.IsAsciiDigit)))
            {
                throw new InputRejectedException(ProtocolError.InvalidParameters, c.Name, $"column '{c.Name}': country code must be 1–3 digits");
            }
        }

        this.columns = [.. columns];
    }

    /// <summary>The columns, in encoding order.</summary>
    public IReadOnlyList<ColumnSpec> Columns => columns;

    /// <summary>Encodes one record; refuses values that cannot be canonicalised, naming the column.</summary>
    public byte[] Encode(IReadOnlyList<string?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count != columns.Length)
        {
            throw new InputRejectedException(ProtocolError.InvalidRecord, "*", $"record has {values.Count} values, expected {columns.Length}");
        }

        var output = new List<byte>(64);
        output.AddRange(Prefix);
        output.Add((byte)(columns.Length >> 8));
        output.Add((byte)columns.Length);
        Span<byte> length = stackalloc byte[4];
        for (var i = 0; i < columns.Length; i++)
        {
            output.Add((byte)columns[i].Kind);
            var canonical = Canonicalize(i, values[i]);
            if (canonical is null)
            {
                output.Add(0);
                continue;
            }

            var bytes = System.Text.Encoding.UTF8.GetBytes(canonical);
            output.Add(1);
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)bytes.Length);
            output.AddRange(length);
            output.AddRange(bytes);
        }

        return [.. output];
    }

    /// <summary>The canonical text of column <paramref name="column"/>'s value, or null when absent.</summary>
    public string? Canonicalize(int column, string? value)
    {
        var spec = columns[column];
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (!NormalizationAvailable && !System.Text.Ascii.IsValid(value))
        {
            throw new InputRejectedException(
                ProtocolError.NativeLibraryUnavailable,
                spec.Name,
                $"column '{spec.Name}': non-ASCII text needs Unicode normalisation (ICU), which is off in this process (InvariantGlobalization=true)");
        }

        return spec.Kind switch
        {
            ColumnKind.Text => FoldText(value),
            ColumnKind.CaseSensitiveText => value.Trim().Normalize(NormalizationForm.FormC),
            ColumnKind.Email => Email(spec, value),
            ColumnKind.Phone => Phone(spec, value),
            ColumnKind.Integer => long.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                ? n.ToString(CultureInfo.InvariantCulture)
                : throw Invalid(spec, "is not a 64-bit integer"),
            _ => throw new InputRejectedException(ProtocolError.InvalidParameters, spec.Name, $"column '{spec.Name}' has unknown kind {spec.Kind}"),
        };
    }

    private static string FoldText(string value)
    {
        var nfc = value.Trim().Normalize(NormalizationForm.FormC);
        var collapsed = new StringBuilder(nfc.Length);
        var inSpace = false;
        foreach (var ch in nfc)
        {
            if (char.IsWhiteSpace(ch))
            {
                inSpace = true;
                continue;
            }

            if (inSpace)
            {
                collapsed.Append(' ');
                inSpace = false;
            }

            collapsed.Append(ch);
        }

        // Simple case folding: upper then lower folds ς/σ/Σ and K/k/K (Kelvin) together; then re-normalise.
        return collapsed.ToString().ToUpperInvariant().ToLowerInvariant().Normalize(NormalizationForm.FormC);
    }

    private static string Email(ColumnSpec spec, string value)
    {
        var folded = FoldText(value);
        var at = folded.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at != folded.LastIndexOf('@') || at == folded.Length - 1 || folded.Any(char.IsWhiteSpace))
        {
            throw Invalid(spec, "is not an e-mail address (local@domain)");
        }

        var local = folded[..at];
        var domain = folded[(at + 1)..].TrimEnd('.');
        var plus = local.IndexOf('+', StringComparison.Ordinal);
        if (plus == 0)
        {
            throw Invalid(spec, "has an empty local part before '+'");
        }

        if (plus > 0)
        {
            local = local[..plus];
        }

        if (domain is "gmail.com" or "googlemail.com")
        {
            local = local.Replace(".", string.Empty, StringComparison.Ordinal);
            domain = "gmail.com";
        }

        if (local.Length == 0 || domain.Length == 0 || !domain.Contains('.', StringComparison.Ordinal))
        {
            throw Invalid(spec, "is not an e-mail address (local@domain.tld)");
        }

        return local + "@" + domain;
    }

    private static string Phone(ColumnSpec spec, string value)
    {
        var text = value.Normalize(NormalizationForm.FormKC).Trim().Replace("(0)", string.Empty, StringComparison.Ordinal);
        var digits = new StringBuilder(text.Length);
        var international = false;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (ch == '+' && i == 0)
            {
                international = true;
            }
            else if (char.IsAsciiDigit(ch))
            {
                digits.Append(ch);
            }
            else if (ch is not (' ' or '-' or '.' or '(' or ')' or '/'))
            {
                throw Invalid(spec, $"contains '{ch}', which is not allowed in a phone number");
            }
        }

        var number = digits.ToString();
        if (!international && number.StartsWith("00", StringComparison.Ordinal))
        {
            international = true;
            number = number[2..];
        }

        if (!international)
        {
            if (spec.DefaultCountryCode is null)
            {
                throw Invalid(spec, "is a national number but the column has no default country code");
            }

            number = spec.DefaultCountryCode + (number.StartsWith('0') ? number[1..] : number);
        }

        return number.Length is < 8 or > 15 || number[0] == '0'
            ? throw Invalid(spec, "does not have 8–15 digits in E.164 form")
            : "+" + number;
    }

    private static InputRejectedException Invalid(ColumnSpec spec, string reason) =>
        new(ProtocolError.InvalidRecord, spec.Name, $"column '{spec.Name}': value {reason}");
}
