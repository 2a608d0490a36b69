#!/usr/bin/python3
"""Generates psi-records.json, the conformance vectors for PSI canonical records.

This is a second, independent implementation of docs/protocols/psi.md ("Canonical records"), written from the
document and not from the C# encoder. Every record encoder (Smpc.Protocols' RecordEncoder, any future client) must
reproduce every case byte for byte, or refuse it with the same reason code.

Dependencies (Debian packages only):  apt-get install -y python3-phonenumbers unicode-data
Usage:  /usr/bin/python3 generate_psi_records.py > psi-records.json

Unicode: the specification pins Unicode 15.0.0. Case folding and White_Space are read from the 15.0.0 data files;
NFKC comes from Python's unicodedata, whose version may be older (Python 3.11: 14.0.0), so the script refuses any
input containing a code point unassigned in its unicodedata (NFKC is stable for assigned code points).
Phone numbers: the script uses Debian's python3-phonenumbers, whose metadata is older than libphonenumber-csharp's;
the phone cases are chosen where both agree (see PHONE_DISAGREEMENTS for spellings left out).
"""
import json
import os
import re
import struct
import sys
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, ValidationResult

UNICODE_DIR = "/usr/share/unicode"
UNICODE_VERSION = "15.0.0"
PREFIX = b"smpc/psi/record/v2"
KINDS = {"text": 1, "case-sensitive-text": 2, "email": 3, "phone": 4, "integer": 5}


def _data(name):
    with open(os.path.join(UNICODE_DIR, name), encoding="utf-8") as f:
        text = f.read()
    assert UNICODE_VERSION in text.splitlines()[0], f"{name} is not Unicode {UNICODE_VERSION}"
    return text


def _load_folds():
    folds = {}
    for line in _data("CaseFolding.txt").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            code, status, mapping = [p.strip() for p in line.split(";")[:3]]
            if status in ("C", "F"):
                folds[int(code, 16)] = "".join(chr(int(c, 16)) for c in mapping.split())
    return folds


def _load_white_space():
    spaces = set()
    for line in _data("PropList.txt").splitlines():
        m = re.match(r"^([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*White_Space\b", line)
        if m:
            spaces.update(range(int(m.group(1), 16), int(m.group(2) or m.group(1), 16) + 1))
    return frozenset(chr(c) for c in spaces)


FOLDS = _load_folds()
WHITE_SPACE = _load_white_space()


