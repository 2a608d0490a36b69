namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>The stable reason codes for a PSI row that is skipped (docs/protocols/psi.md, "Reason codes"); shared by every record encoder.</summary>
public static class RecordRefusal
{
    /// <summary>Every selected column of the row is absent (null, empty or only White_Space).</summary>
    public const string Blank = "blank";

    /// <summary>A value is not well-formed Unicode (an unpaired surrogate).</summary>
    public const string InvalidUnicode = "invalid-unicode";

    /// <summary>A non-ASCII value in a process without Unicode normalisation (InvariantGlobalization=true).</summary>
    public const string NormalizationUnavailable = "normalization-unavailable";

    /// <summary>An e-mail value without exactly one '@', with an empty local part, or with White_Space inside.</summary>
    public const string EmailInvalid = "email-invalid";

    /// <summary>An e-mail domain with fewer than two labels, an empty label, or an undecodable or unusable "xn--" label.</summary>
    public const string EmailDomainInvalid = "email-domain-invalid";

    /// <summary>A phone value in which libphonenumber finds no number.</summary>
    public const string PhoneNotANumber = "phone-not-a-number";

    /// <summary>A national phone number (no '+' or international prefix) in a column without a default country.</summary>
    public const string PhoneNoCountry = "phone-no-country";

    /// <summary>A phone number whose country calling code does not exist.</summary>
    public const string PhoneInvalidCountryCode = "phone-invalid-country-code";

    /// <summary>A phone number too short to be possible for its country.</summary>
    public const string PhoneTooShort = "phone-too-short";

    /// <summary>A phone number too long to be possible for its country.</summary>
    public const string PhoneTooLong = "phone-too-long";

    /// <summary>A phone number between its country's possible lengths but of none of them.</summary>
    public const string PhoneInvalidLength = "phone-invalid-length";

    /// <summary>A phone number only diallable locally (no area code), so it has no E.164 form.</summary>
    public const string PhoneLocalOnly = "phone-local-only";

    /// <summary>An integer value that is not an optional sign followed by ASCII digits.</summary>
    public const string IntegerInvalid = "integer-invalid";

    /// <summary>An integer value outside the signed 64-bit range.</summary>
    public const string IntegerOutOfRange = "integer-out-of-range";

    /// <summary>A record with the wrong number of values, or a column of unknown kind.</summary>
    public const string Malformed = "malformed";
}
