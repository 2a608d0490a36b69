"""kkrt PSI, version ``kkrt-v1``: the KKRT16 batched OPRF (Kolesnikov, Kumaresan, Rosulek, Trieu, CCS 2016) with
Masny–Rindal base OTs on ristretto255, semi-honest. Written from docs/protocols/psi.md, "OT extension: KKRT16 batched
OPRF (the fastest protocol), version kkrt-v1"; a second, independent implementation of the .NET parties.

The pod is the OPRF *sender* (:class:`KkrtSender`, base-OT receiver with secret choice bits ``s``); the modeller is the
OPRF *receiver* (:class:`KkrtReceiver`: cuckoo table, base-OT sender). Three messages::

    pod-set  (pod → modeller)  ck ‖ 512 × (R_{j,0} ‖ R_{j,1})                      32,784 bytes
    query    (modeller → pod)  hk ‖ 512 × B_j ‖ U_0 ‖ … ‖ U_{m−1}                  16,400 + 64·m bytes
    reply    (pod → modeller)  L_0 ‖ L_1 ‖ L_2, each n_P sorted ℓ-byte tags        3·n_P·ℓ bytes

Each party runs each step once, in order; a refused message (``ProtocolViolation`` with ``malformed``,
``out-of-order`` or ``invalid-element``) changes nothing. The deterministic steps are module functions
(:func:`item_digests`, :func:`cuckoo_positions`, :func:`codewords`, :func:`ot_receiver_choose`, :func:`ot_sender_keys`,
:func:`ot_receiver_keys`, :func:`tags`, …) so each can be checked against the known-answer vectors
(docs/protocols/vectors/kkrt-v1.json). Hot paths are numpy over ``(m, 64)`` uint8 rows; AES is OpenSSL's.
"""

from __future__ import annotations

import hashlib
import random as _random
import secrets
from typing import Callable, Sequence

import numpy as np

from ..crypto import ristretto
from ..crypto.aes import aes_ecb_blocks, prg_columns, transpose_columns
from ..crypto.ristretto import ELEMENT_BYTES
from .errors import ProtocolViolation

__all__ = [
    "VERSION", "CODE_BITS", "ROW_BYTES", "BASE_OTS", "HASH_FUNCTIONS", "SETUP_BYTES", "QUERY_HEADER_BYTES",
    "bins", "tag_bytes", "query_bytes", "reply_bytes",
    "item_digests", "distinct_digests", "cuckoo_positions", "cuckoo_insert", "codewords", "ot_hash",
    "random_elements", "ot_receiver_choose", "ot_sender_keys", "ot_receiver_keys", "ot_kdf", "tags",
    "KkrtSender", "KkrtReceiver",
]

VERSION = "kkrt-v1"
"""The protocol version carried by the kkrt PSI spec and the pod's acceptance."""
CODE_BITS = 512
"""Code width w, and the number of base OTs."""
ROW_BYTES = CODE_BITS // 8
"""Bytes of one OT-extension row (one bin)."""
BASE_OTS = CODE_BITS
HASH_FUNCTIONS = 3
"""Cuckoo hash functions (no stash)."""
STATISTICAL_SECURITY = 40
MAX_POD_SET_LOG2 = 26
"""log2 of the largest pod set (50,000,000 < 2^26), a term of the tag length."""
SETUP_BYTES = 16 + BASE_OTS * 2 * ELEMENT_BYTES
"""Length of the pod's setup (``pod-set``): 32,784."""
QUERY_HEADER_BYTES = 16 + BASE_OTS * ELEMENT_BYTES
"""Length of the query's head (``hk`` and the 512 ``B_j``): 16,400."""
MAX_EVICTIONS = 1000
"""Random-walk evictions allowed per insertion before the modeller redraws the cuckoo key."""
MAX_REDRAWS = 100
"""Cuckoo keys the modeller tries before giving up (each fails with probability ≤ 2^-40)."""