class Refused(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


# ---- Unicode building blocks -------------------------------------------------------------------------------

def nfkc(s):
    return unicodedata.normalize("NFKC", s)


def nfc(s):
    return unicodedata.normalize("NFC", s)


def case_fold(s):
    return "".join(FOLDS.get(ord(c), c) for c in s)


def fold(s):
    """Text steps 1-3."""
    return nfkc(case_fold(nfkc(s)))


def collapse(s):
    """Text step 4: White_Space runs -> one U+0020; none at either end."""
    out, pending = [], False
    for c in s:
        if c in WHITE_SPACE:
            pending = True
            continue
        if pending and out:
            out.append(" ")
        pending = False
        out.append(c)
    return "".join(out)


def trim(s):
    start, end = 0, len(s)
    while start < end and s[start] in WHITE_SPACE:
        start += 1
    while end > start and s[end - 1] in WHITE_SPACE:
        end -= 1
    return s[start:end]


# ---- the kinds ---------------------------------------------------------------------------------------------

def text(v):
    return collapse(fold(v)) or None


def case_sensitive_text(v):
    return nfc(trim(v))


MAX_INT = 2**31 - 1  # the overflow bound of the spec's decoder: i and w never exceed it


def punycode_decode(label):
    """RFC 3492 section 6.2, written from the RFC (Python's own codec accepts a leading delimiter, which the RFC's
    decoder refuses, and has no overflow bound). None when decoding fails."""
    base, damp, tmin, tmax, skew = 36, 700, 1, 26, 38
    delimiter = label.rfind("-")
    output = []
    if delimiter > 0:  # "consume all code points before the last delimiter ... if more than zero, consume one more"
        if any(ord(c) >= 0x80 for c in label[:delimiter]):
            return None
        output = [ord(c) for c in label[:delimiter]]
        rest = label[delimiter + 1:]
    else:
        rest = label
    n, i, bias, first, pos = 128, 0, 72, True, 0
    while pos < len(rest):
        old_i, w, k = i, 1, base
        while True:
            if pos >= len(rest):
                return None
            c = rest[pos]
            pos += 1
            if "a" <= c <= "z":
                digit = ord(c) - ord("a")
            elif "A" <= c <= "Z":
                digit = ord(c) - ord("A")
            elif "0" <= c <= "9":
                digit = ord(c) - ord("0") + 26
            else:
                return None
            i += digit * w
            if i > MAX_INT:
                return None
            t = tmin if k <= bias else tmax if k >= bias + tmax else k - bias
            if digit < t:
                break
            w *= base - t
            if w > MAX_INT:
                return None
            k += base
        delta = (i - old_i) // (damp if first else 2)
        delta += delta // (len(output) + 1)
        k = 0
        while delta > ((base - tmin) * tmax) // 2:
            delta //= base - tmin
            k += base
        bias = k + ((base - tmin + 1) * delta) // (delta + skew)
        first = False
        n += i // (len(output) + 1)
        i %= len(output) + 1
        if n > 0x10FFFF or 0xD800 <= n <= 0xDFFF:
            return None
        output.insert(i, n)
        i += 1
    return "".join(chr(c) for c in output)


def email(v):
    s = collapse(fold(v))
    parts = s.split("@")
    if len(parts) != 2 or not parts[0] or " " in s:
        raise Refused("email-invalid")
    labels = parts[1].rstrip(".").split(".")
    if len(labels) < 2 or any(not l for l in labels):
        raise Refused("email-domain-invalid")
    for i, label in enumerate(labels):
        if label.startswith("xn--"):
            decoded = punycode_decode(label[4:])
            decoded = fold(decoded) if decoded is not None else None
            if not decoded or any(c in ".@" or c in WHITE_SPACE for c in decoded):
                raise Refused("email-domain-invalid")
            labels[i] = decoded
    domain = ".".join(labels)
    local = parts[0].split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
        domain = "gmail.com"
    if not local:
        raise Refused("email-invalid")
    return local + "@" + domain


def phone_region(country_code):
    if country_code is None:
        return None
    if re.fullmatch(r"[0-9]{1,3}", country_code):
        region = phonenumbers.region_code_for_country_code(int(country_code))
    elif re.fullmatch(r"[A-Za-z]{2}", country_code):
        region = country_code.upper()
    else:
        region = None
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"country code {country_code!r} names no region")
    return region


def phone(v, country_code):
    region = phone_region(country_code)
    s = nfkc(v)
    if region is None:
        m = re.search(r"[+0-9]", s)
        if m and s[m.start():m.start() + 2] == "00":
            s = s[:m.start()] + "+" + s[m.start() + 2:]
    try:
        n = phonenumbers.parse(s, region or "ZZ")
    except NumberParseException as e:
        if e.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            # A national number is one whose first '+' or decimal digit (libphonenumber's valid start) is not '+'.
            start = re.search(r"[+\d]", s)
            national = start is not None and s[start.start()] != "+"
            raise Refused("phone-no-country" if region is None and national else "phone-invalid-country-code")
        if e.error_type in (NumberParseException.TOO_SHORT_AFTER_IDD, NumberParseException.TOO_SHORT_NSN):
            raise Refused("phone-too-short")
        if e.error_type == NumberParseException.TOO_LONG:
            raise Refused("phone-too-long")
        raise Refused("phone-not-a-number")
    reason = phonenumbers.is_possible_number_with_reason(n)
    if reason == ValidationResult.IS_POSSIBLE:
        return phonenumbers.format_number(n, PhoneNumberFormat.E164)
    raise Refused({
        ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "phone-local-only",
        ValidationResult.INVALID_COUNTRY_CODE: "phone-invalid-country-code",
        ValidationResult.TOO_SHORT: "phone-too-short",
        ValidationResult.TOO_LONG: "phone-too-long",
    }.get(reason, "phone-invalid-length"))


