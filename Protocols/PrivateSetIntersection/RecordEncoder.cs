using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using PhoneNumbers;
using Smpc.Protocols.PrivateSetIntersection.Unicode;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// The canonical record encoder shared by both PSI sides: typed, normalised, length-prefixed columns.
/// </summary>
/// <remarks>
/// The rules are specified step by step in docs/protocols/psi.md ("Canonical records"); every encoder must pass the
/// conformance vectors in docs/protocols/vectors/psi-records.json, which an independent implementation generates.
/// 1. Each selected column value is canonicalised by its <see cref="ColumnKind"/> (null or only White_Space → absent);
///    a value that cannot be is refused with a stable reason code (<see cref="RecordRefusal"/>).
/// 2. The record is "smpc/psi/record/v2" ‖ BE16 column count ‖ per column: kind byte ‖ 0x00 (absent) or
///    0x01 ‖ BE32 byte length ‖ UTF-8 bytes.
/// The length prefixes make the encoding injective: ("ab", "c") and ("a", "bc") never collide.
/// </remarks>
public sealed class RecordEncoder
{
    /// <summary>The record prefix, which names the version of the canonicalisation rules.</summary>
    public const string Version = "smpc/psi/record/v2";

    private static readonly byte[] Prefix = System.Text.Encoding.UTF8.GetBytes(Version);
    // libphonenumber's metadata and ICU load on first use only: a run without phone columns or non-ASCII text never pays for them.
    private static PhoneNumberUtil Phones => OnFirstUse.Phones;

    private static bool NormalizationAvailable => OnFirstUse.NormalizationAvailable;
    private readonly ColumnSpec[] columns;
    private readonly string?[] regions;