LABEL_ITEM = b"smpc/psi/kkrt/v1/item"
LABEL_TAG = b"smpc/psi/kkrt/v1/tag"
LABEL_OT_KEY = b"smpc/psi/kkrt/v1/ot-key"
DST_OT_HASH = b"smpc/psi/kkrt/v1/ot-hash"
DST_OT_RANDOM = b"smpc/psi/kkrt/v1/ot-random"

RandomBytes = Callable[[int], bytes]


# --- sizes ------------------------------------------------------------------------------------------------------------

def bins(n: int) -> int:
    """Cuckoo bins m(n) = ⌈1.5·n⌉ + 256 for the modeller's ``n`` distinct records."""
    if n < 0:
        raise ValueError("a set size is not negative")
    return (3 * n + 1) // 2 + 256


def tag_bytes(n: int) -> int:
    """Tag length ℓ(n) = ⌈(40 + 26 + ⌈log2 m⌉) / 8⌉ bytes, m = bins(n)."""
    return (STATISTICAL_SECURITY + MAX_POD_SET_LOG2 + (bins(n) - 1).bit_length() + 7) // 8


def query_bytes(n: int) -> int:
    """Exact length of the modeller's query: 16,400 + 64·m."""
    return QUERY_HEADER_BYTES + ROW_BYTES * bins(n)


def reply_bytes(n: int, pod_set_size: int) -> int:
    """Length of the pod's reply for ``pod_set_size`` distinct records: 3·n_P·ℓ."""
    return HASH_FUNCTIONS * pod_set_size * tag_bytes(n)


def _be32(x: int) -> bytes:
    return x.to_bytes(4, "big")


def _violation(code: str, message: str) -> ProtocolViolation:
    return ProtocolViolation(code, message)


# --- items, cuckoo positions, code ------------------------------------------------------------------------------------

def item_digests(records: Sequence[bytes]) -> np.ndarray:
    """d(y) = SHA-256("smpc/psi/kkrt/v1/item" ‖ e(y))[0..16) for every encoded record, as an ``(N, 16)`` uint8 array."""
    sha256, label = hashlib.sha256, LABEL_ITEM
    out = b"".join([sha256(label + bytes(record)).digest()[:16] for record in records])
    return np.frombuffer(out, dtype=np.uint8).reshape(len(records), 16)


def distinct_digests(records: Sequence[bytes]) -> tuple[np.ndarray, list[list[int]]]:
    """The distinct digests of ``records`` (first-seen order) and, for each, the indices of the records that have it."""
    digests = item_digests(records)
    first: dict[bytes, int] = {}
    groups: list[list[int]] = []
    keep: list[int] = []
    raw = digests.tobytes()
    for k in range(len(records)):
        d = raw[16 * k:16 * k + 16]
        g = first.get(d)
        if g is None:
            first[d] = len(groups)
            groups.append([k])
            keep.append(k)
        else:
            groups[g].append(k)
    return digests[keep] if keep else np.zeros((0, 16), dtype=np.uint8), groups


def _mul_high(x: np.ndarray, m: int) -> np.ndarray:
    """⌊x · m / 2^64⌋ for uint64 ``x`` and m < 2^32, exactly (the high 64 bits of the 128-bit product)."""
    if not 0 < m < 1 << 32:
        raise ValueError("m must be below 2^32")
    mm = np.uint64(m)
    hi = x >> np.uint64(32)
    lo = x & np.uint64(0xFFFFFFFF)
    return (hi * mm + ((lo * mm) >> np.uint64(32))) >> np.uint64(32)