def integer(v):
    s = trim(nfkc(v))
    if not re.fullmatch(r"[+-]?[0-9]+", s, flags=re.ASCII):
        raise Refused("integer-invalid")
    n = int(s)
    if not -2**63 <= n < 2**63:
        raise Refused("integer-out-of-range")
    return str(n)


def canonical(column, v):
    if v is None:
        return None
    if any(0xD800 <= ord(c) <= 0xDFFF for c in v):
        raise Refused("invalid-unicode")
    if all(c in WHITE_SPACE for c in v):
        return None
    kind = column["kind"]
    if kind == "text":
        return text(v)
    if kind == "case-sensitive-text":
        return case_sensitive_text(v)
    if kind == "email":
        return email(v)
    if kind == "phone":
        return phone(v, column.get("countryCode"))
    if kind == "integer":
        return integer(v)
    raise ValueError(kind)


def encode(columns, values):
    out = bytearray(PREFIX) + struct.pack(">H", len(columns))
    texts = []
    for column, v in zip(columns, values):
        c = canonical(column, v)
        texts.append(c)
        out.append(KINDS[column["kind"]])
        if c is None:
            out.append(0)
        else:
            data = c.encode("utf-8")
            out += b"\x01" + struct.pack(">I", len(data)) + data
    return bytes(out), texts


# ---- the cases ---------------------------------------------------------------------------------------------

def col(name, kind, country_code=None):
    c = {"name": name, "kind": kind}
    if country_code is not None:
        c["countryCode"] = country_code
    return c


CASES = []


def case(group, columns, values, note=None):
    if not isinstance(columns, list):
        columns = [columns]
        values = [values]
    for v in values:
        if v is None:
            continue
        for ch in v:
            if not 0xD800 <= ord(ch) <= 0xDFFF:
                assert unicodedata.category(ch) != "Cn", f"U+{ord(ch):04X} is unassigned in Python's Unicode {unicodedata.unidata_version}"
    entry = {"group": group, "columns": columns, "values": values}
    if note:
        entry["note"] = note
    try:
        record, texts = encode(columns, values)
        entry["canonical"] = texts
        entry["expected"] = record.hex()
    except Refused as r:
        entry["expected"] = "refused: " + r.reason
    CASES.append(entry)


