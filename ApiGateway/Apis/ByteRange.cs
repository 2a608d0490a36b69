using System.Globalization;

namespace Smpc.ApiGateway.Apis;

/// <summary>One RFC 9110 byte range of a representation of known length: inclusive <see cref="First"/>..<see cref="Last"/>, or unsatisfiable.</summary>
internal readonly record struct ByteRange(long First, long Last, bool Satisfiable)
{
    /// <summary>
    /// The single range a <c>Range</c> header asks for, or null when the whole representation is to be sent: no header, another
    /// unit, several ranges or a malformed one (RFC 9110 §14.2 lets a server ignore those). A range starting at or past the end
    /// (or a suffix of zero bytes) is unsatisfiable; an end past the end is clamped.
    /// </summary>
    public static ByteRange? Parse(string? header, long length)
    {
        if (string.IsNullOrWhiteSpace(header) || !header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase)) return null;
        var spec = header["bytes=".Length..].Trim();
        if (spec.Contains(',')) return null;
        var dash = spec.IndexOf('-');
        if (dash < 0) return null;
        var (head, tail) = (spec[..dash].Trim(), spec[(dash + 1)..].Trim());
        const NumberStyles digits = NumberStyles.None;
        if (head.Length == 0)
        {
            // A suffix: the last n bytes.
            if (!long.TryParse(tail, digits, CultureInfo.InvariantCulture, out var n)) return null;
            return n == 0 || length == 0 ? new ByteRange(0, 0, false) : new ByteRange(Math.Max(0, length - n), length - 1, true);
        }

        if (!long.TryParse(head, digits, CultureInfo.InvariantCulture, out var first)) return null;
        var last = length - 1;
        if (tail.Length > 0)
        {
            if (!long.TryParse(tail, digits, CultureInfo.InvariantCulture, out last) || last < first) return null;
            last = Math.Min(last, length - 1);
        }

        return first >= length ? new ByteRange(0, 0, false) : new ByteRange(first, last, true);
    }
}
