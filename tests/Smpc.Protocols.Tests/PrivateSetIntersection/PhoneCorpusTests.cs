using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

/// <summary>
/// Real-world spellings of one number per country, written by hand: every spelling must reach the same E.164 text,
/// and every refused spelling must say why (issue #14: "(+44) 7000-012345" lost a quarter of a list's matches).
/// </summary>
public sealed class PhoneCorpusTests
{
    public static TheoryData<string, string, string[]> Spellings => new()
    {
        { "44", "+447000012345", ["(+44) 7000-012345", "+44 (0)7000 012345", "07000 012345", "0044 7000 012345", "+44.7000.012345", "＋４４ ７０００ ０１２３４５", "07000/012345 ext. 12"] },
        { "1", "+12015550123", ["(201) 555-0123", "+1 201-555-0123", "1-201-555-0123", "201.555.0123", "(+1) 201 555 0123", "+1 (201) 555-0123 x1234"] },
        { "49", "+4930123456", ["030 123456", "030/123456", "+49 (0)30 123456", "0049 30 123456", "(030) 123 456", "+49-30-123456"] },
        { "33", "+33123456789", ["01 23 45 67 89", "01.23.45.67.89", "+33 (0)1 23 45 67 89", "0033 1 23 45 67 89", "(+33) 1 23 45 67 89"] },
        { "39", "+390212345678", ["02 1234 5678", "+39 02 1234 5678", "0039 02 12345678", "(+39) 02-1234-5678"] },
        { "34", "+34612345678", ["612 34 56 78", "+34 612 345 678", "0034 612345678", "(+34) 612-34-56-78"] },
        { "31", "+31612345678", ["06 12345678", "06-12 34 56 78", "+31 (0)6 12345678", "0031 6 12345678"] },
        { "61", "+61412345678", ["0412 345 678", "+61 412 345 678", "+61 (0)412 345 678", "(+61) 412-345-678"] },
        { "81", "+81312345678", ["03-1234-5678", "(03) 1234-5678", "+81 3-1234-5678", "０３－１２３４－５６７８"] },
        { "91", "+918123456789", ["081234 56789", "+91 81234 56789", "0091 81234 56789", "(+91) 81234-56789"] },
        { "55", "+5511961234567", ["(11) 96123-4567", "+55 11 96123-4567", "+55 (11) 96123-4567", "011 96123 4567"] },
        { "41", "+41781234567", ["078 123 45 67", "+41 78 123 45 67", "+41 (0)78 123 45 67", "0041 78 123 45 67"] },
        { "46", "+46701234567", ["070-123 45 67", "+46 70 123 45 67", "+46 (0)70 123 45 67", "0046 70 1234567"] },
        { "353", "+353850123456", ["085 012 3456", "+353 85 012 3456", "+353 (0)85 012 3456", "00353 85 0123456"] },
        { "27", "+27711234567", ["071 123 4567", "+27 71 123 4567", "+27 (0)71 123 4567", "0027 71 123 4567"] },
    };

    [Theory]
    [MemberData(nameof(Spellings))]
    public void EverySpelling_ReachesTheSameE164(string countryCode, string e164, string[] spellings)
    {
        var encoder = new RecordEncoder([new("phone", ColumnKind.Phone, countryCode)]);
        var noDefault = new RecordEncoder([new("phone", ColumnKind.Phone)]);
        Assert.All(spellings, s => Assert.Equal(e164, encoder.Canonicalize(0, s)));
        Assert.Equal(e164, noDefault.Canonicalize(0, e164));                    // international spellings need no default
        Assert.Equal(e164, encoder.Canonicalize(0, "  " + e164 + "\u00A0"));
    }

    [Fact]
    public void Corpus_CoversTwelveCountries() => Assert.True(Spellings.Count >= 12);

    [Theory]
    [InlineData("44", "n/a", RecordRefusal.PhoneNotANumber)]
    [InlineData("44", "unknown", RecordRefusal.PhoneNotANumber)]
    [InlineData("44", "+44 7", RecordRefusal.PhoneTooShort)]
    [InlineData("44", "+44 7000 012345 678 901", RecordRefusal.PhoneTooLong)]
    [InlineData("1", "555-0123", RecordRefusal.PhoneLocalOnly)]
    [InlineData("49", "+49 1", RecordRefusal.PhoneTooShort)]
    [InlineData("33", "+33 1 23 45 67 89 01 23", RecordRefusal.PhoneTooLong)]
    [InlineData("41", "+41 2222 222 222", RecordRefusal.PhoneInvalidLength)]
    [InlineData("81", "03-1234", RecordRefusal.PhoneTooShort)]
    [InlineData("61", "+999 1234 5678", RecordRefusal.PhoneInvalidCountryCode)]
    [InlineData(null, "07000 012345", RecordRefusal.PhoneNoCountry)]
    public void RefusedSpelling_SaysWhy(string? countryCode, string spelling, string reason)
    {
        var encoder = new RecordEncoder([new("phone", ColumnKind.Phone, countryCode)]);
        var ex = Assert.Throws<InputRejectedException>(() => encoder.Canonicalize(0, spelling));
        Assert.Equal(reason, ex.Reason);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }
}