def cuckoo_positions(digests: np.ndarray, hk: bytes, m: int) -> np.ndarray:
    """h_i(y) = ⌊LE64(AES_hk(d(y) ⊕ σ_i)[0..8)) · m / 2^64⌋ for i = 0, 1, 2: a ``(3, N)`` int64 array."""
    out = np.empty((HASH_FUNCTIONS, len(digests)), dtype=np.int64)
    for i in range(HASH_FUNCTIONS):
        blocks = digests.copy()
        blocks[:, 0] ^= i
        enc = aes_ecb_blocks(hk, blocks)
        x = np.ascontiguousarray(enc[:, :8]).view("<u8").ravel()
        out[i] = _mul_high(x, m).astype(np.int64)
    return out


def codewords(digests: np.ndarray, ck: bytes, i: int) -> np.ndarray:
    """C(y, i) = AES_ck(d ⊕ τ_{i,0}) ‖ … ‖ AES_ck(d ⊕ τ_{i,3}) (τ_{i,j}: byte 0 = 4i + j) for every digest:
    an ``(N, 64)`` uint8 array."""
    blocks = np.repeat(digests[:, None, :], 4, axis=1)
    for j in range(4):
        blocks[:, j, 0] ^= 4 * i + j
    return aes_ecb_blocks(ck, blocks).reshape(len(digests), ROW_BYTES)


def cuckoo_insert(positions: np.ndarray, m: int, rng: _random.Random,
                  max_evictions: int = MAX_EVICTIONS) -> tuple[np.ndarray, np.ndarray] | None:
    """Places every item in one of its bins ``positions[i][k]``, at most one per bin (random-walk eviction).

    Returns ``(item, index)``: per bin the item placed there (-1 for empty) and its hash index i; or None when an
    insertion needs more than ``max_evictions`` evictions (the caller redraws the key)."""
    n = positions.shape[1]
    table = [-1] * m
    index = [0] * m
    p = [positions[i].tolist() for i in range(HASH_FUNCTIONS)]
    p0, p1, p2 = p
    randrange = rng.randrange
    for k in range(n):
        cur, evictions, last = k, 0, -1
        while True:
            b = p0[cur]
            if table[b] < 0:
                table[b], index[b] = cur, 0
                break
            b = p1[cur]
            if table[b] < 0:
                table[b], index[b] = cur, 1
                break
            b = p2[cur]
            if table[b] < 0:
                table[b], index[b] = cur, 2
                break
            if evictions >= max_evictions:
                return None
            i = randrange(HASH_FUNCTIONS)
            b = p[i][cur]
            if b == last:  # do not undo the eviction that brought this item here
                i = (i + 1 + randrange(2)) % HASH_FUNCTIONS
                b = p[i][cur]
            victim = table[b]
            table[b], index[b] = cur, i
            cur, last = victim, b
            evictions += 1
    return np.array(table, dtype=np.int64), np.array(index, dtype=np.int8)


# --- base OTs (Masny–Rindal on ristretto255) --------------------------------------------------------------------------

def _h2g(messages: Sequence[bytes], dst: bytes) -> list[bytes]:
    from .oprf import hash_to_group_dst_packed  # noqa: PLC0415
    return ristretto.unpack(hash_to_group_dst_packed(list(messages), dst))


def ot_hash(points: Sequence[bytes]) -> list[bytes]:
    """G_j(P_j) = H2G(BE32(j) ‖ P_j, "smpc/psi/kkrt/v1/ot-hash") for j = 0, 1, …"""
    return _h2g([_be32(j) + bytes(p) for j, p in enumerate(points)], DST_OT_HASH)


def random_elements(seeds: Sequence[bytes]) -> list[bytes]:
    """H2G(seed, "smpc/psi/kkrt/v1/ot-random") for each 32-byte seed: the receiver's random elements."""
    return _h2g(seeds, DST_OT_RANDOM)


def _random_scalar(random_bytes: RandomBytes) -> bytes:
    while True:
        s = ristretto.scalar_reduce(random_bytes(64))
        if s != bytes(ristretto.SCALAR_BYTES):
            return s


def _bit(row: bytes, j: int) -> int:
    return (row[j >> 3] >> (j & 7)) & 1


