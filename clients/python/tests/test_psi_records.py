"""PSI canonical records against the committed conformance vectors (docs/protocols/vectors/psi-records.json)."""

import json
import pathlib

import pytest

from smpc.psi import records
from smpc.psi.errors import RecordRefused
from smpc.psi.records import Column, RecordEncoder, encode_rows, punycode_decode

VECTORS = pathlib.Path(__file__).resolve().parents[3] / "docs" / "protocols" / "vectors" / "psi-records.json"
DATA = json.loads(VECTORS.read_text(encoding="utf-8"))
CASES = DATA["cases"]


def test_vector_file_is_the_one_the_spec_describes():
    assert DATA["recordPrefix"] == records.VERSION
    assert len(CASES) == DATA["counts"]["cases"] == 770
    assert sum(1 for c in CASES if c["expected"].startswith("refused: ")) == DATA["counts"]["refused"]


def _run(case):
    encoder = RecordEncoder(case["columns"])
    try:
        return encoder.encode(case["values"]).hex()
    except RecordRefused as e:
        return "refused: " + e.reason


def test_every_conformance_case():
    failures = []
    for index, case in enumerate(CASES):
        got = _run(case)
        if got != case["expected"]:
            failures.append((index, case["group"], case["values"], case["expected"][:60], got[:60]))
    assert not failures, f"{len(failures)} of {len(CASES)} cases differ, first: {failures[:5]}"


def test_canonical_texts_match_the_informative_column():
    checked = 0
    for case in CASES:
        if "canonical" in case:
            assert RecordEncoder(case["columns"]).canonical(case["values"]) == case["canonical"], case
            checked += 1
    assert checked > 600


@pytest.mark.parametrize("kind", ["text", "email", "phone", "integer", "case-sensitive-text"])
def test_each_kind_is_covered(kind):
    assert any(c["kind"] == kind for case in CASES for c in case["columns"])


def test_length_prefix_makes_the_encoding_injective():
    enc = RecordEncoder([Column("a", "case-sensitive-text"), Column("b", "case-sensitive-text")])
    assert enc.encode(["ab", "c"]) != enc.encode(["a", "bc"])


def test_refusal_names_the_first_refused_column():
    enc = RecordEncoder([Column("n", "integer"), Column("e", "email")])
    with pytest.raises(RecordRefused) as e:
        enc.encode(["x", "no-at-sign"])
    assert e.value.reason == "integer-invalid" and e.value.column == "n"


def test_punycode_rfc_3492_sample_and_failures():
    # RFC 3492 7.1 (A) Arabic (Egyptian)
    assert punycode_decode("egbpdaj6bu4bxfgehfvwxn") == "\u0644\u064a\u0647\u0645\u0627\u0628\u062a\u0643\u0644\u0645\u0648\u0634\u0639\u0631\u0628\u064a\u061f"
    assert punycode_decode("mnchen-3ya") == "münchen"
    assert punycode_decode("-abc") is None  # a leading only '-' is read as a digit: fails (Python's codec accepts it)
    assert punycode_decode("abc-") == "abc"


def test_unknown_kind_and_country_are_refused_up_front():
    with pytest.raises(ValueError):
        Column("x", "date")
    with pytest.raises(ValueError):
        Column("p", "phone", "999")
    assert Column("p", "phone", "44").region == "GB"
    assert Column("p", "phone", "1").region == "US"


def test_rows_are_skipped_and_counted_by_reason():
    cols = [Column("email", "email"), Column("phone", "phone", "GB")]
    out = encode_rows([["a@x.org", None], [None, "  "], ["bad", "020 7946 0958"], [None, "020 7946 0958"]], cols)
    assert out.rows == [0, 3]
    assert out.stats.rows == 4 and out.stats.skipped == 2
    assert out.stats.skipped_by_reason == {"blank": 1, "email-invalid": 1}
    assert out.stats.first_problem.startswith("row 3:")


def test_numbers_from_dataframes_encode_like_their_text():
    enc = RecordEncoder([Column("n", "integer")])
    assert enc.encode([42]) == enc.encode(["42"]) == enc.encode([42.0])
    with pytest.raises(RecordRefused):
        enc.encode([1.5])
    assert enc.canonical([float("nan")]) == [None]