T = col("name", "text")
for v, note in [
    ("Straße", "ß folds to ss (full folding)"), ("STRASSE", None), ("strasse", None), ("STRAẞE", "capital sharp s"),
    ("ﬁle", "fi ligature: NFKC gives fi"), ("FILE", None), ("ﬃ", "ffi ligature"),
    ("İstanbul", "dotted capital I folds to i + U+0307"), ("ISTANBUL", None), ("ıstanbul", "dotless i stays"),
    ("ΟΔΟΣ", "capital sigma"), ("οδος", "final sigma folds to sigma"), ("ΌΣΟΣ", None),
    ("\u212A", "Kelvin sign"), ("k", None), ("\u212B", "Angstrom sign"), ("Å", None), ("å", None),
    ("Émile Zola", None), ("E\u0301MILE ZOLA", "combining acute"), ("e\u0301mile zola", None),
    ("  \u00C9MILE   Zola ", None), ("\tE\u0301MILE \n ZOLA", None),
    ("Mary\u00A0Jane", "NBSP"), ("Mary\u2003Jane", "em space"), ("Mary\u3000Jane", "ideographic space"),
    ("Mary\u2028Jane", "line separator"), ("Mary\u0085Jane", "NEL"), ("Mary\u202FJane", "narrow NBSP"),
    ("Mary\u205FJane", "medium mathematical space"), ("Mary\u1680Jane", "ogham space mark"),
    ("Mary\u200BJane", "zero-width space is not White_Space: kept"), ("Mary\u180EJane", "Mongolian vowel separator: not White_Space"),
    ("Mary \u200B Jane", None), ("\u00A0\u2009Mary Jane\u3000", None),
    ("ＡＢＣ１２３", "full-width"), ("ｶﾀｶﾅ", "half-width katakana"), ("x²", "superscript"), ("Ⅻ", "roman numeral"),
    ("㎏", "square kg"), ("½", "vulgar fraction"), ("…", "ellipsis"), ("ℌ", "black-letter H"),
    ("ǰ", "folds to j + caron, NFKC recomposes"), ("J\u030C", None), ("ᾳ", "ypogegrammeni"), ("ᾼ", None),
    ("ΆΙ\u0345", None), ("ꭰ", "Cherokee small letter folds to capital"), ("Ꭰ", None),
    ("Ა", "Georgian Mtavruli"), ("ა", None), ("ŉ", "n preceded by apostrophe"), ("ﬅ", "long st ligature"),
    ("Ǆ", "DZ with caron"), ("ǅ", None), ("ǆ", None), ("Σίσυφος", None), ("ΣΊΣΥΦΟΣ", None),
    ("Москва", None), ("МОСКВА", None), ("東京", None), ("한국", None), ("\u1112\u1161\u11AB", "conjoining jamo compose"),
    ("ﻻ", "Arabic ligature"), ("لا", None), ("Ｄｖořák", None), ("DVOŘÁK", None), ("Dvor\u030Ca\u0301k", None),
    ("Ó Briain", None), ("Smith-Jones", None), ("😀 party", "emoji unchanged"), ("a\u00B4", "acute accent: NFKC gives space + combining acute"),
    ("\u00B4x", "leading spacing accent"), ("ＭＡＲＹ\u3000ＪＡＮＥ", None),
]:
    case("text", T, v, note)

for v, note in [(None, "null"), ("", "empty"), ("   ", "spaces"), ("\u00A0\u3000\t\n", "White_Space only"),
                ("\u200B", "zero-width space is present, not absent"), ("\u2028", None), ("\u0085", None)]:
    case("absent", T, v, note)
# An unpaired surrogate is refused as invalid-unicode, but many JSON readers cannot even load one, so that rule is
# tested by each implementation's own tests rather than here.

CS = col("id", "case-sensitive-text")
for v, note in [("Ab12", None), ("ab12", None), (" Ab12 ", None), ("\u00A0Ab12\u3000", "White_Space trimmed"),
                ("a\u00A0b", "inner NBSP kept"), ("e\u0301", "NFC"), ("é", None), ("ﬁ", "NFC keeps compatibility characters"),
                ("ＡＢ", "full-width kept"), ("Straße", None), ("K", None), ("\u212A", "Kelvin sign: NFC maps it to K"),
                ("   ", "absent"), ("x\ty", None)]:
    case("case-sensitive-text", CS, v, note)

