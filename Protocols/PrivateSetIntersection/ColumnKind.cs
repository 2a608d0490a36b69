namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>How a PSI column's value is normalised before encoding (rules in docs/protocols/psi.md).</summary>
public enum ColumnKind : byte
{
    /// <summary>Trim, NFC, collapse whitespace runs to one space, case-fold.</summary>
    Text = 1,

    /// <summary>Trim and NFC only (identifiers where case matters).</summary>
    CaseSensitiveText = 2,

    /// <summary>E-mail: text rules, one '@', "+tag" removed, Gmail dots removed, googlemail.com → gmail.com.</summary>
    Email = 3,

    /// <summary>Phone: NFKC, separators removed, 00 → +, national numbers get the column's country code; E.164 result.</summary>
    Phone = 4,

    /// <summary>A signed 64-bit integer in canonical decimal.</summary>
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
