using System.Collections.Frozen;
using System.Text;

namespace Smpc.Protocols.PrivateSetIntersection.Unicode;

/// <summary>Full case folding and the White_Space property from the Unicode Character Database (the data is generated).</summary>
/// <remarks>
/// .NET has no full case folding (ToLowerInvariant maps 'ẞ' to 'ß' but leaves 'ß' alone, and has no one-to-many
/// mappings), and its whitespace set is whatever the runtime's tables say; the PSI record specification pins both to
/// one Unicode version so an encoder in any language can reproduce them.
/// </remarks>
internal static partial class UnicodeTables
{
    /// <summary>Whether <paramref name="codePoint"/> has the Unicode White_Space property.</summary>
    public static bool IsWhiteSpace(int codePoint)
    {
        if (codePoint < 0x80) return codePoint is (>= 0x09 and <= 0x0D) or 0x20; // the first two ranges below
        foreach (var (first, last) in WhiteSpaceRanges)
        {
            if (codePoint < first) return false;
            if (codePoint <= last) return true;
        }

        return false;
    }

    /// <summary>Applies full case folding (CaseFolding.txt statuses C and F) to every code point of well-formed <paramref name="text"/>.</summary>
    public static string FoldCase(string text)
    {
        var folded = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (FoldMap.Folds.TryGetValue(rune.Value, out var mapping)) folded.Append(mapping);
            else folded.Append(rune.ToString());
        }

        return folded.ToString();
    }

    /// <summary>Built on first use, after the generated part's static data (initialisation order across partial files is undefined).</summary>
    private static class FoldMap
    {
        public static readonly FrozenDictionary<int, string> Folds = BuildFolds();
    }

    private static FrozenDictionary<int, string> BuildFolds()
    {
        var folds = new Dictionary<int, string>();
        for (var i = 0; i < FoldData.Length;)
        {
            var code = FoldData[i];
            var count = FoldData[i + 1];
            var mapping = new StringBuilder(count);
            for (var j = 0; j < count; j++) mapping.Append(char.ConvertFromUtf32(FoldData[i + 2 + j]));
            folds.Add(code, mapping.ToString());
            i += 2 + count;
        }

        return folds.ToFrozenDictionary();
    }
}
