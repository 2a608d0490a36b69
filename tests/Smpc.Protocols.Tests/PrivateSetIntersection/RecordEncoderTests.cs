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

    [Theory]
    [InlineData("Straße", "STRASSE")]                 // full case folding: ß → ss
    [InlineData("\uFB01le", "FILE")]                 // NFKC: the ﬁ ligature is "fi"
    [InlineData("\u212A", "k")]                      // Kelvin sign
    [InlineData("ΌΣΟΣ", "όσος")]                     // final sigma
    [InlineData("Mary\u00A0Jane", "MARY\u3000JANE")] // White_Space, full-width (NFKC)
    [InlineData("\u00A0\u2009Mary \u2028 Jane\u3000", "mary jane")]
    public void Text_FoldsSpellingsAllLanguagesFoldAlike(string a, string b) => Assert.Equal(TwoText.Canonicalize(0, a), TwoText.Canonicalize(0, b));

    [Fact]
    public void Text_DottedCapitalI_FoldsToIWithCombiningDot_NotToPlainI()
    {
        // Full case folding (status F) maps İ to i + U+0307; invariant lower-casing would give the same, Turkish rules "i".
        Assert.Equal("i\u0307stanbul", TwoText.Canonicalize(0, "İstanbul"));
        Assert.NotEqual(TwoText.Canonicalize(0, "İstanbul"), TwoText.Canonicalize(0, "istanbul"));
    }

    [Fact]
    public void Text_ZeroWidthSpace_IsNotWhiteSpace() => Assert.Equal("a\u200Bb", TwoText.Canonicalize(0, " a\u200Bb "));

    [Theory]
    [InlineData(0xD800)]
    [InlineData(0xDC00)]
    public void UnpairedSurrogate_IsRefusedAsInvalidUnicode(int surrogate)
    {
        // Built here: a lone surrogate in an attribute string becomes U+FFFD in metadata.
        var value = "ab" + (char)surrogate + "cd";
        var ex = Assert.Throws<InputRejectedException>(() => TwoText.Encode([value, null]));
        Assert.Equal(RecordRefusal.InvalidUnicode, ex.Reason);
        Assert.Equal("a", ex.Field);
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
    [InlineData("user@XN--MNCHEN-3YA.DE", "user@münchen.de")]
    [InlineData("User@MÜNCHEN.de.", "user@münchen.de")]
    [InlineData("ＪＯＨＮ＠ＥＸＡＭＰＬＥ．ＣＯＭ", "john@example.com")]
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
    [InlineData("+tag@example.com")]
    [InlineData("user@xn--zz!.de")]
    public void Email_Malformed_IsRejectedNamingTheColumnAndReason(string input)
    {
        var encoder = new RecordEncoder([new("email", ColumnKind.Email)]);
        var ex = Assert.Throws<InputRejectedException>(() => encoder.Encode([input]));
        Assert.Equal(ProtocolError.InvalidRecord, ex.Error);
        Assert.Equal("email", ex.Field);
        Assert.Contains(ex.Reason, new[] { RecordRefusal.EmailInvalid, RecordRefusal.EmailDomainInvalid });
    }

    [Theory]
    [InlineData("+44 (0)20 7946 0958", "+442079460958")]
    [InlineData("0044 20-7946-0958", "+442079460958")]
    [InlineData("020 7946 0958", "+442079460958")]
    [InlineData("\uFF0B\uFF14\uFF14 20 7946 0958", "+442079460958")]
    [InlineData("(+44) 7700-900123", "+447700900123")]
    [InlineData("+44 20 7946 0958 ext 2", "+442079460958")]
    public void Phone_Rules_ProduceE164(string input, string canonical)
    {
        var encoder = new RecordEncoder([new("phone", ColumnKind.Phone, "44")]);
        Assert.Equal(canonical, encoder.Canonicalize(0, input));
    }

    [Theory]
    [InlineData("44", "12345", RecordRefusal.PhoneLocalOnly)]
    [InlineData("44", "+1234567890123456", RecordRefusal.PhoneTooLong)]
    [InlineData("44", "n/a", RecordRefusal.PhoneNotANumber)]
    [InlineData("44", "+999 1234 5678", RecordRefusal.PhoneInvalidCountryCode)]
    [InlineData("44", "+44 20 79", RecordRefusal.PhoneLocalOnly)]
    [InlineData("1", "+1 201 555", RecordRefusal.PhoneTooShort)]
    [InlineData("41", "+41 2222 222 222", RecordRefusal.PhoneInvalidLength)]
    [InlineData(null, "020 7946 0958", RecordRefusal.PhoneNoCountry)]
    [InlineData(null, "020 7946 0958 +", RecordRefusal.PhoneNoCountry)]  // a '+' after the number does not make it international
    [InlineData(null, "+ 020 7946 0958", RecordRefusal.PhoneInvalidCountryCode)]
    public void Phone_Invalid_IsRejectedWithItsReason(string? country, string input, string reason)
    {
        var encoder = new RecordEncoder([new("phone", ColumnKind.Phone, country)]);
        var ex = Assert.Throws<InputRejectedException>(() => encoder.Encode([input]));
        Assert.Equal(ProtocolError.InvalidRecord, ex.Error);
        Assert.Equal(reason, ex.Reason);
    }

    [Theory]
    [InlineData("user@xn---abc.de")]                          // leading delimiter: RFC 3492 reads '-' as a digit
    [InlineData("user@xn--mh0c.de")]                          // decodes to the surrogate U+DD9F
    [InlineData("user@xn--mnchen-3y.de")]                     // ends inside a number
    public void Email_PunycodeThatRfc3492Refuses_IsRefused(string input)
    {
        var encoder = new RecordEncoder([new("mail", ColumnKind.Email)]);
        var ex = Assert.Throws<InputRejectedException>(() => encoder.Encode([input]));
        Assert.Equal(RecordRefusal.EmailDomainInvalid, ex.Reason);
    }

    [Fact]
    public void Email_PunycodeOverflow_IsRefused()
    {
        // i exceeds 2^31 - 1 here although the code point it would give (U+8B8E5) is in range: the spec's fixed bound.
        var encoder = new RecordEncoder([new("mail", ColumnKind.Email)]);
        var ex = Assert.Throws<InputRejectedException>(() => encoder.Encode(["user@xn--" + new string('a', 4000) + "-e918677p.de"]));
        Assert.Equal(RecordRefusal.EmailDomainInvalid, ex.Reason);
    }

    [Theory]
    [InlineData("44", "GB")]
    [InlineData("1", "US")]
    [InlineData("7", "RU")]
    [InlineData("gb", "GB")]
    [InlineData("DE", "DE")]
    [InlineData("800", null)]   // a non-geographic code has no region for national numbers
    [InlineData("999", null)]
    [InlineData("XX", null)]
    [InlineData("+44", null)]
    public void PhoneRegion_AcceptsCallingCodesAndIsoRegions(string countryCode, string? region)
    {
        Assert.Equal(region, RecordEncoder.PhoneRegion(countryCode));
        if (region is null)
        {
            Assert.Equal(ProtocolError.InvalidParameters, Assert.Throws<InputRejectedException>(() => new RecordEncoder([new("p", ColumnKind.Phone, countryCode)])).Error);
        }
    }

    [Theory]
    [InlineData("9223372036854775808", RecordRefusal.IntegerOutOfRange)]
    [InlineData("4.2", RecordRefusal.IntegerInvalid)]
    [InlineData("\u0661\u0662", RecordRefusal.IntegerInvalid)] // Arabic-Indic digits are not ASCII
    public void Integer_Refusals_HaveTheirReason(string input, string reason) =>
        Assert.Equal(reason, Assert.Throws<InputRejectedException>(() => new RecordEncoder([new("n", ColumnKind.Integer)]).Encode([input])).Reason);

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
            "736d70632f7073692f7265636f72642f7632" + "0004" +
            "03" + "01" + "00000014" + "6a6f686e2e646f65406578616d706c652e636f6d" +
            "01" + "01" + "0000000b" + "c3a96d696c65207a6f6c61" +
            "05" + "01" + "00000002" + "3432" +
            "04" + "00",
            Hex.Of(record));

        // The same bytes from the specification: "smpc/psi/record/v2" ‖ BE16 count ‖ per column kind ‖ 0x00 | 0x01 ‖ BE32 len ‖ UTF-8.
        static byte[] Present(ColumnKind kind, string text)
        {
            var utf8 = System.Text.Encoding.UTF8.GetBytes(text);
            var length = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(length, (uint)utf8.Length);
            return [(byte)kind, 1, .. length, .. utf8];
        }

        byte[] expected =
        [
            .. "smpc/psi/record/v2"u8, 0, 4,
            .. Present(ColumnKind.Email, "john.doe@example.com"),
            .. Present(ColumnKind.Text, "\u00e9mile zola"),
            .. Present(ColumnKind.Integer, "42"),
            (byte)ColumnKind.Phone, 0,
        ];
        Assert.Equal(expected, record);
    }
}