E = col("mail", "email")
for v, note in [
    (" John.Doe+News@Example.COM ", None), ("john.doe@example.com", None), ("JOHN.DOE@EXAMPLE.COM", None),
    ("john+a+b@example.com", "cut at the first +"), ("+tag@example.com", "nothing before +"),
    ("j.o.h.n+x@GoogleMail.com", "Gmail rule"), ("J.O.H.N@GMAIL.COM", None), ("john@gmail.com.", "trailing dot"),
    ("john@gmail.com...", "trailing dots"), ("john@example.com.", None), ("...@gmail.com", "only dots before Gmail"),
    ("john.doe@mail.gmail.com", "subdomain: no Gmail rule"), ("john.doe@gmail.co.uk", None),
    ("no-at-sign", None), ("a@b@c.com", None), ("@example.com", None), ("john@", None), ("john@localhost", None),
    ("john@.example.com", "empty label"), ("john@example..com", "empty label"), ("jo hn@example.com", None),
    ("john@exa mple.com", None), ("john@example.com extra", None), ("john\u00A0@example.com", "NBSP before @"),
    ("john＠example.com", "full-width @"), ("john@example．com", "full-width full stop"), ("ＪＯＨＮ@ＥＸＡＭＰＬＥ.ＣＯＭ", None),
    ("user@münchen.de", "IDN, Unicode"), ("user@xn--mnchen-3ya.de", "IDN, Punycode"), ("USER@MÜNCHEN.DE", None),
    ("user@XN--MNCHEN-3YA.DE", None), ("user@xn--mnchen-3ya.de.", None), ("user@bücher.example", None),
    ("user@xn--bcher-kva.example", None), ("user@xn--.de", "empty Punycode"), ("user@xn--zz!.de", "not Punycode"),
    ("user@xn--ü.de", "non-ASCII after xn--"), ("user@xn--80ak6aa92e.com", "Cyrillic IDN"),
    ("user@пример.испытание", None), ("user@xn--e1afmkfd.xn--80akhbyknj4f", None),
    ("Straße@example.de", None), ("STRASSE@example.de", None), ("İ@example.com", None), ("ﬁ@example.com", None),
    ("δοκιμή@παράδειγμα.δοκιμή", None), ("ΔΟΚΙΜΉ@ΠΑΡΆΔΕΙΓΜΑ.ΔΟΚΙΜΉ", None), ("用户@例子.广告", None),
    ("john.doe+@example.com", None), ("john@gmail.com+x", "plus in the domain is kept"),
    # Punycode edges (RFC 3492 section 6.2 exactly; Python's codec differs on the first three)
    ("user@xn---abc.de", "leading delimiter: the RFC's decoder reads '-' as a digit and fails"),
    ("user@xn--mh0c.de", "decodes to surrogate U+DD9F: refused"),
    ("user@xn--" + "a" * 4000 + "-e918677p.de", "i exceeds 2^31 - 1: overflow, refused"),
    ("user@xn--abc-.de", "trailing delimiter: basic code points only"), ("user@xn--MNCHEN-3YA.de", "upper-case digits"),
    ("user@xn--mnchen-3y.de", "ends inside a number"), ("user@xn--xn--mnchen-3ya.de", "the prefix is removed once; a second xn-- is Punycode input"),
    ("user@xn--gmail-.com", "xn-- label decoding to gmail: Gmail rule applies after decoding"),
    # what the spec does not treat specially: quoted local parts, IP literals, lengths
    ('"john"@example.com', "quotes are kept as characters"), ('"john doe"@example.com', "a quoted space is still a space"),
    ('"a@b"@example.com', "a quoted @ is still an @"), ("john@[192.0.2.1]", "IP literal: four labels, kept as text"),
    ("john@[IPv6:2001:db8::1]", "IPv6 literal: one label"), ("john@192.0.2.1", None),
    ("a" * 65 + "@example.com", "no length limit on the local part"), ("john@" + "b" * 64 + ".com", "no length limit on labels"),
]:
    case("email", E, v, note)

I = col("n", "integer")
for v, note in [("42", None), ("+0042", None), (" -7 ", None), ("-0", None), ("0", None), ("０４２", "full-width digits (NFKC)"),
                ("9223372036854775807", None), ("-9223372036854775808", None), ("9223372036854775808", None),
                ("-9223372036854775809", None), ("000000000000000000000000000001", None), ("4.2", None), ("1e3", None),
                ("1 000", None), ("+-1", None), ("- 1", None), ("١٢", "Arabic-Indic digits are not ASCII"),
                ("\u221212", "minus sign"), ("+", None), ("0x10", None), ("\u00A012\u3000", None), ("", None)]:
    case("integer", I, v, note)

