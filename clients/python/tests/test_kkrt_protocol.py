"""kkrt-v1 in process (smpc.psi.kkrt, smpc.crypto.aes): each primitive against a published vector or a slow reference
written here from the spec with Python integers, the whole protocol against that reference byte for byte, known
intersections, the pod's view, and every refusal (which must change nothing)."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from smpc.crypto import aes, ristretto
from smpc.psi import kkrt, oprf
from smpc.psi.errors import ProtocolViolation


def _aes1(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def _rng(seed: int):
    return random.Random(seed).randbytes


# --- primitives ---------------------------------------------------------------------------------------------------------

def test_aes_is_fips197():
    # FIPS 197, Appendix C.1 (AES-128).
    key = bytes(range(16))
    plain = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert aes.aes_ecb(key, plain * 3) == bytes.fromhex("69c4e0d86a7b0430d8cdb78070b4c55a") * 3
    blocks = np.frombuffer(plain * 2, dtype=np.uint8).reshape(2, 16)
    assert aes.aes_ecb_blocks(key, blocks).tobytes() == bytes.fromhex("69c4e0d86a7b0430d8cdb78070b4c55a") * 2
    with pytest.raises(ValueError):
        aes.aes_ecb(key, b"x" * 15)


def test_prg_is_aes_of_little_endian_counters():
    key = bytes(range(100, 116))
    stream = aes.prg(key, 16 * 300 + 5)
    expected = b"".join(_aes1(key, t.to_bytes(16, "little")) for t in range(301))
    assert stream == expected[: 16 * 300 + 5]
    assert aes.prg(key, 0) == b""
    cols = aes.prg_columns([key, bytes(16)], 1000)
    assert cols.shape == (2, 125)
    assert cols[0].tobytes() == stream[:125]
    assert cols[1].tobytes() == aes.prg(bytes(16), 125)


@pytest.mark.parametrize("rows", [1, 7, 8, 9, 63, 64, 65, 1000, 40_001])
def test_transpose_matches_a_bit_by_bit_reference(rows):
    gen = np.random.default_rng(rows)
    width = 64 if rows > 1000 else 512
    cols = gen.integers(0, 256, (width, rows // 8 + 2), dtype=np.uint8)
    got = aes.transpose_columns(cols, rows)
    assert got.shape == (rows, width // 8)
    col_ints = [int.from_bytes(c.tobytes(), "little") for c in cols]
    for b in sorted({0, rows - 1, rows // 2, min(rows - 1, 9)}):
        row = sum(((col_ints[j] >> b) & 1) << j for j in range(width))
        assert got[b].tobytes() == row.to_bytes(width // 8, "little"), b


def test_mul_high_is_the_high_half_of_the_product():
    gen = np.random.default_rng(1)
    x = gen.integers(0, 2**64, 5000, dtype=np.uint64, endpoint=False)
    x[:3] = [0, 2**64 - 1, 2**63]
    for m in (1, 257, 1_500_256, 2**31 + 12345, 2**32 - 1):
        got = kkrt._mul_high(x, m)
        assert [int(v) for v in got] == [(int(v) * m) >> 64 for v in x]


def test_ristretto_add_and_sub_are_the_group_law():
    a, b = ristretto.scalar_random(), ristretto.scalar_random()
    ab = (int.from_bytes(a, "little") + int.from_bytes(b, "little")) % ristretto.L
    pa, pb = ristretto.scalarmult_base(a), ristretto.scalarmult_base(b)
    assert ristretto.add(pa, pb) == ristretto.scalarmult_base(ab.to_bytes(32, "little"))
    assert ristretto.sub(ristretto.add(pa, pb), pb) == pa
    assert ristretto.sub(pa, pa) == ristretto.IDENTITY
    assert ristretto.add(pa, ristretto.IDENTITY) == pa
    with pytest.raises(ristretto.InvalidElementError):
        ristretto.add(b"\xff" * 32, pa)
    with pytest.raises(ristretto.InvalidElementError):
        ristretto.sub(pa, b"\x01" * 31)


def test_h2g_under_a_dst_is_rfc9380_hash_to_ristretto255():
    # RFC 9380 expand_message_xmd (the slow, general form in oprf) then the RFC 9496 one-way map.
    msgs = [b"", b"abc", bytes(range(36))]
    got = ristretto.unpack(oprf.hash_to_group_dst_packed(msgs, kkrt.DST_OT_HASH))
    for msg, point in zip(msgs, got):
        assert point == ristretto.from_hash(oprf.expand_message_xmd(msg, b"smpc/psi/kkrt/v1/ot-hash", 64))
    # With the OPRF's own DST it is the OPRF's HashToGroup.
    assert oprf.hash_to_group_dst_packed(msgs, oprf.HASH_TO_GROUP_DST) == oprf.hash_to_group_packed(msgs)


def test_sizes_follow_the_spec():
    assert kkrt.SETUP_BYTES == 32_784 and kkrt.QUERY_HEADER_BYTES == 16_400
    assert kkrt.bins(0) == 256 and kkrt.bins(1) == 258 and kkrt.bins(2) == 259 and kkrt.bins(1000) == 1756
    for n in (0, 1, 2, 3, 100, 1000, 2**20, 2**26, 50_000_000):
        m = kkrt.bins(n)
        assert m == -(-3 * n // 2) + 256
        log2 = 0
        while (1 << log2) < m:
            log2 += 1
        assert kkrt.tag_bytes(n) == -(-(40 + 26 + log2) // 8)
        assert kkrt.query_bytes(n) == 16_400 + 64 * m
        assert kkrt.reply_bytes(n, 7) == 3 * 7 * kkrt.tag_bytes(n)
    assert kkrt.tag_bytes(1000) == 10 and kkrt.tag_bytes(2**20) == 11


# --- base OTs ------------------------------------------------------------------------------------------------------------

def test_base_ots_give_the_receiver_exactly_its_chosen_keys():
    rnd = _rng(7)
    s = rnd(64)
    count = 40
    a = [kkrt._random_scalar(rnd) for _ in range(count)]
    seeds = [rnd(32) for _ in range(count)]
    pairs = kkrt.ot_receiver_choose(s, a, seeds)
    b = [kkrt._random_scalar(rnd) for _ in range(count)]
    bs, k0, k1 = kkrt.ot_sender_keys(pairs, b)
    keys = kkrt.ot_receiver_keys(s, pairs, a, bs)
    for j in range(count):
        chosen = (s[j >> 3] >> (j & 7)) & 1
        assert keys[j] == (k1 if chosen else k0)[j]
        assert keys[j] != (k0 if chosen else k1)[j]
        # The unchosen R is the hash of the seed; the chosen one a·G − G_j(other), as the spec writes it.
        other = pairs[j][1 - chosen]
        assert other == ristretto.from_hash(oprf.expand_message_xmd(seeds[j], b"smpc/psi/kkrt/v1/ot-random", 64))
        g = ristretto.from_hash(oprf.expand_message_xmd(j.to_bytes(4, "big") + other, b"smpc/psi/kkrt/v1/ot-hash", 64))
        assert ristretto.add(pairs[j][chosen], g) == ristretto.scalarmult_base(a[j])
        assert bs[j] == ristretto.scalarmult_base(b[j])
        shared = ristretto.scalarmult(a[j], bs[j])
        assert keys[j] == hashlib.sha256(b"smpc/psi/kkrt/v1/ot-key" + j.to_bytes(4, "big") + bytes([chosen])
                                         + pairs[j][0] + pairs[j][1] + bs[j] + shared).digest()[:16]


def test_base_ot_refusals():
    rnd = _rng(8)
    s = rnd(64)
    a = [kkrt._random_scalar(rnd) for _ in range(4)]
    pairs = kkrt.ot_receiver_choose(s, a, [rnd(32) for _ in range(4)])
    b = [kkrt._random_scalar(rnd) for _ in range(4)]
    for bad in (ristretto.IDENTITY, b"\xff" * 32):
        broken = list(pairs)
        broken[2] = (pairs[2][0], bad)
        with pytest.raises(ProtocolViolation) as ex:
            kkrt.ot_sender_keys(broken, b)
        assert ex.value.code == "invalid-element"
    bs, _, _ = kkrt.ot_sender_keys(pairs, b)
    for bad in (ristretto.IDENTITY, b"\xee" * 32):
        with pytest.raises(ProtocolViolation) as ex:
            kkrt.ot_receiver_keys(s, pairs, a, bs[:1] + [bad] + bs[2:])
        assert ex.value.code == "invalid-element"
    # R_{j,0} = −G_j(R_{j,1}) makes the shared point the identity: refused.
    r1 = pairs[0][1]
    g = kkrt.ot_hash([r1])[0]
    with pytest.raises(ProtocolViolation) as ex:
        kkrt.ot_sender_keys([(ristretto.sub(ristretto.IDENTITY, g), r1)], b[:1])
    assert ex.value.code == "invalid-element"


# --- the slow reference ---------------------------------------------------------------------------------------------------

def _ref_digest(record: bytes) -> bytes:
    return hashlib.sha256(b"smpc/psi/kkrt/v1/item" + record).digest()[:16]


def _xor(x: bytes, y: bytes) -> bytes:
    return bytes(p ^ q for p, q in zip(x, y))


def _and(x: bytes, y: bytes) -> bytes:
    return bytes(p & q for p, q in zip(x, y))


def _ref_position(d: bytes, hk: bytes, i: int, m: int) -> int:
    return int.from_bytes(_aes1(hk, _xor(d, bytes([i]) + bytes(15)))[:8], "little") * m >> 64


def _ref_code(d: bytes, ck: bytes, i: int) -> bytes:
    return b"".join(_aes1(ck, _xor(d, bytes([4 * i + j]) + bytes(15))) for j in range(4))


def _ref_columns(keys: list[bytes], m: int) -> list[int]:
    blocks = -(-m // 128)
    return [int.from_bytes(b"".join(_aes1(k, t.to_bytes(16, "little")) for t in range(blocks)), "little") for k in keys]


def _ref_row(columns: list[int], b: int) -> bytes:
    return sum(((c >> b) & 1) << j for j, c in enumerate(columns)).to_bytes(64, "little")


def _ref_tag(b: int, row: bytes, ell: int) -> bytes:
    return hashlib.sha256(b"smpc/psi/kkrt/v1/tag" + b.to_bytes(4, "big") + row).digest()[:ell]


def _ref_reply(sender: kkrt.KkrtSender, pod_records: list[bytes], n: int, query: bytes) -> bytes:
    """The pod's reply computed from the spec text alone, given the pod's secrets (s, a_j, R pairs, ck)."""
    m, ell = kkrt.bins(n), kkrt.tag_bytes(n)
    s, ck, a, pairs = sender._s, sender._ck, sender._a, sender._pairs
    hk = query[:16]
    keys = []
    for j in range(512):
        bj = query[16 + 32 * j:48 + 32 * j]
        sj = (s[j >> 3] >> (j & 7)) & 1
        shared = ristretto.scalarmult(a[j], bj)
        keys.append(hashlib.sha256(b"smpc/psi/kkrt/v1/ot-key" + j.to_bytes(4, "big") + bytes([sj]) + pairs[j][0]
                                   + pairs[j][1] + bj + shared).digest()[:16])
    cols = _ref_columns(keys, m)
    digests = sorted({_ref_digest(r) for r in pod_records})
    lists = []
    for i in range(3):
        tags = []
        for d in digests:
            b = _ref_position(d, hk, i, m)
            u = query[16_400 + 64 * b:16_400 + 64 * (b + 1)]
            q = _xor(_ref_row(cols, b), _and(u, s))
            tags.append(_ref_tag(b, _xor(q, _and(_ref_code(d, ck, i), s)), ell))
        lists.append(b"".join(sorted(tags)))
    return b"".join(lists)


def test_both_parties_match_the_slow_reference_byte_for_byte():
    modeller = [b"m%d" % k for k in range(30)] + [b"shared%d" % k for k in range(7)] + [b"m3"]
    pod = [b"p%d" % k for k in range(25)] + [b"shared%d" % k for k in range(7)] + [b"p1"]
    receiver = kkrt.KkrtReceiver(modeller, random_bytes=_rng(11))
    assert receiver.set_size == 37  # the repeat of m3 is one digest
    sender = kkrt.KkrtSender(pod, receiver.set_size, random_bytes=_rng(12))
    assert sender.set_size == 32
    setup = sender.setup()
    assert len(setup) == kkrt.SETUP_BYTES
    query = receiver.query(setup)
    n, m = 37, kkrt.bins(37)
    assert len(query) == kkrt.query_bytes(n) == 16_400 + 64 * m

    # The modeller's rows from the spec: U_b = T0_b ⊕ T1_b ⊕ c_b. The pod knows only its chosen keys, so check what
    # they fix: T^s_b ⊕ (U_b ∧ s) = T0_b ⊕ (c_b ∧ s), with c_b the code of the item the modeller placed in bin b.
    ck, hk = setup[:16], query[:16]
    s = sender._s
    chosen_keys = []
    for j in range(512):
        s_j = (s[j >> 3] >> (j & 7)) & 1
        b_j = query[16 + 32 * j:48 + 32 * j]
        r0, r1 = setup[16 + 64 * j:48 + 64 * j], setup[48 + 64 * j:80 + 64 * j]
        assert (r0, r1) == sender._pairs[j]
        chosen_keys.append(hashlib.sha256(b"smpc/psi/kkrt/v1/ot-key" + j.to_bytes(4, "big") + bytes([s_j]) + r0 + r1
                                          + b_j + ristretto.scalarmult(sender._a[j], b_j)).digest()[:16])
    digests = [_ref_digest(r) for r in dict.fromkeys(modeller)]
    placed = {int(b): (digests[int(item)], int(i)) for b, item, i in
              zip(receiver._bins, receiver._bin_item, receiver._bin_index)}
    assert len(placed) == n
    for b, (d, i) in placed.items():
        assert _ref_position(d, hk, i, m) == b  # every item sits in one of its own bins
    cols = _ref_columns(chosen_keys, m)
    t0_tags = set(receiver._tags.tolist())
    for b in range(m):
        u = query[16_400 + 64 * b:16_400 + 64 * (b + 1)]
        q = _xor(_ref_row(cols, b), _and(u, s))
        if b in placed:
            d, i = placed[b]
            assert _ref_tag(b, _xor(q, _and(_ref_code(d, ck, i), s)), kkrt.tag_bytes(n)) in t0_tags
        else:
            assert _ref_tag(b, q, kkrt.tag_bytes(n)) not in t0_tags  # an empty bin has no tag of the modeller's
    expected_reply = _ref_reply(sender, pod, n, query)  # (before the reply: the pod forgets its a_j once it answers)
    reply = sender.reply(query)
    assert reply == expected_reply
    matched = receiver.finish(reply)
    assert [modeller[k] for k in matched] == [b"shared%d" % k for k in range(7)]
    assert receiver.pod_set_size == 32


# --- the protocol on known intersections -------------------------------------------------------------------------------

def _run(modeller: list[bytes], pod: list[bytes], seed: int = 0) -> tuple[list[int], kkrt.KkrtReceiver]:
    receiver = kkrt.KkrtReceiver(modeller, random_bytes=_rng(seed) if seed else kkrt.secrets.token_bytes)
    sender = kkrt.KkrtSender(pod, receiver.set_size)
    reply = sender.reply(receiver.query(sender.setup()))
    assert len(reply) == kkrt.reply_bytes(receiver.set_size, sender.set_size)
    return receiver.finish(reply), receiver


def _plant(n_mod: int, n_pod: int, common: int, tag: str = "") -> tuple[list[bytes], list[bytes], list[int]]:
    gen = random.Random(n_mod * 7919 + n_pod + common)
    shared = [f"{tag}shared-{k}".encode() for k in range(common)]
    mod = [f"{tag}mod-{k}".encode() for k in range(n_mod - common)] + shared
    pod = [f"{tag}pod-{k}".encode() for k in range(n_pod - common)] + shared
    gen.shuffle(mod)
    gen.shuffle(pod)
    members = set(shared)
    return mod, pod, sorted(k for k, r in enumerate(mod) if r in members)


@pytest.mark.parametrize("n_mod,n_pod,common", [
    (100, 100, 0),      # empty intersection
    (100, 100, 100),    # full
    (100, 100, 1),      # one element
    (777, 1234, 333),   # not powers of two
    (3, 3000, 2),       # 1 : 1000
    (3000, 3, 3),       # 1000 : 1
    (1, 1, 1),
    (0, 50, 0),         # the modeller has nothing
    (50, 0, 0),         # the pod has nothing
    (0, 0, 0),
])
def test_known_intersections(n_mod, n_pod, common):
    mod, pod, expected = _plant(n_mod, n_pod, common)
    matched, receiver = _run(mod, pod)
    assert matched == expected
    assert receiver.pod_set_size == n_pod


def test_repeats_name_every_row_and_count_once_on_the_pod():
    mod = [b"a", b"b", b"a", b"c", b"a", b"z"]
    pod = [b"a", b"a", b"c", b"q", b"c"]
    matched, receiver = _run(mod, pod)
    assert matched == [0, 2, 3, 4]
    assert receiver.set_size == 4 and receiver.pod_set_size == 3 and receiver.matched_distinct == 2


def test_a_larger_run_with_redraw_free_cuckoo():
    mod, pod, expected = _plant(20_000, 30_000, 4321, "big")
    matched, receiver = _run(mod, pod, seed=99)
    assert matched == expected


def test_cuckoo_failure_rate_on_small_parameters():
    # The spec's table (m = 1.5n + 256) never fails on 200 keys; a table barely larger than n (load 0.95, above the
    # 3-hash threshold of about 0.918) fails on most keys, so the counter below can see failures.
    gen = random.Random(5)
    digests = np.frombuffer(gen.randbytes(16 * 2000), dtype=np.uint8).reshape(2000, 16)
    fails_spec = fails_tight = 0
    for _ in range(200):
        hk = gen.randbytes(16)
        m = kkrt.bins(2000)
        fails_spec += kkrt.cuckoo_insert(kkrt.cuckoo_positions(digests, hk, m), m, gen, 200) is None
        tight = 2105
        fails_tight += kkrt.cuckoo_insert(kkrt.cuckoo_positions(digests, hk, tight), tight, gen, 200) is None
    assert fails_spec == 0
    assert fails_tight > 100


def test_cuckoo_placement_is_a_valid_assignment():
    gen = random.Random(6)
    digests = np.frombuffer(gen.randbytes(16 * 5000), dtype=np.uint8).reshape(5000, 16)
    m = kkrt.bins(5000)
    hk = gen.randbytes(16)
    pos = kkrt.cuckoo_positions(digests, hk, m)
    for k in range(0, 5000, 97):
        d = digests[k].tobytes()
        assert [int(pos[i][k]) for i in range(3)] == [_ref_position(d, hk, i, m) for i in range(3)]
    item, index = kkrt.cuckoo_insert(pos, m, gen)
    occupied = np.nonzero(item >= 0)[0]
    assert sorted(item[occupied].tolist()) == list(range(5000))
    assert all(pos[index[b]][item[b]] == b for b in occupied)


# --- the pod's view -------------------------------------------------------------------------------------------------------

def test_the_pods_view_does_not_depend_on_the_modellers_set():
    """Two modeller sets of equal size, one all-distinct strings and one its own near-copies: the query rows the pod
    receives (all it learns besides n) have the same bit statistics — per bit position and as bytes — within what
    chance allows (fixed seeds, thresholds at about 5 standard deviations)."""
    n = 3000
    pod = [b"p%d" % k for k in range(10)]
    views = []
    for k, mod in enumerate(([b"alpha-%d" % i for i in range(n)], [b"x" * 100 + b"%d" % i for i in range(n)])):
        receiver = kkrt.KkrtReceiver(mod, random_bytes=_rng(1000 + k))
        sender = kkrt.KkrtSender(pod, n, random_bytes=_rng(2000 + k))
        query = receiver.query(sender.setup())
        assert len(query) == kkrt.query_bytes(n)
        views.append(np.frombuffer(query, dtype=np.uint8, offset=kkrt.QUERY_HEADER_BYTES).reshape(-1, 64))
    m = views[0].shape[0]
    for u in views:
        bits = np.unpackbits(u, axis=1, bitorder="little")
        ones = bits.mean(axis=0)  # per bit position over m rows
        assert np.all(np.abs(ones - 0.5) < 5 * 0.5 / np.sqrt(m))
    # Two-sample chi-square over byte values (255 degrees of freedom: mean 255, sd ≈ 22.6).
    h0 = np.bincount(views[0].ravel(), minlength=256).astype(float)
    h1 = np.bincount(views[1].ravel(), minlength=256).astype(float)
    chi2 = float((((h0 - h1) ** 2) / (h0 + h1)).sum())
    assert chi2 < 255 + 5 * 22.6
    # Bins that hold an item look like empty bins (whose c_b is zero): compare the two populations in one query.
    receiver = kkrt.KkrtReceiver([b"y%d" % i for i in range(n)], random_bytes=_rng(3000))
    sender = kkrt.KkrtSender(pod, n, random_bytes=_rng(3001))
    u = np.frombuffer(receiver.query(sender.setup()), dtype=np.uint8, offset=kkrt.QUERY_HEADER_BYTES).reshape(-1, 64)
    full = np.zeros(len(u), dtype=bool)
    full[receiver._bins] = True
    a = np.unpackbits(u[full], bitorder="little").mean()
    b = np.unpackbits(u[~full], bitorder="little").mean()
    assert abs(a - b) < 5 * 0.5 * np.sqrt(1 / (full.sum() * 512) + 1 / ((~full).sum() * 512))


# --- refusals change nothing ------------------------------------------------------------------------------------------------

def _parties(n_mod: int = 40, n_pod: int = 30, common: int = 10):
    mod, pod, expected = _plant(n_mod, n_pod, common, "refuse")
    receiver = kkrt.KkrtReceiver(mod)
    sender = kkrt.KkrtSender(pod, receiver.set_size)
    return receiver, sender, expected


def _refused(code: str, call, *args) -> None:
    with pytest.raises(ProtocolViolation) as ex:
        call(*args)
    assert ex.value.code == code, ex.value


def test_the_modeller_refuses_a_bad_setup_and_then_takes_the_good_one():
    receiver, sender, expected = _parties()
    setup = sender.setup()
    _refused("malformed", receiver.query, setup[:-1])
    _refused("malformed", receiver.query, setup + b"\x00")
    _refused("malformed", receiver.query, b"")
    for offset in (16, 48, 16 + 64 * 511 + 32):
        for bad in (ristretto.IDENTITY, b"\xff" * 32):
            broken = setup[:offset] + bad + setup[offset + 32:]
            _refused("invalid-element", receiver.query, broken)
    _refused("out-of-order", receiver.finish, b"")
    query = receiver.query(setup)
    _refused("out-of-order", receiver.query, setup)
    matched = receiver.finish(sender.reply(query))
    assert matched == expected


def test_the_pod_refuses_a_bad_query_and_then_answers_the_good_one():
    receiver, sender, expected = _parties()
    _refused("out-of-order", sender.reply, b"\x00" * kkrt.query_bytes(receiver.set_size))
    setup = sender.setup()
    _refused("out-of-order", sender.setup)
    query = receiver.query(setup)
    _refused("malformed", sender.reply, query[:-64])     # a row short
    _refused("malformed", sender.reply, query + bytes(64))  # a row past m
    _refused("malformed", sender.reply, query[:-1])
    _refused("malformed", sender.reply, b"")
    for j in (0, 511):
        offset = 16 + 32 * j
        for bad in (ristretto.IDENTITY, b"\xff" * 32, b"\x01" + bytes(31)):
            _refused("invalid-element", sender.reply, query[:offset] + bad + query[offset + 32:])
    # A query for another declared size is refused by length.
    other = kkrt.KkrtSender([b"x"], receiver.set_size + 1)
    other.setup()
    _refused("malformed", other.reply, query)
    reply = sender.reply(query)
    _refused("out-of-order", sender.reply, query)
    assert receiver.finish(reply) == expected


def test_the_modeller_refuses_a_bad_reply_and_then_takes_the_good_one():
    receiver, sender, expected = _parties()
    reply = sender.reply(receiver.query(sender.setup()))
    ell = kkrt.tag_bytes(receiver.set_size)
    n_p = sender.set_size
    assert len(reply) == 3 * n_p * ell
    _refused("malformed", receiver.finish, reply[:-1])
    _refused("malformed", receiver.finish, reply + b"\x00")
    _refused("malformed", receiver.finish, reply[:-ell])  # not a multiple of 3ℓ
    lists = [reply[i * n_p * ell:(i + 1) * n_p * ell] for i in range(3)]
    for i in range(3):
        tags = [lists[i][k * ell:(k + 1) * ell] for k in range(n_p)]
        unsorted = b"".join([tags[1], tags[0]] + tags[2:])
        _refused("malformed", receiver.finish, b"".join(lists[:i] + [unsorted] + lists[i + 1:]))
    assert receiver.finish(reply) == expected
    _refused("out-of-order", receiver.finish, reply)


def test_a_reply_with_repeated_tags_is_read():
    # Two of the pod's tags may collide (probability ≤ n_P²·2^-8ℓ); lists are then non-decreasing, which is allowed.
    receiver, sender, expected = _parties()
    reply = sender.reply(receiver.query(sender.setup()))
    ell, n_p = kkrt.tag_bytes(receiver.set_size), sender.set_size
    lists = []
    for i in range(3):
        tags = [reply[(i * n_p + k) * ell:(i * n_p + k + 1) * ell] for k in range(n_p)]
        lists.append(b"".join(sorted(tags + tags[:1])))  # the smallest tag twice
    assert receiver.finish(b"".join(lists)) == expected
    assert receiver.pod_set_size == n_p + 1


def test_an_identity_base_ot_message_is_drawn_again(monkeypatch):
    # Probability about 2^-250 per OT; forced here: the pod draws that OT again and the session still matches.
    choose = kkrt.ot_receiver_choose

    def with_an_identity(s, a, seeds):
        pairs = choose(s, a, seeds)
        chosen = (s[5 >> 3] >> (5 & 7)) & 1
        pairs[5] = (pairs[5][0], ristretto.IDENTITY) if chosen else (ristretto.IDENTITY, pairs[5][1])  # R_{5,s_5}
        return pairs

    sender = kkrt.KkrtSender([b"a", b"b"], 3)
    monkeypatch.setattr(kkrt, "ot_receiver_choose", with_an_identity)
    setup = sender.setup()
    monkeypatch.undo()
    assert ristretto.IDENTITY not in [setup[k:k + 32] for k in range(16, len(setup), 32)]
    receiver = kkrt.KkrtReceiver([b"a", b"c", b"d"])
    assert receiver.finish(sender.reply(receiver.query(setup))) == [0]
