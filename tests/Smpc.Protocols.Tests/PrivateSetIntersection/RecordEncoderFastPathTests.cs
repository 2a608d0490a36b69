using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

/// <summary>
/// The encoder's ASCII fast path against its full Unicode path (<c>EncodeReference</c>, <c>CanonicalizeReference</c>):
/// every random ASCII and near-ASCII value gives the same bytes, or the same refusal with the same reason and message.
/// </summary>
public sealed class RecordEncoderFastPathTests
{
    // ASCII with every White_Space and control character, the e-mail, phone and integer punctuation, and "xn--" pieces.
    private const string AsciiAlphabet = "aAbBzZiIsSkK09+-@.@. \t\n\v\f\r\u0000\u0001\u001c\u001f\u007f\"',()#xn--gmail";

    // Characters next to ASCII that change under NFKC, case folding or White_Space (each forces the full path).
    private static readonly string[] NearAscii = ["\u00A0", "\u0085", "\u00DF", "\u0130", "\u212A", "\uFF21", "\uFF11", "\u0301", "\u2028", "\u3000", "\u00E9", "\uD83D\uDE00", "\u017F", "\uFB01"];

    public static TheoryData<ColumnKind> Kinds => [ColumnKind.Text, ColumnKind.CaseSensitiveText, ColumnKind.Email, ColumnKind.Phone, ColumnKind.Integer];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void RandomAscii_FastPathEqualsFullPath(ColumnKind kind) => Differential(kind, seed: 1 + (int)kind, nearAscii: false);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void NearAscii_FastPathEqualsFullPath(ColumnKind kind) => Differential(kind, seed: 100 + (int)kind, nearAscii: true);

    [Fact]
    public void TypicalValues_FastPathEqualsFullPath()
    {
        var encoder = new RecordEncoder([new("t", ColumnKind.Text), new("e", ColumnKind.Email), new("p", ColumnKind.Phone, "44"), new("i", ColumnKind.Integer), new("c", ColumnKind.CaseSensitiveText)]);
        string?[][] records =
        [
            ["  Mary   JANE\t", "John.Smith+tag@GoogleMail.com.", "+44 20 7946 0958", " -0042 ", "  AbC  "],
            ["0123456789abcdef", "a@xn--bcher-kva.example", "020 7946 0958", "9223372036854775807", "x"],
            ["", null, "   ", "-9223372036854775808", " \r\n"],
            ["x", "a@b.c", "07700 900123", "+7", "X Y"],
        ];
        foreach (var record in records) Assert.Equal(Outcome(() => encoder.EncodeReference(record)), Outcome(() => encoder.Encode(record)));
    }

    [Fact]
    public void LongValues_GrowTheBuffer()
    {
        var encoder = new RecordEncoder([new("t", ColumnKind.Text), new("c", ColumnKind.CaseSensitiveText)]);
        var record = new string?[] { new string('A', 5000) + " b ", new string('q', 70000) };
        Assert.Equal(encoder.EncodeReference(record), encoder.Encode(record));
        Assert.Equal(encoder.EncodeReference(["a", "b"]), encoder.Encode(["a", "b"]));
    }

    [Fact]
    public void ManyThreads_EncodeAsOneThreadDoes()
    {
        var encoder = new RecordEncoder([new("t", ColumnKind.Text), new("i", ColumnKind.Integer)]);
        var values = Enumerable.Range(0, 20000).Select(i => new string?[] { $"Name {i} " + new string('Z', i % 300), (i * 7919L).ToString(System.Globalization.CultureInfo.InvariantCulture) }).ToArray();
        var serial = values.Select(encoder.EncodeReference).ToArray();
        var parallel = new byte[values.Length][];
        Parallel.For(0, values.Length, i => parallel[i] = encoder.Encode(values[i]));
        Assert.Equal(serial, parallel);
    }

    private static void Differential(ColumnKind kind, int seed, bool nearAscii)
    {
        var random = new Random(seed);
        var encoder = new RecordEncoder([new("v", kind, kind == ColumnKind.Phone && seed % 2 == 0 ? "44" : null), new("w", ColumnKind.Text)]);
        var failures = new List<string>();
        for (var n = 0; n < 3000; n++)
        {
            var value = RandomValue(random, kind, nearAscii);
            string?[] record = [value, n % 3 == 0 ? RandomValue(random, ColumnKind.Text, nearAscii) : "x"];
            var expected = Outcome(() => encoder.EncodeReference(record));
            var actual = Outcome(() => encoder.Encode(record));
            var expectedText = Outcome(() => encoder.CanonicalizeReference(0, value) ?? "(absent)");
            var actualText = Outcome(() => encoder.Canonicalize(0, value) ?? "(absent)");
            if (expected != actual || expectedText != actualText)
            {
                failures.Add($"{System.Text.Json.JsonSerializer.Serialize(record)}: {expected} / {expectedText} vs {actual} / {actualText}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures.Take(20)));
    }

    private static string RandomValue(Random random, ColumnKind kind, bool nearAscii)
    {
        var chars = new System.Text.StringBuilder();
        var length = random.Next(0, 24);
        var alphabet = kind switch
        {
            ColumnKind.Integer => "0123456789+- \t0000099999",
            ColumnKind.Phone => "0123456789+-() .0044 7x#",
            _ => AsciiAlphabet,
        };
        if (kind == ColumnKind.Email && random.Next(2) == 0) return RandomEmail(random, nearAscii);
        for (var i = 0; i < length; i++) chars.Append(alphabet[random.Next(alphabet.Length)]);
        if (kind == ColumnKind.Integer && random.Next(4) == 0) chars.Append(random.NextInt64().ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('9', random.Next(3));
        if (nearAscii) chars.Insert(random.Next(chars.Length + 1), NearAscii[random.Next(NearAscii.Length)]);
        return chars.ToString();
    }

    private static string RandomEmail(Random random, bool nearAscii)
    {
        string[] locals = ["John.Smith", "a+b", "+tag", ".", "x.y+z.w", "", "A B", "q"];
        string[] domains = ["gmail.com", "GoogleMail.COM.", "example.org", "xn--bcher-kva.de", "xn--zz.com", "a..b", "com", "b.c.", "XN--BCHER-KVA.de", "a@b.c"];
        var email = $"{(random.Next(4) == 0 ? "  " : "")}{locals[random.Next(locals.Length)]}@{domains[random.Next(domains.Length)]}{(random.Next(4) == 0 ? "\t" : "")}";
        return nearAscii ? email.Insert(random.Next(email.Length + 1), NearAscii[random.Next(NearAscii.Length)]) : email;
    }

    private static string Outcome(Func<object> encode)
    {
        try
        {
            return encode() switch
            {
                byte[] bytes => Convert.ToHexStringLower(bytes),
                var other => other.ToString()!,
            };
        }
        catch (InputRejectedException ex)
        {
            return $"refused: {ex.Reason}: {ex.Message}";
        }
    }
}