# ---- phones ------------------------------------------------------------------------------------------------
FULL = str.maketrans("0123456789+()-", "０１２３４５６７８９＋（）－")
REGIONS = ["GB", "US", "DE", "FR", "IT", "ES", "NL", "AU", "JP", "IN", "BR", "CH", "SE", "IE", "PL", "ZA", "NZ", "CN", "KR", "CA"]
MOBILE_ALL = {"GB", "DE", "FR"}  # regions whose mobile number gets every spelling (the others get four)
# Spellings where python-phonenumbers 8.12 and libphonenumber-csharp 9.0 differ, left out (found by fuzzing both):
# libphonenumber-csharp 9.0 checks RFC 3966's phone-context (an empty one is NOT_A_NUMBER; 8.12 ignores it), and the two
# releases read a run of several '+' after other characters differently ("x++(0)1144" in a US column: 8.12 too short,
# 9.0 an invalid country code).
PHONE_DISAGREEMENTS = {"tel:020-7946-0958;phone-context=", "x++(0)1144"}


def phone_case(country_code, v, note=None):
    if v in PHONE_DISAGREEMENTS:
        return
    case("phone", col("phone", "phone", country_code), v, note)


for r in REGIONS:
    md = phonenumbers.PhoneMetadata.metadata_for_region(r)
    cc = str(md.country_code)
    idd00 = re.fullmatch(md.international_prefix, "00") is not None
    for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
        n = phonenumbers.example_number_for_type(r, kind)
        intl = phonenumbers.format_number(n, PhoneNumberFormat.INTERNATIONAL)
        national = phonenumbers.format_number(n, PhoneNumberFormat.NATIONAL)
        e164 = phonenumbers.format_number(n, PhoneNumberFormat.E164)
        rest = intl[len(cc) + 2:]
        digits = re.sub(r"\D", "", national)
        spellings = [] if kind == PhoneNumberType.MOBILE and r not in MOBILE_ALL else [
            (cc, intl, "international"), (cc, e164, "E.164"), (None, intl, "international, no default country"),
            (cc, intl.replace(" ", "-"), "dashes"), (cc, "+" + cc + "." + rest.replace(" ", ".").replace("-", "."), "dots"),
            (cc if idd00 else None, "00" + cc + " " + rest, "00 prefix"), (cc, "(+" + cc + ") " + rest, "(+CC)"),
            (cc, national, "national"), (r, national, "national, ISO region column"), (cc, digits, "national digits only"),
            (cc, national.replace(" ", "/", 1), "slash"), (cc, intl.translate(FULL), "full-width"),
            (cc, intl + " ext. 123", "extension dropped"), (cc, national + " x 45", "extension dropped"),
            (cc, "  " + intl.replace(" ", "\u00A0") + "\t", "NBSP separators, padding"), (None, national, "national, no default country"),
        ]
        if kind == PhoneNumberType.MOBILE and r not in MOBILE_ALL:
            spellings = [(cc, intl, "international"), (cc, national, "national"), (cc, "(+" + cc + ") " + rest, "(+CC)"),
                         (cc, intl.translate(FULL), "full-width")]
        elif md.national_prefix == "0":
            spellings.append((cc, "+" + cc + " (0)" + rest, "+CC (0)"))
            spellings.append((cc, "+" + cc + " (0) " + rest, "+CC (0) spaced"))
        if not idd00 and kind == PhoneNumberType.FIXED_LINE:
            spellings.append((cc, md.preferred_international_prefix or "", "own international prefix"))
        for country, v, note in spellings:
            if note == "own international prefix":
                if not re.fullmatch(r"\d+", v):
                    continue
                v = v + " 44 20 7946 0958"
            phone_case(country, v, f"{r} {'mobile' if kind == PhoneNumberType.MOBILE else 'fixed'}: {note}")