def ot_receiver_choose(s: bytes, scalars: Sequence[bytes], seeds: Sequence[bytes]) -> list[tuple[bytes, bytes]]:
    """The pod's first message: for each j, ``(R_{j,0}, R_{j,1})`` with R_{j,1−s_j} = H2G(seed_j, ot-random) and
    R_{j,s_j} = a_j·G − G_j(R_{j,1−s_j}) (``s``: 64 bytes of choice bits, LSB-first; ``scalars``: the a_j)."""
    others = random_elements(seeds)
    hashed = ot_hash(others)
    pairs = []
    for j, (a, other, g) in enumerate(zip(scalars, others, hashed)):
        chosen = ristretto.sub(ristretto.scalarmult_base(a), g)
        pairs.append((other, chosen) if _bit(s, j) else (chosen, other))
    return pairs


def ot_kdf(j: int, c: int, r0: bytes, r1: bytes, b: bytes, shared: bytes) -> bytes:
    """KDF(j, c, S) = SHA-256("smpc/psi/kkrt/v1/ot-key" ‖ BE32(j) ‖ byte(c) ‖ R_{j,0} ‖ R_{j,1} ‖ B_j ‖ S)[0..16)."""
    return hashlib.sha256(LABEL_OT_KEY + _be32(j) + bytes([c]) + r0 + r1 + b + shared).digest()[:16]


def _check_elements(elements: Sequence[bytes], what: str) -> None:
    for k, e in enumerate(elements):
        if not ristretto.is_valid_element(e):
            raise _violation("invalid-element", f"{what} {k} is not a canonical non-identity ristretto255 element")


def ot_sender_keys(pairs: Sequence[tuple[bytes, bytes]],
                   scalars: Sequence[bytes]) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """The modeller's base-OT step: ``(B, k0, k1)`` with B_j = b_j·G,
    k_j^0 = KDF(j, 0, b_j·(R_{j,0} + G_j(R_{j,1}))), k_j^1 = KDF(j, 1, b_j·(R_{j,1} + G_j(R_{j,0}))).
    Refuses (``invalid-element``) an R that is not a canonical non-identity element and an identity shared point."""
    r0s = [p[0] for p in pairs]
    r1s = [p[1] for p in pairs]
    _check_elements(r0s, "R_{j,0} of base OT")
    _check_elements(r1s, "R_{j,1} of base OT")
    g1 = ot_hash(r1s)
    g0 = ot_hash(r0s)
    bs, k0, k1 = [], [], []
    for j, b in enumerate(scalars):
        big_b = ristretto.scalarmult_base(b)
        try:
            s0 = ristretto.scalarmult(b, ristretto.add(r0s[j], g1[j]))
            s1 = ristretto.scalarmult(b, ristretto.add(r1s[j], g0[j]))
        except ristretto.InvalidElementError:
            raise _violation("invalid-element", f"base OT {j}: a shared point is the identity") from None
        bs.append(big_b)
        k0.append(ot_kdf(j, 0, r0s[j], r1s[j], big_b, s0))
        k1.append(ot_kdf(j, 1, r0s[j], r1s[j], big_b, s1))
    return bs, k0, k1


def ot_receiver_keys(s: bytes, pairs: Sequence[tuple[bytes, bytes]], scalars: Sequence[bytes],
                     bs: Sequence[bytes]) -> list[bytes]:
    """The pod's base-OT keys k_j^{s_j} = KDF(j, s_j, a_j·B_j); refuses a B_j that is not a canonical non-identity
    element (``invalid-element``)."""
    _check_elements(bs, "B_j of base OT")
    keys = []
    for j, (a, b) in enumerate(zip(scalars, bs)):
        try:
            shared = ristretto.scalarmult(a, b)
        except ristretto.InvalidElementError:
            raise _violation("invalid-element", f"base OT {j}: the shared point is the identity") from None
        keys.append(ot_kdf(j, _bit(s, j), pairs[j][0], pairs[j][1], b, shared))
    return keys


