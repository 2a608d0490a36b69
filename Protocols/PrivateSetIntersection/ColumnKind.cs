namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>How a PSI column's value is normalised before encoding (rules in docs/protocols/psi.md).</summary>
public enum ColumnKind : byte
{
    /// <summary>NFKC, full case folding, NFKC, White_Space runs to one space and trimmed (Unicode 15.0).</summary>
    Text = 1,

    /// <summary>Trim White_Space and NFC only (identifiers where case matters).</summary>
    CaseSensitiveText = 2,

    /// <summary>E-mail: text rules, one '@', "+tag" removed, "xn--" labels decoded to Unicode, Gmail dots removed, googlemail.com → gmail.com.</summary>
    Email = 3,

    /// <summary>Phone: NFKC, then libphonenumber with the column's default country; a possible number in E.164, extensions dropped.</summary>
    Phone = 4,

    /// <summary>A signed 64-bit integer (NFKC, trimmed, optional sign, ASCII digits) in canonical decimal.</summary>
    Integer = 5,
}

/// <summary>The wire names of <see cref="ColumnKind"/> (text, case-sensitive-text, email, phone, integer), shared by the service and clients.</summary>
public static class ColumnKindNames
{
    /// <summary>Every wire name and its kind.</summary>
    public static IReadOnlyDictionary<string, ColumnKind> All { get; } = new Dictionary<string, ColumnKind>(StringComparer.Ordinal)
    {
        ["text"] = ColumnKind.Text,
        ["case-sensitive-text"] = ColumnKind.CaseSensitiveText,
        ["email"] = ColumnKind.Email,
        ["phone"] = ColumnKind.Phone,
        ["integer"] = ColumnKind.Integer,
    };
}