for country, v, note in [
    ("44", "(+44) 7000-012345", "issue #14's example"), ("44", "(+44)7700 900123", None), ("44", "+44(0)7700-900-123", None),
    ("44", "0044 (0)20 7946 0958", None), ("44", "+44 (0)20 7946 0958", None), ("44", "020 7946 0958", None),
    ("44", "(020) 7946 0958", None), ("44", "+44.20.7946.0958", None), ("44", "tel:+44-20-7946-0958", "RFC 3966"),
    ("44", "+44 20 7946 0958 ext 2", "extension dropped"), ("44", "+44 20 7946 0958 #77", "extension dropped"),
    ("44", "+44 20 7946 0958;ext=2", None), ("1", "+1 (201) 555-0123 x1234", None), ("1", "1-201-555-0123", "trunk 1"),
    ("1", "201.555.0123", None), ("1", "011 44 20 7946 0958", "US international prefix"), ("1", "0044 20 7946 0958", "00 is not the US prefix"),
    ("GB", "07700 900123", None), ("gb", "07700 900123", "lower-case region"), ("49", "030/123456", None), ("49", "+49 (0)30 123456", None),
    ("49", "(030) 123 456", None), ("33", "01.23.45.67.89", None), ("33", "+33 (0)1 23 45 67 89", None),
    ("39", "+39 02 1234 5678", "Italian leading zero kept"), ("39", "02 1234 5678", None), ("61", "(02) 1234 5678", None),
    ("61", "0011 44 20 7946 0958", "Australian international prefix"), ("81", "03-1234-5678", None), ("81", "010-44-20-7946-0958", None),
    (None, "+44 20 7946 0958", None), (None, "0044 20 7946 0958", "00 without a default country"),
    (None, "(0044) 20 7946 0958", None), ("44", "0800 FLOWERS", "vanity letters: keypad digits"),
    ("1", "1-800-FLOWERS", "vanity letters: keypad digits"),
    # refused spellings
    ("44", "12345", None), ("44", "+44 20 79", None), ("44", "+44 20 7946 0958 1234 5678", None), ("44", "n/a", None),
    ("44", "unknown", None), ("44", "-", None), ("44", "+", None), ("44", "+999 1234 5678", "unassigned calling code"),
    ("44", "+1234567890123456", None), ("44", "0", None), ("44", "+44", None), ("44", "00", None),
    (None, "020 7946 0958", "national without default country"), (None, "7946 0958", None),
    (None, "020 7946 0958 +", "a '+' after the number: still national"), (None, "020 7946 0958 (+44)", None),
    (None, "\u0660\u0662\u0660 \u0667\u0669\u0664\u0666 \u0660\u0669\u0665\u0668 +", "Arabic-Indic digits (Nd) first: national"),
    (None, "+ 020 7946 0958", "'+' first: an invalid calling code, not a missing country"),
    (None, "+999 1234 5678", "unassigned calling code, no default country"), (None, "00999 1234 5678", "00 becomes +"),
    (None, "tel:+44-20-7946-0958", None), ("44", "020 7946 0958 ext. 12345678", "long extension dropped"),
    ("44", "+44 20 7946 0958 x", "a lone x"), ("44", "+44 (0) 20 7946 0958", None),
    ("44", "+800 1234 5678", "non-geographic: types are not checked"), ("44", "0800 123 4567", "toll-free"),
    ("44", "09098 790 123", "premium rate"),
    ("44", "tel:7946-0958;phone-context=+44-20", "RFC 3966 local number with a global context"),
    (None, "tel:7946-0958;phone-context=+44-20", None), ("44", "tel:+44-20-7946-0958;ext=12", None),
    ("44", "tel:020-7946-0958;phone-context=+44", None), ("44", "tel:+44-20-7946-0958;phone-context=+44", None),
    ("44", "7946 0958;phone-context=example.com", "a domain context gives no area code"), ("44", "+44 20 7946 0958;isub=123", None),
    ("1", "++1 201 555 0123", "doubled plus"), (None, "++44 20 7946 0958", None),
    ("44", "tel:020-7946-0958;phone-context=", "left out: the releases differ"), ("1", "x++(0)1144", "left out: the releases differ"),
    ("1", "555-0123", "local only"), ("1", "201-555-01234567", None), ("1", "+1 201 555", None),
    ("49", "+49 1", None), ("33", "+33 1 23", None), ("33", "+33 1 23 45 67 89 01 23", None), ("61", "02 1234", None),
    ("81", "03-1234", None), ("91", "+91 12", None), ("55", "+55 1", None), ("86", "+86 10", None),
    ("44", "+44 20 7946 09580000000000", None), ("41", "+41 2222 222 222", "between possible lengths"),
    ("46", "+46 222 222 222 22", "between possible lengths"), ("44", "x", None), ("44", "#", None), ("44", "@", None),
]:
    phone_case(country, v, note)

