"""kkrt-v1 known answers: docs/protocols/vectors/kkrt-v1.json (written by the .NET implementation), recomputed by this
independent implementation step by step, and a whole small session with the same fixed randomness, byte for byte."""

from __future__ import annotations

import hashlib
import json
import pathlib

import numpy as np
import pytest

from smpc.crypto import aes, ristretto
from smpc.psi import kkrt

PATH = pathlib.Path(__file__).resolve().parents[3] / "docs" / "protocols" / "vectors" / "kkrt-v1.json"

pytestmark = pytest.mark.skipif(not PATH.exists(), reason="docs/protocols/vectors/kkrt-v1.json (helper protocol) is not merged yet")


@pytest.fixture(scope="module")
def v() -> dict:
    return json.loads(PATH.read_text("utf-8"))


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def fixed(label: str, length: int) -> bytes:
    """The vectors' fixed inputs: SHA-256("kkrt-v1 vector <label> <block>") blocks, cut to ``length``."""
    out = b"".join(hashlib.sha256(f"kkrt-v1 vector {label} {block}".encode()).digest()
                   for block in range(-(-length // 32)))
    return out[:length]


class DeterministicRandom:
    """The vectors' randomness: block k = SHA-256(LE32(seed) ‖ LE64(k)), consumed byte by byte."""

    def __init__(self, seed: int) -> None:
        self.seed, self.counter, self.buffer = seed, 0, b""

    def __call__(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self.buffer += hashlib.sha256(self.seed.to_bytes(4, "little") + self.counter.to_bytes(8, "little")).digest()
            self.counter += 1
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out


def test_version(v):
    assert v["version"] == kkrt.VERSION == "kkrt-v1"


def test_item_digests(v):
    assert v["digests"]
    for entry in v["digests"]:
        assert kkrt.item_digests([entry["record"].encode()]).tobytes().hex() == entry["digest"]


def test_cuckoo_positions(v):
    c = v["cuckoo"]
    hk = h(c["hk"])
    assert hk == fixed("hk", 16)
    for entry in c["positions"]:
        d = np.frombuffer(h(entry["digest"]), dtype=np.uint8).reshape(1, 16)
        assert kkrt.cuckoo_positions(d, hk, c["bins"])[:, 0].tolist() == entry["h"]


def test_code_words(v):
    c = v["code"]
    ck = h(c["ck"])
    assert ck == fixed("ck", 16)
    for entry in c["words"]:
        d = np.frombuffer(h(entry["digest"]), dtype=np.uint8).reshape(1, 16)
        assert [kkrt.codewords(d, ck, i).tobytes().hex() for i in range(3)] == entry["code"]


def test_hash_to_group(v):
    g = v["h2g"]
    assert h(g["randomSeed"]) == fixed("ot seed", 32)
    element = kkrt.random_elements([h(g["randomSeed"])])[0]
    assert element.hex() == g["randomElement"]
    for entry in g["otHash"]:
        # G_j(P) = H2G(BE32(j) ‖ P, ot-hash): ot_hash numbers its inputs from 0, so pad to index j.
        points = [element] * (entry["j"] + 1)
        assert h(entry["point"]) == element
        assert kkrt.ot_hash(points)[entry["j"]].hex() == entry["g"]


def test_kdf(v):
    k = v["kdf"]
    args = [h(k[name]) for name in ("r0", "r1", "b", "shared")]
    assert args == [fixed(label, 32) for label in ("kdf r0", "kdf r1", "kdf b", "kdf s")]
    assert kkrt.ot_kdf(k["j"], k["c"], *args).hex() == k["key"]


def test_base_ots_from_fixed_scalars(v):
    assert v["baseOt"]
    for ot in v["baseOt"]:
        j, choice = ot["j"], ot["choice"]
        a, b, seed = h(ot["a"]), h(ot["b"]), h(ot["seed"])
        assert a == ristretto.scalar_reduce(fixed(f"a {j}", 64)) and b == ristretto.scalar_reduce(fixed(f"b {j}", 64))
        assert seed == fixed(f"seed {j}", 32)
        # The receiver's message for OT j alone: R_{j,1−c} = H2G(seed), R_{j,c} = a·G − G_j(R_{j,1−c}).
        other = kkrt.random_elements([seed])[0]
        g = kkrt.ot_hash([other] * (j + 1))[j]
        chosen = ristretto.sub(ristretto.scalarmult_base(a), g)
        r0, r1 = (other, chosen) if choice else (chosen, other)
        assert (r0.hex(), r1.hex()) == (ot["r0"], ot["r1"])
        big_b = ristretto.scalarmult_base(b)
        assert big_b.hex() == ot["B"]
        g1 = kkrt.ot_hash([r1] * (j + 1))[j]
        g0 = kkrt.ot_hash([r0] * (j + 1))[j]
        k0 = kkrt.ot_kdf(j, 0, r0, r1, big_b, ristretto.scalarmult(b, ristretto.add(r0, g1)))
        k1 = kkrt.ot_kdf(j, 1, r0, r1, big_b, ristretto.scalarmult(b, ristretto.add(r1, g0)))
        assert (k0.hex(), k1.hex()) == (ot["k0"], ot["k1"])
        assert kkrt.ot_kdf(j, choice, r0, r1, big_b, ristretto.scalarmult(a, big_b)).hex() == ot["receiverKey"]
        assert ot["receiverKey"] == (ot["k1"] if choice else ot["k0"])


def test_prg(v):
    p = v["prg"]
    key = h(p["key"])
    assert key == fixed("prg", 16)
    assert aes.prg(key, 48).hex() == p["blocks0to2"]
    assert aes.prg(key, 16 * 1001)[16 * 1000:].hex() == p["block1000"]


def test_transposed_matrix(v):
    mtx = v["matrix"]
    keys = fixed("columns", 512 * 16)
    bins = mtx["bins"]
    rows = aes.transpose_columns(aes.prg_columns([keys[16 * j:16 * j + 16] for j in range(512)], bins), bins)
    assert hashlib.sha256(rows.tobytes()).hexdigest() == mtx["rowsSha256"]
    for entry in mtx["rows"]:
        assert rows[entry["bin"]].tobytes().hex() == entry["row"]


def test_tag(v):
    t = v["tag"]
    row = h(t["row"])
    assert row == fixed("tag row", 64)
    got = kkrt.tags(np.array([t["bin"]]), np.frombuffer(row, dtype=np.uint8).reshape(1, 64), t["length"])
    assert got.tobytes().hex() == t["tag"]


def test_a_whole_session_byte_for_byte(v):
    s = v["session"]
    mod = [r.encode() for r in s["modellerRecords"]]
    pod = [r.encode() for r in s["podRecords"]]
    modeller_random = DeterministicRandom(s["modellerSeed"])
    receiver = kkrt.KkrtReceiver(mod, random_bytes=modeller_random)
    sender = kkrt.KkrtSender(pod, len(mod), random_bytes=DeterministicRandom(s["podSeed"]))
    assert receiver.m == s["bins"] and receiver.tag_bytes == s["tagBytes"]
    setup = sender.setup()
    assert len(setup) == s["setupLength"]
    assert setup[:16].hex() == s["ck"] and sender._s.hex() == s["s"]
    assert hashlib.sha256(setup).hexdigest() == s["setupSha256"]

    # The modeller's cuckoo table: its key and where each record went (the eviction walk is each implementation's own,
    # but six records in 265 bins meet no collision, so every record takes its first free function).
    assert receiver._hk.hex() == s["hk"]
    placed = {int(item): (int(i), int(b)) for b, (item, i) in
              enumerate(zip(receiver._table_item, receiver._table_index)) if item >= 0}
    assert [{"record": r, "function": placed[k][0], "bin": placed[k][1]} for k, r in enumerate(s["modellerRecords"])] \
        == s["assignment"]

    query = receiver.query(setup)
    assert len(query) == s["queryLength"]
    assert query[kkrt.QUERY_HEADER_BYTES:kkrt.QUERY_HEADER_BYTES + 64].hex() == s["firstRow"]
    assert hashlib.sha256(query).hexdigest() == s["querySha256"]
    # The base-OT keys, recomputed from the same draws: the eviction seed and one hk, then 512 × 64 bytes for the b_j.
    replay = DeterministicRandom(s["modellerSeed"])
    replay(16 + 16 * (receiver.redraws + 1))
    scalars = [kkrt._random_scalar(replay) for _ in range(kkrt.BASE_OTS)]
    pairs = [(setup[16 + 64 * j:48 + 64 * j], setup[48 + 64 * j:80 + 64 * j]) for j in range(kkrt.BASE_OTS)]
    bs, k0, k1 = kkrt.ot_sender_keys(pairs, scalars)
    assert b"".join(bs) == query[16:kkrt.QUERY_HEADER_BYTES]
    assert b"".join(k0).hex() == s["k0"] and b"".join(k1).hex() == s["k1"]
    assert query[:kkrt.QUERY_HEADER_BYTES].hex() == s["queryHeader"]

    reply = sender.reply(query)
    assert reply.hex() == s["reply"]
    matched = receiver.finish(reply)
    assert [k in matched for k in range(len(mod))] == s["matched"]