# --- tags -------------------------------------------------------------------------------------------------------------

def tags(bin_numbers: np.ndarray, rows: np.ndarray, length: int) -> np.ndarray:
    """Tag(b, row) = SHA-256("smpc/psi/kkrt/v1/tag" ‖ BE32(b) ‖ row)[0..ℓ) for each (b, row): an ``S{ℓ}`` array."""
    count = len(bin_numbers)
    if not count:
        return np.zeros(0, dtype=f"S{length}")
    label = len(LABEL_TAG)
    stride = label + 4 + ROW_BYTES
    buf = np.empty((count, stride), dtype=np.uint8)
    buf[:, :label] = np.frombuffer(LABEL_TAG, dtype=np.uint8)
    buf[:, label:label + 4] = np.asarray(bin_numbers, dtype=">u4").reshape(count, 1).view(np.uint8)
    buf[:, label + 4:] = rows
    data = buf.tobytes()
    del buf
    sha256 = hashlib.sha256
    out = b"".join([sha256(data[a:a + stride]).digest()[:length] for a in range(0, count * stride, stride)])
    return np.frombuffer(out, dtype=f"S{length}")


def _sorted_ascending(values: np.ndarray) -> bool:
    return bool(np.all(values[1:] >= values[:-1])) if len(values) > 1 else True


# --- the parties ------------------------------------------------------------------------------------------------------

class KkrtSender:
    """The pod: OPRF sender and base-OT receiver. ``setup()`` once, then ``reply(query)`` once.

    ``records``: the pod's encoded records (repeats allowed: the set is its distinct digests);
    ``modeller_set_size``: the modeller's declared number of distinct records n (fixes m and ℓ)."""

    def __init__(self, records: Sequence[bytes], modeller_set_size: int,
                 random_bytes: RandomBytes = secrets.token_bytes) -> None:
        if modeller_set_size < 0:
            raise ValueError("modeller_set_size must not be negative")
        self.n = modeller_set_size
        self.m = bins(modeller_set_size)
        self.tag_bytes = tag_bytes(modeller_set_size)
        self._digests, _ = distinct_digests(records)
        self._random = random_bytes
        self._state = "new"
        self._ck = b""
        self._s = b""
        self._a: list[bytes] = []
        self._pairs: list[tuple[bytes, bytes]] = []

    @property
    def set_size(self) -> int:
        """n_P: the pod's number of distinct records (the tags per list in the reply)."""
        return len(self._digests)

    def set_records(self, records: Sequence[bytes]) -> None:
        """Replaces the pod's records (its set is their distinct digests); allowed until the reply, so a pod can send
        its setup first and read its source while the modeller builds the query."""
        if self._state == "done":
            raise _violation("out-of-order", "the pod has answered already")
        self._digests, _ = distinct_digests(records)

    def setup(self) -> bytes:
        """The ``pod-set`` message: ck ‖ for j = 0..511: R_{j,0} ‖ R_{j,1} (32,784 bytes)."""
        if self._state != "new":
            raise _violation("out-of-order", "the pod's setup is sent once, first")
        ck = self._random(16)
        s = self._random(ROW_BYTES)
        scalars, seeds = [], []
        for _ in range(BASE_OTS):
            scalars.append(_random_scalar(self._random))
            seeds.append(self._random(32))
        pairs = ot_receiver_choose(s, scalars, seeds)
        for j in range(BASE_OTS):
            # An identity R (probability about 2^-250) would be refused by the modeller: that OT is drawn again.
            while ristretto.IDENTITY in pairs[j]:
                scalars[j] = _random_scalar(self._random)
                other = random_elements([self._random(32)])[0]
                chosen = ristretto.sub(ristretto.scalarmult_base(scalars[j]),
                                       _h2g([_be32(j) + other], DST_OT_HASH)[0])
                pairs[j] = (other, chosen) if _bit(s, j) else (chosen, other)
        self._ck, self._s, self._a, self._pairs = ck, s, scalars, pairs
        self._state = "setup"
        return ck + b"".join(r0 + r1 for r0, r1 in pairs)

    def reply(self, query: bytes) -> bytes:
        """The ``reply`` to the modeller's ``query``: L_0 ‖ L_1 ‖ L_2 (each the pod's n_P tags, sorted ascending).

        Refuses (``ProtocolViolation``) a query out of order, of another length than 16,400 + 64·m, or with a B_j
        that is not a canonical non-identity element; a refused query changes nothing."""
        if self._state != "setup":
            raise _violation("out-of-order", "the pod answers one query, after its setup")
        query = bytes(query)
        expected = query_bytes(self.n)
        if len(query) != expected:
            raise _violation("malformed", f"the query is {len(query)} bytes; {self.n} declared records make it "
                                          f"{expected}")
        hk = query[:16]
        bs = [query[16 + 32 * j:48 + 32 * j] for j in range(BASE_OTS)]
        keys = ot_receiver_keys(self._s, self._pairs, self._a, bs)
        u = np.frombuffer(query, dtype=np.uint8, offset=QUERY_HEADER_BYTES).reshape(self.m, ROW_BYTES)
        s_row = np.frombuffer(self._s, dtype=np.uint8)
        q = transpose_columns(prg_columns(keys, self.m), self.m)
        q ^= u & s_row
        positions = cuckoo_positions(self._digests, hk, self.m)
        lists = []
        for i in range(HASH_FUNCTIONS):
            b = positions[i]
            rows = q[b] ^ (codewords(self._digests, self._ck, i) & s_row)
            lists.append(np.sort(tags(b, rows, self.tag_bytes)).tobytes())
        self._state = "done"
        self._a = []
        return b"".join(lists)


