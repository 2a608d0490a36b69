"""Canonical PSI records (docs/protocols/psi.md, "Canonical records"), written from the document.

A record is the values of the selected columns, in column order; each value is canonicalised by its column's kind and
the record is encoded injectively::

    "smpc/psi/record/v2" || BE16 column count || per column: kind byte || (0x00 | 0x01 || BE32 length || UTF-8)

Unicode: Python's ``str.casefold`` is full case folding (CaseFolding.txt statuses C and F) and equals Unicode 15.0.0's
table on every code point; NFC/NFKC come from ``unicodedata`` (14.0.0 in Python 3.11; normalisation is stable for
assigned code points). White_Space is the Unicode property (PropList.txt), listed below.
Phones: Google's libphonenumber through Debian's ``python3-phonenumbers``.
"""

from __future__ import annotations

import math
import re
import struct
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Sequence

from .errors import RecordRefused

PREFIX = b"smpc/psi/record/v2"
"""The record prefix: names the canonical rules (v2)."""

VERSION = "smpc/psi/record/v2"

KINDS: dict[str, int] = {"text": 1, "case-sensitive-text": 2, "email": 3, "phone": 4, "integer": 5}
"""Column kinds and their bytes in the encoding."""

# Unicode 15.0.0 PropList.txt, White_Space (not U+200B, not U+180E).
WHITE_SPACE = frozenset(
    [chr(c) for c in range(0x09, 0x0E)] + [" ", "\x85", "\xa0", "\u1680"] + [chr(c) for c in range(0x2000, 0x200B)]
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"])

_WS_CLASS = "[" + "".join(re.escape(c) for c in sorted(WHITE_SPACE)) + "]"
_WS_RUNS = re.compile(_WS_CLASS + "+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FIRST_PLUS_OR_ASCII_DIGIT = re.compile(r"[+0-9]", re.ASCII)
_FIRST_PLUS_OR_DIGIT = re.compile(r"[+\d]")  # \d on str: Unicode Nd

# Reason codes (psi.md "Reason codes"), stable.
BLANK = "blank"
INVALID_UNICODE = "invalid-unicode"
EMAIL_INVALID = "email-invalid"
EMAIL_DOMAIN_INVALID = "email-domain-invalid"
PHONE_NOT_A_NUMBER = "phone-not-a-number"
PHONE_NO_COUNTRY = "phone-no-country"
PHONE_INVALID_COUNTRY_CODE = "phone-invalid-country-code"
PHONE_TOO_SHORT = "phone-too-short"
PHONE_TOO_LONG = "phone-too-long"
PHONE_INVALID_LENGTH = "phone-invalid-length"
PHONE_LOCAL_ONLY = "phone-local-only"
INTEGER_INVALID = "integer-invalid"
INTEGER_OUT_OF_RANGE = "integer-out-of-range"
MALFORMED = "malformed"


# ---- Unicode building blocks ------------------------------------------------------------------------------------

def _nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def _fold(s: str) -> str:
    """Text steps (1)-(3): NFKC, full case fold, NFKC."""
    return _nfkc(_nfkc(s).casefold())


def _collapse(s: str) -> str:
    """Text step (4): each White_Space run becomes one U+0020, none at either end."""
    return _WS_RUNS.sub(" ", s).strip(" ") if s else s


def _trim(s: str) -> str:
    start, end = 0, len(s)
    while start < end and s[start] in WHITE_SPACE:
        start += 1
    while end > start and s[end - 1] in WHITE_SPACE:
        end -= 1
    return s[start:end]


def is_absent(value: Any) -> bool:
    """Null, NaN, empty, or only White_Space: the value is absent (psi.md "Values", steps 1 and 3)."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if not isinstance(value, str):
        try:
            import pandas  # noqa: PLC0415 (optional)
            if value is pandas.NA or value is pandas.NaT:
                return True
        except ImportError:  # pragma: no cover
            pass
        return False
    return all(c in WHITE_SPACE for c in value)


# ---- Punycode (RFC 3492 section 6.2, with the spec's fixed overflow bound) ---------------------------------------

_MAX_INT = 2**31 - 1


def punycode_decode(label: str) -> str | None:
    """Decodes the part of a label after ``xn--``; None when decoding fails (psi.md "Punycode")."""
    base, tmin, tmax, skew, damp = 36, 1, 26, 38, 700
    delimiter = label.rfind("-")
    if delimiter > 0:
        basic = label[:delimiter]
        if any(ord(c) >= 0x80 for c in basic):
            return None
        output = [ord(c) for c in basic]
        pos = delimiter + 1
    else:
        output = []
        pos = 0
    n, i, bias, first = 128, 0, 72, True
    while pos < len(label):
        old_i, w, k = i, 1, base
        while True:
            if pos >= len(label):
                return None
            c = label[pos]
            pos += 1
            if "a" <= c <= "z":
                digit = ord(c) - 97
            elif "A" <= c <= "Z":
                digit = ord(c) - 65
            elif "0" <= c <= "9":
                digit = ord(c) - 22
            else:
                return None
            i += digit * w
            if i > _MAX_INT:
                return None
            t = tmin if k <= bias else (tmax if k >= bias + tmax else k - bias)
            if digit < t:
                break
            w *= base - t
            if w > _MAX_INT:
                return None
            k += base
        # adapt(delta = i - old_i, numpoints = len(output) + 1, firsttime = first)
        delta = (i - old_i) // (damp if first else 2)
        delta += delta // (len(output) + 1)
        k = 0
        while delta > ((base - tmin) * tmax) // 2:
            delta //= base - tmin
            k += base
        bias = k + ((base - tmin + 1) * delta) // (delta + skew)
        first = False
        n += i // (len(output) + 1)
        if n > _MAX_INT:
            return None
        i %= len(output) + 1
        if n > 0x10FFFF or 0xD800 <= n <= 0xDFFF:
            return None
        output.insert(i, n)
        i += 1
    return "".join(map(chr, output))


# ---- the kinds --------------------------------------------------------------------------------------------------

def _text(v: str) -> str | None:
    return _collapse(_fold(v)) or None


def _case_sensitive_text(v: str) -> str | None:
    return unicodedata.normalize("NFC", _trim(v)) or None


def _email(v: str) -> str:
    s = _collapse(_fold(v))
    parts = s.split("@")
    if len(parts) != 2 or not parts[0] or " " in s:
        raise RecordRefused(EMAIL_INVALID, "not exactly one '@', an empty local part, or a space")
    labels = parts[1].rstrip(".").split(".")
    if len(labels) < 2 or any(not label for label in labels):
        raise RecordRefused(EMAIL_DOMAIN_INVALID, "the domain needs two or more non-empty labels")
    for index, label in enumerate(labels):
        if label.startswith("xn--"):
            decoded = punycode_decode(label[4:])
            decoded = _fold(decoded) if decoded is not None else None
            if not decoded or any(c in ".@" or c in WHITE_SPACE for c in decoded):
                raise RecordRefused(EMAIL_DOMAIN_INVALID, f"the label '{label}' is not usable Punycode")
            labels[index] = decoded
    domain = ".".join(labels)
    local = parts[0].split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
        domain = "gmail.com"
    if not local:
        raise RecordRefused(EMAIL_INVALID, "the local part is empty")
    return local + "@" + domain


def phone_region(country_code: str | None) -> str | None:
    """The libphonenumber region of a column's ``countryCode``: a calling code (1-3 digits, its main region) or an ISO
    3166 region (any case); None for none. Raises ValueError for a code that names no supported region."""
    if country_code is None:
        return None
    import phonenumbers  # noqa: PLC0415 (only phone columns need it)
    if re.fullmatch(r"[0-9]{1,3}", country_code, re.ASCII):
        region = phonenumbers.region_code_for_country_code(int(country_code))
    elif re.fullmatch(r"[A-Za-z]{2}", country_code, re.ASCII):
        region = country_code.upper()
    else:
        region = None
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"country code {country_code!r} names no supported region")
    return region


def _phone(v: str, region: str | None) -> str:
    import phonenumbers  # noqa: PLC0415
    from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult  # noqa: PLC0415

    s = _nfkc(v)
    if region is None:
        m = _FIRST_PLUS_OR_ASCII_DIGIT.search(s)
        if m is not None and s.startswith("00", m.start()):
            s = s[:m.start()] + "+" + s[m.start() + 2:]
    try:
        number = phonenumbers.parse(s, region or "ZZ")
    except NumberParseException as e:
        if e.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            start = _FIRST_PLUS_OR_DIGIT.search(s)
            national = start is not None and s[start.start()] != "+"
            if region is None and national:
                raise RecordRefused(PHONE_NO_COUNTRY, "a national number in a column without a default country") from None
            raise RecordRefused(PHONE_INVALID_COUNTRY_CODE, "an unknown country calling code") from None
        if e.error_type in (NumberParseException.TOO_SHORT_AFTER_IDD, NumberParseException.TOO_SHORT_NSN):
            raise RecordRefused(PHONE_TOO_SHORT, "too short") from None
        if e.error_type == NumberParseException.TOO_LONG:
            raise RecordRefused(PHONE_TOO_LONG, "too long") from None
        raise RecordRefused(PHONE_NOT_A_NUMBER, "no phone number found") from None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.IS_POSSIBLE:
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    code = {
        ValidationResult.IS_POSSIBLE_LOCAL_ONLY: PHONE_LOCAL_ONLY,
        ValidationResult.INVALID_COUNTRY_CODE: PHONE_INVALID_COUNTRY_CODE,
        ValidationResult.TOO_SHORT: PHONE_TOO_SHORT,
        ValidationResult.TOO_LONG: PHONE_TOO_LONG,
    }.get(reason, PHONE_INVALID_LENGTH)
    raise RecordRefused(code, "not a possible number for its country")


def _integer(v: str) -> str:
    s = _trim(_nfkc(v))
    if not _INTEGER.fullmatch(s):
        raise RecordRefused(INTEGER_INVALID, "not an optional sign followed by ASCII digits")
    n = int(s)
    if not -2**63 <= n < 2**63:
        raise RecordRefused(INTEGER_OUT_OF_RANGE, "outside the signed 64-bit range")
    return str(n)


# ---- columns and records ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """A matched column: its name on this side, its kind and, for phones, the country code of national numbers."""

    name: str
    kind: str
    country_code: str | None = None
    region: str | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column '{self.name}': unknown kind '{self.kind}' (kinds: {', '.join(KINDS)})")
        if self.country_code is not None and self.kind != "phone":
            raise ValueError(f"column '{self.name}': countryCode is only for phone columns")
        object.__setattr__(self, "region", phone_region(self.country_code) if self.kind == "phone" else None)

    @staticmethod
    def parse(spec: "Column | Mapping[str, Any] | tuple[str, str] | tuple[str, str, str | None]") -> "Column":
        """A column from a ``Column``, a wire dict (``name``, ``kind``, ``countryCode``) or a tuple."""
        if isinstance(spec, Column):
            return spec
        if isinstance(spec, Mapping):
            return Column(spec["name"], spec["kind"], spec.get("countryCode", spec.get("country_code")))
        return Column(*spec)

    def to_wire(self) -> dict[str, Any]:
        """The ``PsiColumnRequest`` dict."""
        return {"name": self.name, "kind": self.kind, "countryCode": self.country_code}


def _as_text(value: Any, column: Column) -> str:
    """A cell as text: strings as they are; integers (also numpy's) in decimal; an integral float as its integer."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise RecordRefused(MALFORMED, "a boolean is not a record value", column.name)
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        f = float(value)
        if f.is_integer() and abs(f) < 2**53:
            return str(int(f))
        return repr(f)
    if isinstance(value, bytes):
        raise RecordRefused(MALFORMED, "bytes are not a record value", column.name)
    return str(value)


class RecordEncoder:
    """Turns the values of the selected columns into the canonical record bytes."""

    def __init__(self, columns: Sequence[Column | Mapping[str, Any]]) -> None:
        self.columns = [Column.parse(c) for c in columns]
        if not self.columns:
            raise ValueError("a record needs at least one column")
        if len(self.columns) > 0xFFFF:
            raise ValueError("too many columns")

    def canonical(self, values: Sequence[Any]) -> list[str | None]:
        """The canonical text of each value (None: absent); raises RecordRefused naming the first refused column."""
        if len(values) != len(self.columns):
            raise RecordRefused(MALFORMED, f"{len(values)} values for {len(self.columns)} columns")
        out: list[str | None] = []
        for column, value in zip(self.columns, values):
            out.append(canonical_value(column, value))
        return out

    def encode(self, values: Sequence[Any]) -> bytes:
        """The record bytes (psi.md "Encoding")."""
        return encode_canonical(self.columns, self.canonical(values))


def canonical_value(column: Column, value: Any) -> str | None:
    """One value canonicalised by its column's kind (psi.md "Values"); None when absent."""
    if is_absent(value):
        return None
    v = _as_text(value, column)
    try:
        if _SURROGATE.search(v):
            raise RecordRefused(INVALID_UNICODE, "an unpaired surrogate")
        if all(c in WHITE_SPACE for c in v):
            return None
        kind = column.kind
        if kind == "text":
            return _text(v)
        if kind == "case-sensitive-text":
            return _case_sensitive_text(v)
        if kind == "email":
            return _email(v)
        if kind == "phone":
            return _phone(v, column.region)
        return _integer(v)
    except RecordRefused as e:
        if e.column is None:
            raise RecordRefused(e.reason, str(e).split(": ", 1)[-1], column.name) from None
        raise


def encode_canonical(columns: Sequence[Column], texts: Sequence[str | None]) -> bytes:
    """Encodes already canonical texts: prefix, BE16 count, then per column its kind byte and the optional value."""
    out = bytearray(PREFIX)
    out += struct.pack(">H", len(columns))
    for column, text in zip(columns, texts):
        out.append(KINDS[column.kind])
        if text is None:
            out.append(0)
        else:
            data = text.encode("utf-8")
            out.append(1)
            out += struct.pack(">I", len(data))
            out += data
    return bytes(out)


# ---- reading rows -----------------------------------------------------------------------------------------------

@dataclass
class ReadStats:
    """What reading rows found: rows read, rows skipped by reason code, and the first problem."""

    rows: int = 0
    skipped: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    first_problem: str | None = None

    WARN_SKIPPED_SHARE = 0.01

    def skip(self, reason: str) -> None:
        """Counts one skipped row under ``reason``."""
        self.skipped += 1
        self.skipped_by_reason[reason] = self.skipped_by_reason.get(reason, 0) + 1

    @property
    def skipped_too_many(self) -> bool:
        """More than 1% of the rows were skipped: matches are being lost."""
        return self.rows > 0 and self.skipped > self.rows * self.WARN_SKIPPED_SHARE

    def summary(self) -> str:
        """``phone-too-short 12, blank 3``: reasons by count, largest first."""
        items = sorted(self.skipped_by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{k} {v}" for k, v in items)


@dataclass
class EncodedRecords:
    """Encoded records and the 0-based source rows they came from."""

    records: list[bytes]
    rows: list[int]
    stats: ReadStats


def encode_rows(rows: Iterable[Sequence[Any]], columns: Sequence[Column | Mapping[str, Any]]) -> EncodedRecords:
    """Encodes rows whose values are already in column order; blank or refused rows are skipped and counted."""
    encoder = RecordEncoder(columns)
    stats = ReadStats()
    records: list[bytes] = []
    numbers: list[int] = []
    for values in rows:
        number = stats.rows
        stats.rows += 1
        if len(values) == len(encoder.columns) and all(is_absent(v) for v in values):
            stats.skip(BLANK)
            continue
        try:
            records.append(encoder.encode(values))
            numbers.append(number)
        except RecordRefused as e:
            stats.skip(e.reason)
            if stats.first_problem is None:
                stats.first_problem = f"row {number + 1}: {e}"
    return EncodedRecords(records, numbers, stats)


def select_columns(data: Any, columns: Sequence[Column]) -> tuple[Iterator[Sequence[Any]], list[str] | None]:
    """The rows of ``data`` as value sequences in column order: a pandas DataFrame, or an iterable of dict rows (by
    column name) or of sequences (already in column order). Also returns the header when known."""
    names = [c.name for c in columns]
    if hasattr(data, "columns") and hasattr(data, "itertuples"):
        missing = [n for n in names if n not in data.columns]
        if missing:
            raise ValueError(f"no column(s) {', '.join(missing)} in the DataFrame (it has {', '.join(map(str, data.columns))})")
        frame = data[names]
        return (tuple(row) for row in frame.itertuples(index=False, name=None)), [str(c) for c in data.columns]

    def rows() -> Iterator[Sequence[Any]]:
        for row in data:
            if isinstance(row, Mapping):
                missing = [n for n in names if n not in row]
                if missing:
                    raise ValueError(f"a row has no column(s) {', '.join(missing)}")
                yield [row[n] for n in names]
            else:
                yield row
    return rows(), None
