using System.Text;

namespace Smpc.Protocols.PrivateSetIntersection.Unicode;

/// <summary>RFC 3492 Punycode decoding (the part of an IDNA "xn--" label after the prefix), with no IDNA validation.</summary>
internal static class Punycode
{
    private const int Base = 36, TMin = 1, TMax = 26, Skew = 38, Damp = 700, InitialBias = 72, InitialN = 128;

    /// <summary>Decodes <paramref name="input"/>; null when it is not valid Punycode or decodes to a surrogate or a code point above U+10FFFF.</summary>
    public static string? Decode(string input)
    {
        var output = new List<int>();
        var delimiter = input.LastIndexOf('-');
        for (var j = 0; j < Math.Max(delimiter, 0); j++)
        {
            if (input[j] >= 0x80) return null;
            output.Add(input[j]);
        }

        long n = InitialN, i = 0;
        var bias = InitialBias;
        for (var position = delimiter > 0 ? delimiter + 1 : 0; position < input.Length;)
        {
            var oldI = i;
            long w = 1;
            for (var k = Base; ; k += Base)
            {
                if (position >= input.Length) return null;
                var digit = Digit(input[position++]);
                if (digit < 0) return null;
                i += digit * w;
                if (i > int.MaxValue) return null;
                var t = k <= bias ? TMin : k >= bias + TMax ? TMax : k - bias;
                if (digit < t) break;
                w *= Base - t;
                if (w > int.MaxValue) return null;
            }

            bias = Adapt(i - oldI, output.Count + 1, oldI == 0);
            n += i / (output.Count + 1);
            i %= output.Count + 1;
            if (n > 0x10FFFF || n is >= 0xD800 and <= 0xDFFF) return null;
            output.Insert((int)i, (int)n);
            i++;
        }

        var text = new StringBuilder(output.Count);
        foreach (var codePoint in output) text.Append(char.ConvertFromUtf32(codePoint));
        return text.ToString();
    }

    private static int Digit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0' + 26,
        >= 'a' and <= 'z' => c - 'a',
        >= 'A' and <= 'Z' => c - 'A',
        _ => -1,
    };

    private static int Adapt(long delta, int points, bool first)
    {
        delta = first ? delta / Damp : delta / 2;
        delta += delta / points;
        var k = 0;
        while (delta > (Base - TMin) * TMax / 2)
        {
            delta /= Base - TMin;
            k += Base;
        }

        return (int)(k + ((Base - TMin + 1) * delta / (delta + Skew)));
    }
}