class KkrtReceiver:
    """The modeller: OPRF receiver and base-OT sender. ``query(setup)`` once, then ``finish(reply)`` once.

    ``records``: the modeller's encoded records; repeats share one digest (one bin) and a match names every one of
    them. Declare :attr:`set_size` (the distinct records) as the session's ``modellerSetSize``."""

    def __init__(self, records: Sequence[bytes], random_bytes: RandomBytes = secrets.token_bytes) -> None:
        self._digests, self._groups = distinct_digests(records)
        self.n = len(self._digests)
        self.m = bins(self.n)
        self.tag_bytes = tag_bytes(self.n)
        self._random = random_bytes
        self._state = "new"
        self._bins: np.ndarray | None = None
        self._bin_item: np.ndarray | None = None
        self._bin_index: np.ndarray | None = None
        self._tags: np.ndarray | None = None
        self.pod_set_size: int | None = None
        self.matched_distinct: int | None = None
        self.redraws = 0
        # The cuckoo table needs no message: it is built now (random draws: the eviction walk's 16-byte seed, then a
        # 16-byte hk per attempt; the b_j follow in query()).
        self._hk, self._table_item, self._table_index = self._cuckoo()

    @property
    def set_size(self) -> int:
        """n: the modeller's number of distinct records (the ``modellerSetSize`` to declare)."""
        return self.n

    def _cuckoo(self) -> tuple[bytes, np.ndarray, np.ndarray]:
        rng = _random.Random(int.from_bytes(self._random(16), "little"))
        for attempt in range(MAX_REDRAWS):
            hk = self._random(16)
            placed = cuckoo_insert(cuckoo_positions(self._digests, hk, self.m), self.m, rng)
            if placed is not None:
                self.redraws = attempt
                return hk, placed[0], placed[1]
        raise RuntimeError(f"cuckoo insertion failed under {MAX_REDRAWS} keys")  # pragma: no cover - ≤ 2^-4000

    def query(self, setup: bytes) -> bytes:
        """The ``query`` for the pod's ``setup``: hk ‖ 512 × B_j ‖ U_0 ‖ … ‖ U_{m−1}.

        Refuses (``ProtocolViolation``) a setup out of order, of another length than 32,784 bytes, or with an R that is
        not a canonical non-identity element; a refused setup changes nothing."""
        if self._state != "new":
            raise _violation("out-of-order", "the modeller sends one query, after the pod's setup")
        setup = bytes(setup)
        if len(setup) != SETUP_BYTES:
            raise _violation("malformed", f"the pod's setup is {len(setup)} bytes, not {SETUP_BYTES}")
        ck = setup[:16]
        pairs = [(setup[16 + 64 * j:48 + 64 * j], setup[48 + 64 * j:80 + 64 * j]) for j in range(BASE_OTS)]
        scalars = [_random_scalar(self._random) for _ in range(BASE_OTS)]
        bs, k0, k1 = ot_sender_keys(pairs, scalars)
        hk, bin_item, bin_index = self._hk, self._table_item, self._table_index
        m = self.m
        c = np.zeros((m, ROW_BYTES), dtype=np.uint8)
        occupied = np.nonzero(bin_item >= 0)[0]
        items = bin_item[occupied]
        indices = bin_index[occupied]
        for i in range(HASH_FUNCTIONS):
            sel = indices == i
            if sel.any():
                c[occupied[sel]] = codewords(self._digests[items[sel]], ck, i)
        col0 = prg_columns(k0, m)
        t0 = transpose_columns(col0, m)
        col0 ^= prg_columns(k1, m)
        u = transpose_columns(col0, m)
        del col0
        u ^= c
        own = tags(occupied, t0[occupied], self.tag_bytes)
        self._bins, self._bin_item, self._bin_index, self._tags = occupied, items, indices, own
        self._state = "query"
        return hk + b"".join(bs) + u.tobytes()

    def finish(self, reply: bytes) -> list[int]:
        """The indices (into the records given) of the records in the pod's set, ascending; also sets
        :attr:`pod_set_size` and :attr:`matched_distinct` (the distinct records matched). Refuses (``malformed``) a reply whose length is not a multiple of 3ℓ or whose lists are
        not sorted ascending, or one out of order; a refused reply changes nothing."""
        if self._state != "query":
            raise _violation("out-of-order", "the modeller reads one reply, after its query")
        reply = bytes(reply)
        ell = self.tag_bytes
        if len(reply) % (HASH_FUNCTIONS * ell):
            raise _violation("malformed", f"the reply is {len(reply)} bytes, not a whole number of "
                                          f"{HASH_FUNCTIONS} × {ell}-byte tags")
        n_p = len(reply) // (HASH_FUNCTIONS * ell)
        lists = [np.frombuffer(reply, dtype=f"S{ell}", count=n_p, offset=i * n_p * ell) for i in range(HASH_FUNCTIONS)]
        for i, tag_list in enumerate(lists):
            if not _sorted_ascending(tag_list):
                raise _violation("malformed", f"the reply's list L_{i} is not sorted ascending")
        assert self._tags is not None and self._bin_item is not None and self._bin_index is not None
        found = np.zeros(len(self._tags), dtype=bool)
        for i, tag_list in enumerate(lists):
            sel = np.nonzero(self._bin_index == i)[0]
            if not len(sel) or not n_p:
                continue
            mine = self._tags[sel]
            at = np.searchsorted(tag_list, mine)
            hit = at < n_p
            hit[hit] = tag_list[at[hit]] == mine[hit]
            found[sel[hit]] = True
        matched = sorted(k for item in self._bin_item[found].tolist() for k in self._groups[item])
        self.pod_set_size = n_p
        self.matched_distinct = int(found.sum())
        self._state = "done"
        self._tags = None
        return matched