    /// <summary>Creates an encoder for the given columns, in order.</summary>
    public RecordEncoder(IReadOnlyList<ColumnSpec> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count is 0 or > ushort.MaxValue)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "a record needs 1..65535 columns");
        }

        this.columns = [.. columns];
        regions = new string?[this.columns.Length];
        for (var i = 0; i < this.columns.Length; i++)
        {
            var c = this.columns[i];
            if (c.Kind == ColumnKind.Phone && c.DefaultCountryCode is { } cc)
            {
                regions[i] = PhoneRegion(cc)
                    ?? throw new InputRejectedException(ProtocolError.InvalidParameters, c.Name, $"column '{c.Name}': country code must be a calling code (1–3 digits, e.g. 44) or a region (e.g. GB)");
            }
        }
    }

    /// <summary>The columns, in encoding order.</summary>
    public IReadOnlyList<ColumnSpec> Columns => columns;

    /// <summary>
    /// The libphonenumber region for a phone column's default country: a calling code ("44" → "GB", "1" → "US", the
    /// code's main region) or a supported ISO 3166 region ("GB", any case). Null when it names no country.
    /// </summary>
    public static string? PhoneRegion(string countryCode)
    {
        ArgumentNullException.ThrowIfNull(countryCode);
        if (countryCode.Length is >= 1 and <= 3 && countryCode.All(char.IsAsciiDigit))
        {
            var region = Phones.GetRegionCodeForCountryCode(int.Parse(countryCode, CultureInfo.InvariantCulture));
            return Phones.GetSupportedRegions().Contains(region) ? region : null;
        }

        var upper = countryCode.ToUpperInvariant();
        return countryCode.Length == 2 && countryCode.All(char.IsAsciiLetter) && Phones.GetSupportedRegions().Contains(upper) ? upper : null;
    }

    /// <summary>Encodes one record; refuses values that cannot be canonicalised, naming the column and the reason.</summary>
    /// <remarks>
    /// All-ASCII values take a fast path that is the full rules specialised to ASCII (NFKC and NFC leave ASCII unchanged,
    /// its full case folding is A–Z → a–z, its White_Space is U+0009–U+000D and U+0020), written straight into a per-thread
    /// buffer; any other value takes the full Unicode path. RecordEncoderFastPathTests checks the two agree. Safe to call
    /// from several threads at once.
    /// </remarks>
    public byte[] Encode(IReadOnlyList<string?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count != columns.Length)
        {
            throw new InputRejectedException(ProtocolError.InvalidRecord, "*", $"record has {values.Count} values, expected {columns.Length}", RecordRefusal.Malformed);
        }

        var buffer = scratch ?? new byte[256];
        scratch = null; // a refusal thrown below leaves no buffer shared with a re-entrant call
        var position = Prefix.Length + 2;
        Prefix.CopyTo(buffer, 0);
        buffer[Prefix.Length] = (byte)(columns.Length >> 8);
        buffer[Prefix.Length + 1] = (byte)columns.Length;
        for (var i = 0; i < columns.Length; i++)
        {
            var value = values[i];
            if (value is not null && Ascii.IsValid(value))
            {
                // kind, flag, BE32 length, at most value.Length bytes (an integer's canonical form is never longer than its text).
                EnsureCapacity(ref buffer, position + 6 + Math.Max(value.Length, 20));
                buffer[position++] = (byte)columns[i].Kind;
                var written = WriteAscii(i, value, buffer.AsSpan(position + 5));
                if (written >= 0)
                {
                    buffer[position] = 1;
                    BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(position + 1), (uint)written);
                    position += 5 + written;
                    continue;
                }

                if (written == Absent)
                {
                    buffer[position++] = 0;
                    continue;
                }

                position--; // e-mail and phone go through their canonical text
            }

            position = WriteCanonical(ref buffer, position, (byte)columns[i].Kind, Canonicalize(i, value));
        }

        var record = buffer.AsSpan(0, position).ToArray();
        scratch = buffer;
        return record;
    }

    /// <summary>The full Unicode path for every value (what <see cref="Encode"/> computes without its ASCII fast path): the reference the fast path is tested against.</summary>
    internal byte[] EncodeReference(IReadOnlyList<string?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count != columns.Length)
        {
            throw new InputRejectedException(ProtocolError.InvalidRecord, "*", $"record has {values.Count} values, expected {columns.Length}", RecordRefusal.Malformed);
        }

        var buffer = new byte[64];
        Prefix.CopyTo(buffer, 0);
        buffer[Prefix.Length] = (byte)(columns.Length >> 8);
        buffer[Prefix.Length + 1] = (byte)columns.Length;
        var position = Prefix.Length + 2;
        for (var i = 0; i < columns.Length; i++)
        {
            position = WriteCanonical(ref buffer, position, (byte)columns[i].Kind, CanonicalizeReference(i, values[i]));
        }

        return buffer.AsSpan(0, position).ToArray();
    }

    [ThreadStatic]
    private static byte[]? scratch;

    /// <summary>Initialised on first use (a nested class's static fields are set when it is first touched).</summary>
    private static class OnFirstUse
    {
        public static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

        // Under InvariantGlobalization .NET cannot normalise non-ASCII text; two hosts would then encode the
        // same name differently and miss matches silently, so such values are refused instead.
        public static readonly bool NormalizationAvailable = "e\u0301".Normalize(NormalizationForm.FormC) == "\u00e9";
    }

    private const int Absent = -1, General = -2;

    private static int WriteCanonical(ref byte[] buffer, int position, byte kind, string? canonical)
    {
        if (canonical is null)
        {
            EnsureCapacity(ref buffer, position + 2);
            buffer[position++] = kind;
            buffer[position++] = 0;
            return position;
        }

        var count = System.Text.Encoding.UTF8.GetByteCount(canonical);
        EnsureCapacity(ref buffer, position + 6 + count);
        buffer[position++] = kind;
        buffer[position++] = 1;
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(position), (uint)count);
        position += 4;
        return position + System.Text.Encoding.UTF8.GetBytes(canonical, buffer.AsSpan(position));
    }

    private static void EnsureCapacity(ref byte[] buffer, int needed)
    {
        if (needed > buffer.Length) Array.Resize(ref buffer, Math.Max(needed, buffer.Length * 2));
    }

    /// <summary>
    /// Column <paramref name="column"/>'s canonical bytes for an all-ASCII <paramref name="value"/> written to
    /// <paramref name="destination"/> (room for value.Length or 20 bytes): their count, <see cref="Absent"/>, or
    /// <see cref="General"/> for a kind written through its canonical text (e-mail, phone). Refusals are those of the general path.
    /// </summary>
    private int WriteAscii(int column, string value, Span<byte> destination)
    {
        if (!value.AsSpan().ContainsAnyExcept(AsciiWhiteSpaceValues)) return Absent;
        var spec = columns[column];
        switch (spec.Kind)
        {
            case ColumnKind.Text:
                return FoldAscii(value, destination);
            case ColumnKind.CaseSensitiveText:
                var trimmed = value.AsSpan().Trim(AsciiWhiteSpace);
                return System.Text.Encoding.ASCII.GetBytes(trimmed, destination);
            case ColumnKind.Integer:
                var n = IntegerTrimmed(spec, value.AsSpan().Trim(AsciiWhiteSpace));
                return n.TryFormat(destination, out var length, default, CultureInfo.InvariantCulture) ? length : throw new InvalidOperationException("no room for an integer");
            default:
                return General;
        }
    }

    /// <summary>ASCII White_Space (U+0009–U+000D, U+0020): the whole White_Space property restricted to ASCII.</summary>
    private static ReadOnlySpan<char> AsciiWhiteSpace => "\t\n\v\f\r ";

    private static readonly System.Buffers.SearchValues<char> AsciiWhiteSpaceValues = System.Buffers.SearchValues.Create(AsciiWhiteSpace);

    /// <summary>Text steps 1–4 for ASCII: lower-case A–Z, White_Space runs to one space, none at either end. Returns the byte count.</summary>
    private static int FoldAscii(ReadOnlySpan<char> value, Span<byte> destination)
    {
        if (!value.ContainsAny(AsciiWhiteSpaceValues))
        {
            var status = Ascii.ToLower(value, destination, out var written);
            return status == System.Buffers.OperationStatus.Done ? written : throw new InvalidOperationException("not ASCII");
        }

        var count = 0;
        var inSpace = false;
        foreach (var ch in value)
        {
            if (ch is (>= '\t' and <= '\r') or ' ')
            {
                inSpace = true;
                continue;
            }

            if (inSpace && count > 0) destination[count++] = (byte)' ';
            inSpace = false;
            destination[count++] = (byte)(ch is >= 'A' and <= 'Z' ? ch | 0x20 : ch);
        }

        return count;
    }

    private static string FoldTextAscii(string value)
    {
        Span<byte> bytes = value.Length <= 256 ? stackalloc byte[value.Length] : new byte[value.Length];
        var count = FoldAscii(value, bytes);
        return System.Text.Encoding.ASCII.GetString(bytes[..count]);
    }

    /// <summary>Whether <paramref name="value"/> is absent: null, empty, or only White_Space code points.</summary>
    public static bool IsAbsent(string? value)
    {
        if (value is null) return true;
        for (var i = 0; i < value.Length; i++)
        {
            if (!UnicodeTables.IsWhiteSpace(value[i])) return false;
        }

        return true;
    }

    /// <summary>The canonical text of column <paramref name="column"/>'s value, or null when absent.</summary>
    public string? Canonicalize(int column, string? value)
    {
        if (value is null || !Ascii.IsValid(value)) return CanonicalizeReference(column, value);
        if (!value.AsSpan().ContainsAnyExcept(AsciiWhiteSpaceValues)) return null;
        var spec = columns[column];
        return spec.Kind switch
        {
            ColumnKind.Text => FoldTextAscii(value),
            ColumnKind.CaseSensitiveText => value.AsSpan().Trim(AsciiWhiteSpace).ToString(),
            ColumnKind.Email => Email(spec, FoldTextAscii(value)),
            ColumnKind.Phone => Phone(spec, regions[column], value),
            ColumnKind.Integer => IntegerTrimmed(spec, value.AsSpan().Trim(AsciiWhiteSpace)).ToString(CultureInfo.InvariantCulture),
            _ => CanonicalizeReference(column, value),
        };
    }

    /// <summary>The full Unicode path of <see cref="Canonicalize"/>, for any value (the reference of the ASCII fast path).</summary>
    internal string? CanonicalizeReference(int column, string? value)
    {
        var spec = columns[column];
        if (value is null)
        {
            return null;
        }

        if (!IsWellFormed(value))
        {
            throw Invalid(spec, RecordRefusal.InvalidUnicode, "is not well-formed Unicode (unpaired surrogate)");
        }

        if (IsAbsent(value))
        {
            return null;
        }

        if (!NormalizationAvailable && !Ascii.IsValid(value))
        {
            throw new InputRejectedException(
                ProtocolError.NativeLibraryUnavailable,
                spec.Name,
                $"column '{spec.Name}': non-ASCII text needs Unicode normalisation (ICU), which is off in this process (InvariantGlobalization=true)",
                RecordRefusal.NormalizationUnavailable);
        }

        return spec.Kind switch
        {
            ColumnKind.Text => FoldText(value) is { Length: > 0 } text ? text : null,
            ColumnKind.CaseSensitiveText => TrimWhiteSpace(value).Normalize(NormalizationForm.FormC),
            ColumnKind.Email => Email(spec, FoldText(value)),
            ColumnKind.Phone => Phone(spec, regions[column], value.Normalize(NormalizationForm.FormKC)),
            ColumnKind.Integer => IntegerTrimmed(spec, TrimWhiteSpace(value.Normalize(NormalizationForm.FormKC))).ToString(CultureInfo.InvariantCulture),
            _ => throw new InputRejectedException(ProtocolError.InvalidParameters, spec.Name, $"column '{spec.Name}' has unknown kind {spec.Kind}", RecordRefusal.Malformed),
        };
    }

    /// <summary>Text steps 1–3: NFKC, full case folding, NFKC.</summary>
    private static string Fold(string value) =>
        UnicodeTables.FoldCase(value.Normalize(NormalizationForm.FormKC)).Normalize(NormalizationForm.FormKC);

    /// <summary>Text steps 1–4: <see cref="Fold"/>, then every White_Space run becomes one space, with none at either end.</summary>
    private static string FoldText(string value)
    {
        var folded = Fold(value);
        var collapsed = new StringBuilder(folded.Length);
        var inSpace = false;
        foreach (var ch in folded)
        {
            // Every White_Space code point is in the BMP, so testing UTF-16 units is exact.
            if (UnicodeTables.IsWhiteSpace(ch))
            {
                inSpace = true;
                continue;
            }

            if (inSpace && collapsed.Length > 0)
            {
                collapsed.Append(' ');
            }

            inSpace = false;
            collapsed.Append(ch);
        }

        return collapsed.ToString();
    }

    private static string TrimWhiteSpace(string value)
    {
        int start = 0, end = value.Length;
        while (start < end && UnicodeTables.IsWhiteSpace(value[start])) start++;
        while (end > start && UnicodeTables.IsWhiteSpace(value[end - 1])) end--;
        return value[start..end];
    }

    private static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])) i++;
            else if (char.IsSurrogate(value[i])) return false;
        }

        return true;
    }

    /// <summary>E-mail rules over the value after text steps 1–4 (<paramref name="folded"/>).</summary>
    private static string Email(ColumnSpec spec, string folded)
    {
        var parts = folded.Split('@');
        if (parts.Length != 2 || parts[0].Length == 0 || folded.Contains(' ', StringComparison.Ordinal))
        {
            throw Invalid(spec, RecordRefusal.EmailInvalid, "is not an e-mail address (one '@', a local part, no spaces)");
        }

        var labels = parts[1].TrimEnd('.').Split('.');
        if (labels.Length < 2 || labels.Any(l => l.Length == 0))
        {
            throw Invalid(spec, RecordRefusal.EmailDomainInvalid, "has no domain of two or more non-empty labels");
        }

        for (var i = 0; i < labels.Length; i++)
        {
            if (!labels[i].StartsWith("xn--", StringComparison.Ordinal)) continue;
            var decoded = Punycode.Decode(labels[i][4..]) is { } unicode ? Fold(unicode) : null;
            if (decoded is null || decoded.Length == 0 || decoded.Any(c => c is '.' or '@' || UnicodeTables.IsWhiteSpace(c)))
            {
                throw Invalid(spec, RecordRefusal.EmailDomainInvalid, "has an 'xn--' domain label that is not valid Punycode for a label");
            }

            labels[i] = decoded;
        }

        var domain = string.Join('.', labels);
        var local = parts[0];
        var plus = local.IndexOf('+', StringComparison.Ordinal);
        if (plus >= 0) local = local[..plus];
        if (domain is "gmail.com" or "googlemail.com")
        {
            local = local.Replace(".", string.Empty, StringComparison.Ordinal);
            domain = "gmail.com";
        }

        return local.Length == 0
            ? throw Invalid(spec, RecordRefusal.EmailInvalid, "has an empty local part (before any '+tag')")
            : local + "@" + domain;
    }

    /// <summary>Phone rules over the value after NFKC (<paramref name="text"/>).</summary>
    private static string Phone(ColumnSpec spec, string? region, string text)
    {
        if (region is null)
        {
            // Without a default country only '+' introduces a country code; read a leading "00" as '+' too.
            var first = text.AsSpan().IndexOfAny("+0123456789");
            if (first >= 0 && text.AsSpan(first).StartsWith("00", StringComparison.Ordinal)) text = text[..first] + "+" + text[(first + 2)..];
        }

        PhoneNumber number;
        try
        {
            number = Phones.Parse(text, region ?? "ZZ");
        }
        catch (NumberParseException ex)
        {
            throw ex.ErrorType switch
            {
                ErrorType.INVALID_COUNTRY_CODE when region is null && IsNational(text) =>
                    Invalid(spec, RecordRefusal.PhoneNoCountry, "is a national number but the column has no default country code"),
                ErrorType.INVALID_COUNTRY_CODE => Invalid(spec, RecordRefusal.PhoneInvalidCountryCode, "has an unknown country calling code"),
                ErrorType.TOO_SHORT_AFTER_IDD or ErrorType.TOO_SHORT_NSN => Invalid(spec, RecordRefusal.PhoneTooShort, "is too short to be a phone number"),
                ErrorType.TOO_LONG => Invalid(spec, RecordRefusal.PhoneTooLong, "is too long to be a phone number"),
                _ => Invalid(spec, RecordRefusal.PhoneNotANumber, "is not a phone number"),
            };
        }

        return Phones.IsPossibleNumberWithReason(number) switch
        {
            PhoneNumberUtil.ValidationResult.IS_POSSIBLE => Phones.Format(number, PhoneNumberFormat.E164),
            PhoneNumberUtil.ValidationResult.IS_POSSIBLE_LOCAL_ONLY => throw Invalid(spec, RecordRefusal.PhoneLocalOnly, "is a local number without its area code"),
            PhoneNumberUtil.ValidationResult.INVALID_COUNTRY_CODE => throw Invalid(spec, RecordRefusal.PhoneInvalidCountryCode, "has an unknown country calling code"),
            PhoneNumberUtil.ValidationResult.TOO_SHORT => throw Invalid(spec, RecordRefusal.PhoneTooShort, "is too short for its country"),
            PhoneNumberUtil.ValidationResult.TOO_LONG => throw Invalid(spec, RecordRefusal.PhoneTooLong, "is too long for its country"),
            _ => throw Invalid(spec, RecordRefusal.PhoneInvalidLength, "has no possible length for its country"),
        };
    }

    /// <summary>
    /// Whether the value's first '+' or decimal digit (general category Nd, where libphonenumber starts reading) is a
    /// digit: a national number. A '+' later in the value (a trailing "+", "(+44)" after the number) does not make it
    /// international.
    /// </summary>
    private static bool IsNational(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value == '+') return false;
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.DecimalDigitNumber) return true;
        }

        return false;
    }

    /// <summary>Integer rules over the value after NFKC and trimming (<paramref name="text"/>).</summary>
    private static long IntegerTrimmed(ColumnSpec spec, ReadOnlySpan<char> text)
    {
        var digits = text.Length > 0 && text[0] is '+' or '-' ? text[1..] : text;
        if (digits.Length == 0 || digits.ContainsAnyExceptInRange('0', '9'))
        {
            throw Invalid(spec, RecordRefusal.IntegerInvalid, "is not an integer (optional sign, ASCII digits)");
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw Invalid(spec, RecordRefusal.IntegerOutOfRange, "is outside the signed 64-bit range");
    }

    private static InputRejectedException Invalid(ColumnSpec spec, string reason, string message) =>
        new(ProtocolError.InvalidRecord, spec.Name, $"column '{spec.Name}': value {message} [{reason}]", reason);
}