# ---- multi-column records ----------------------------------------------------------------------------------
M = [col("name", "text"), col("email", "email"), col("phone", "phone", "44"), col("id", "integer")]
for values in [
    ["Émile Zola", "emile.zola@example.com", "+44 20 7946 0958", "42"],
    ["  E\u0301MILE   ZOLA ", "Emile.Zola+promo@EXAMPLE.com", "020 7946 0958", "+0042"],
    ["émile zola", "emile.zola@example.com", "(+44) 20 7946 0958", "042"],
    [None, "emile.zola@example.com", None, None],
    ["Émile Zola", None, "+44 20 7946 0958", ""],
    ["Émile Zola", "not-an-email", "+44 20 7946 0958", "42"],
    ["Émile Zola", "emile.zola@example.com", "n/a", "42"],
    ["Émile Zola", "emile.zola@example.com", "+44 20 7946 0958", "4.2"],
    ["Émile Zola", "bad", "n/a", "4.2"],
    [None, None, None, None],
    ["   ", "\u00A0", "", "\t"],
    ["ab", "c@example.com", None, "1"],
    ["a", "bc@example.com", None, "1"],
    ["Straße", "STRASSE@gmail.com", "+44 7700 900123", "-1"],
    ["STRASSE", "s.t.r.a.s.s.e+x@googlemail.com", "07700 900123", "-01"],
]:
    case("multi-column", M, values)
TWO = [col("a", "text"), col("b", "text")]
for values in [["ab", "c"], ["a", "bc"], [None, "x"], ["x", None], ["x", ""], ["a b", "c"], ["a", "b c"]]:
    case("multi-column", TWO, values, "length prefixes keep boundaries apart")
P2 = [col("mobile", "phone", "33"), col("home", "phone")]
for values in [["06 12 34 56 78", "+44 20 7946 0958"], ["+33 6 12 34 56 78", "0044 20 7946 0958"], ["06 12 34 56 78", "020 7946 0958"]]:
    case("multi-column", P2, values)
case("multi-column", [col("cs", "case-sensitive-text"), col("t", "text")], ["Ab", "Ab"])


def main():
    phones = [c for c in CASES if c["group"] == "phone"]
    document = {
        "description": "Conformance vectors for PSI canonical records (docs/protocols/psi.md, 'Canonical records'). "
                       "Each case: columns (name, kind, optional countryCode) and values (null = absent) -> expected: the record "
                       "bytes in hex, or 'refused: <reason code>' (the first refused column, in column order). 'canonical' "
                       "(the per-column canonical text) and 'note' are informative.",
        "recordPrefix": PREFIX.decode(),
        "unicodeVersion": UNICODE_VERSION,
        "generator": "docs/protocols/vectors/generate_psi_records.py (independent Python implementation)",
        "phoneMetadata": f"python3-phonenumbers {phonenumbers.__version__}; cases chosen where libphonenumber-csharp 9.0.43 agrees",
        "counts": {
            "cases": len(CASES),
            "phoneCases": len(phones),
            "phoneRegions": len({c["note"].split(" ", 1)[0] for c in phones if c.get("note", "")[:2] in REGIONS}),
            "refused": sum(1 for c in CASES if c["expected"].startswith("refused")),
        },
        "cases": CASES,
    }
    # One case per line: readable diffs when a rule or the metadata changes.
    cases = document.pop("cases")
    text = json.dumps(document, ensure_ascii=True, indent=1)[:-2]
    lines = [json.dumps(c, ensure_ascii=True) for c in cases]
    sys.stdout.write(text + ',\n "cases": [\n  ' + ",\n  ".join(lines) + "\n ]\n}\n")


if __name__ == "__main__":
    main()
