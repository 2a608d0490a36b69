using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

public sealed class RecordEncoderTests
{
    private static readonly RecordEncoder TwoText = new([new("a", ColumnKind.Text), new("b", ColumnKind.Text)]);

    [Fact]
    public void LengthPrefixes_KeepShiftedBoundariesApart()
    {
        Assert.NotEqual(TwoText.Encode(["ab", "c"]), TwoText.Encode(["a", "bc"]));
        Assert.NotEqual(TwoText.Encode([null, "x"]), TwoText.Encode(["x", null]));
    }

    [Fact]
    public void Text_IsTrimmedNfcNormalisedWhitespaceCollapsedAndCaseFolded()
    {
        // "É" precomposed vs "E" + combining acute; Greek final sigma vs capital sigma.
        Assert.Equal(TwoText.Encode(["  \u00C9MILE   Zola ", "ΟΔΟΣ"]), TwoText.Encode(["e\u0301mile zola", "οδος"]));
        Assert.Equal("émile zola", TwoText.Canonicalize(0, "\tE\u0301MILE \n ZOLA"));
    }

    [Fact]
    public void CaseSensitiveText_KeepsCase()
    {
        var encoder = new RecordEncoder([new("id", ColumnKind.CaseSensitiveText)]);
        Assert.NotEqual(encoder.Encode(["Ab12"]), encoder.Encode(["ab12"]));
    }

    [Theory]
    [InlineData(" John.Doe+News@Example.COM ", "john.doe@example.com")]
    [InlineData("j.o.h.n+x@GoogleMail.com", "john@gmail.com")]
    [InlineData("JOHN@gmail.com.", "john@gmail.com")]
    public void Email_Rules(string input, string canonical)
    {
        var encoder = new RecordEncoder([new("email", ColumnKind.Email)]);
        Assert.Equal(canonical, encoder.Canonicalize(0, input));
    }

    [Theory]
    [InlineData("no-at-sign")]
    [InlineData("a@b@c.com")]
    [InlineData("@example.com")]
    [InlineData("john@localhost")]
    [InlineData("jo hn@example.com")]
    public void Email_Malformed_IsRejectedNamingTheColumn(string input)
    {
        var encoder = new RecordEncoder([new("email", ColumnKind.Email)]);
        var ex = Assert.Throws<InputRejectedException>(() => encoder.Encode([input]));
        Assert.Equal(ProtocolError.InvalidRecord, ex.Error);
        Assert.Equal("email", ex.Field);
    }

    [Theory]
    [InlineData("+44 (0)20 7946 0958", "+442079460958")]
    [InlineData("0044 20-7946-0958", "+442079460958")]
    [InlineData("020 7946 0958", "+442079460958")]
    [InlineData("\uFF0B\uFF14\uFF14 20 7946 0958", "+442079460958")]
    public void Phone_Rules_ProduceE164(string input, string canonical)
    {
        var encoder = new RecordEncoder([new("phone", ColumnKind.Phone, "44")]);
        Assert.Equal(canonical, encoder.Canonicalize(0, input));
    }

    [Theory]
    [InlineData("12345")]
    [InlineData("+44 20 7946 0958 ext 2")]
    [InlineData("+1234567890123456")]
    public void Phone_Invalid_IsRejected(string input)
    {
        var encoder = new RecordEncoder([new("phone", ColumnKind.Phone, "44")]);
        Assert.Equal(ProtocolError.InvalidRecord, Assert.Throws<InputRejectedException>(() => encoder.Encode([input])).Error);
    }

    [Fact]
    public void Integer_IsCanonicalDecimal_AndNonIntegersAreRejected()
    {
        var encoder = new RecordEncoder([new("n", ColumnKind.Integer)]);
        Assert.Equal("42", encoder.Canonicalize(0, " +0042 "));
        Assert.Equal("-7", encoder.Canonicalize(0, "-7"));
        Assert.Equal(ProtocolError.InvalidRecord, Assert.Throws<InputRejectedException>(() => encoder.Encode(["4.2"])).Error);
    }

    [Fact]
    public void Encoding_KnownAnswer_MatchesTheDocumentedLayout()
    {
        var encoder = new RecordEncoder([
            new("email", ColumnKind.Email),
            new("name", ColumnKind.Text),
            new("id", ColumnKind.Integer),
            new("phone", ColumnKind.Phone, "44"),
        ]);
        var record = encoder.Encode([" John.Doe+News@Example.COM ", "  \u00C9mile   ZOLA ", "+0042", null]);

        Assert.Equal(
            "736d70632f7073692f7265636f72642f7631" + "0004" +
            "03" + "01" + "00000014" + "6a6f686e2e646f65406578616d706c652e636f6d" +
            "01" + "01" + "0000000b" + "c3a96d696c65207a6f6c61" +
            "05" + "01" + "00000002" + "3432" +
            "04" + "00",
            Hex.Of(record));

        // The same bytes from the specification: "smpc/psi/record/v1" ‖ BE16 count ‖ per column kind ‖ 0x00 | 0x01 ‖ BE32 len ‖ UTF-8.
        static byte[] Present(ColumnKind kind, string text)
        {
            var utf8 = System.Text.Encoding.UTF8.GetBytes(text);
            var length = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(length, (uint)utf8.Length);
            return [(byte)kind, 1, .. length, .. utf8];
        }

        byte[] expected =
        [
            .. "smpc/psi/record/v1"u8, 0, 4,
            .. Present(ColumnKind.Email, "john.doe@example.com"),
            .. Present(ColumnKind.Text, "\u00e9mile zola"),
            .. Present(ColumnKind.Integer, "42"),
            (byte)ColumnKind.Phone, 0,
        ];
        Assert.Equal(expected, record);
    }
}
