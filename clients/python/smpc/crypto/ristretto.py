"""The prime-order group ristretto255 (RFC 9496) from libsodium 1.0.18 through ctypes.

PyNaCl does not bind ristretto255, but Debian's ``libsodium23`` exports the whole ``crypto_core_ristretto255_*`` /
``crypto_scalarmult_ristretto255`` API, which this module calls directly (``docs/protocols/psi.md``, "EC
Diffie-Hellman on ristretto255"):

* an element travels as its 32-byte canonical encoding; a scalar as 32 bytes little-endian below the group order
  ``L = 2^252 + 27742317777372353535851937790883648493``;
* every element a party *receives* must decode canonically and must not be the identity (32 zero bytes), otherwise
  :class:`InvalidElementError`; ristretto255 has prime order, so there is nothing else to screen;
* secret scalars are 64 random bytes reduced mod ``L``, redrawn if zero.

Each operation has a single form (``scalarmult(scalar, point)``) and batched forms over *packed* element strings
(``n × 32`` bytes, the wire format of psi.md's element lists) or lists of 32-byte ``bytes``. The batched forms copy
their input once into a ctypes buffer, write into one preallocated output buffer and call libsodium in a tight loop;
ctypes releases the GIL around each foreign call, so large batches are split over worker threads (one per core by
default) and use every core.

Environment: ``SMPC_THREADS`` caps the worker threads (default: the usable cores); ``SMPC_LIBSODIUM`` loads another
libsodium build instead of ``libsodium.so.23`` (any release since 1.0.18 has this API).

Python cannot wipe immutable ``bytes``; the ctypes buffers this module allocates for secret intermediates (inverses,
wide random scalars) are zeroed after use.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Sequence

__all__ = [
    "ELEMENT_BYTES",
    "SCALAR_BYTES",
    "HASH_BYTES",
    "L",
    "IDENTITY",
    "RistrettoError",
    "InvalidElementError",
    "InvalidScalarError",
    "LibsodiumUnavailableError",
    "default_threads",
    "from_hash",
    "from_hash_packed",
    "is_valid_point",
    "is_valid_element",
    "check_elements_packed",
    "scalar_random",
    "scalar_random_many",
    "scalar_reduce",
    "scalar_invert",
    "scalar_invert_many",
    "scalar_mul",
    "scalarmult",
    "scalarmult_base",
    "add",
    "sub",
    "scalarmult_packed",
    "scalarmult_many",
    "scalarmult_each_packed",
    "scalarmult_each",
    "pack",
    "unpack",
]

ELEMENT_BYTES = 32
"""Size of an encoded element."""
SCALAR_BYTES = 32
"""Size of an encoded scalar (little-endian, below :data:`L`)."""
HASH_BYTES = 64
"""Input size of the one-way map :func:`from_hash`."""
L = 2**252 + 27742317777372353535851937790883648493
"""The prime order of ristretto255."""
IDENTITY = bytes(ELEMENT_BYTES)
"""The encoding of the identity element (refused wherever an element is received)."""

# Below this many elements a batch runs on the calling thread: the thread hand-off costs more than it saves.
_PARALLEL_THRESHOLD = 256


class RistrettoError(ValueError):
    """Base class of the refusals of this module."""


class InvalidElementError(RistrettoError):
    """An element is not a canonical encoding, is the identity, or a product is the identity (psi.md ``InvalidElement``).

    ``index`` names the first offending element of a batch (``None`` for a single operation).
    """

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class InvalidScalarError(RistrettoError):
    """A scalar has the wrong size, or is zero where zero has no meaning (inversion)."""


class LibsodiumUnavailableError(RistrettoError):
    """libsodium (``libsodium.so.23``) cannot be loaded or initialised (Debian package ``libsodium23``)."""


def _load() -> ctypes.CDLL:
    # SMPC_LIBSODIUM names another build (e.g. a newer libsodium); the default is Debian's libsodium23 (1.0.18).
    names = [os.environ["SMPC_LIBSODIUM"]] if os.environ.get("SMPC_LIBSODIUM") else ["libsodium.so.23"]
    found = ctypes.util.find_library("sodium")
    if found and found not in names and not os.environ.get("SMPC_LIBSODIUM"):
        names.append(found)
    errors = []
    for name in names:
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError as ex:  # pragma: no cover - depends on the machine
            errors.append(f"{name}: {ex}")
    else:  # pragma: no cover - depends on the machine
        raise LibsodiumUnavailableError("libsodium is not available (install libsodium23): " + "; ".join(errors))
    if lib.sodium_init() < 0:  # pragma: no cover
        raise LibsodiumUnavailableError("sodium_init failed")
    vp = ctypes.c_void_p
    for name, argtypes, restype in [
        ("crypto_core_ristretto255_from_hash", [vp, vp], ctypes.c_int),
        ("crypto_core_ristretto255_is_valid_point", [vp], ctypes.c_int),
        ("crypto_core_ristretto255_scalar_reduce", [vp, vp], None),
        ("crypto_core_ristretto255_scalar_invert", [vp, vp], ctypes.c_int),
        ("crypto_core_ristretto255_scalar_mul", [vp, vp, vp], None),
        ("crypto_scalarmult_ristretto255", [vp, vp, vp], ctypes.c_int),
        ("crypto_scalarmult_ristretto255_base", [vp, vp], ctypes.c_int),
        ("crypto_core_ristretto255_add", [vp, vp, vp], ctypes.c_int),
        ("crypto_core_ristretto255_sub", [vp, vp, vp], ctypes.c_int),
    ]:
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        fn.restype = restype
    # Checks that the 1.0.18 constants match what this module assumes.
    if lib.crypto_core_ristretto255_bytes() != ELEMENT_BYTES or lib.crypto_core_ristretto255_hashbytes() != HASH_BYTES:
        raise LibsodiumUnavailableError("this libsodium has unexpected ristretto255 sizes")  # pragma: no cover
    return lib


_lib = _load()
_from_hash = _lib.crypto_core_ristretto255_from_hash
_is_valid = _lib.crypto_core_ristretto255_is_valid_point
_reduce = _lib.crypto_core_ristretto255_scalar_reduce
_invert = _lib.crypto_core_ristretto255_scalar_invert
_smul = _lib.crypto_core_ristretto255_scalar_mul
_scalarmult = _lib.crypto_scalarmult_ristretto255
_scalarmult_base = _lib.crypto_scalarmult_ristretto255_base
_add = _lib.crypto_core_ristretto255_add
_sub = _lib.crypto_core_ristretto255_sub

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def default_threads() -> int:
    """Worker threads for large batches: the ``SMPC_THREADS`` environment variable, else the number of usable cores."""
    env = os.environ.get("SMPC_THREADS")
    if env:
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(2, default_threads()), thread_name_prefix="smpc-ristretto")
        return _pool


def _run(count: int, work: Callable[[int, int], int], threads: int | None) -> int:
    """Runs ``work(start, stop)`` over ``range(count)`` in chunks; returns the first failing index or -1."""
    n_threads = default_threads() if threads is None else max(1, threads)
    if n_threads == 1 or count < _PARALLEL_THRESHOLD:
        return work(0, count)
    chunk = -(-count // n_threads)
    # The calling thread takes the first chunk itself; the pool takes the others.
    futures = [_executor().submit(work, start, min(count, start + chunk)) for start in range(chunk, count, chunk)]
    failures = [work(0, min(count, chunk))] + [f.result() for f in futures]  # every chunk finishes before we report
    bad = [i for i in failures if i >= 0]
    return min(bad) if bad else -1


def _buffer(data: bytes) -> ctypes.Array:
    """A ctypes copy of ``data`` (so its address can be offset; ``bytes`` has no stable address to do arithmetic on)."""
    return (ctypes.c_char * max(1, len(data))).from_buffer_copy(data) if data else (ctypes.c_char * 1)()


def _check_scalar(scalar: bytes, what: str = "scalar") -> None:
    if not isinstance(scalar, (bytes, bytearray)) or len(scalar) != SCALAR_BYTES:
        raise InvalidScalarError(f"a {what} is {SCALAR_BYTES} bytes")


def _check_packed(packed: bytes, size: int = ELEMENT_BYTES, what: str = "element") -> int:
    if not isinstance(packed, (bytes, bytearray, memoryview)):
        raise TypeError(f"packed {what}s must be bytes")
    if len(packed) % size:
        raise InvalidElementError(f"packed {what}s must be a multiple of {size} bytes, got {len(packed)}")
    return len(packed) // size


def pack(elements: Iterable[bytes], size: int = ELEMENT_BYTES) -> bytes:
    """Concatenates fixed-size elements, refusing any of another size (``InvalidElementError`` naming the index)."""
    items = list(elements)
    for i, e in enumerate(items):
        if len(e) != size:
            raise InvalidElementError(f"element {i} is {len(e)} bytes, not {size}", i)
    return b"".join(items)


def unpack(packed: bytes, size: int = ELEMENT_BYTES) -> list[bytes]:
    """Splits a packed string into a list of ``size``-byte elements."""
    count = _check_packed(packed, size)
    data = bytes(packed)
    return [data[i * size:(i + 1) * size] for i in range(count)]


# --- hashing to the group -------------------------------------------------------------------------------------------

def from_hash(h: bytes) -> bytes:
    """The ristretto255 one-way map of RFC 9496 §4.3.4 on 64 uniform bytes (libsodium ``from_hash``)."""
    if len(h) != HASH_BYTES:
        raise RistrettoError(f"from_hash takes {HASH_BYTES} bytes")
    out = ctypes.create_string_buffer(ELEMENT_BYTES)
    _from_hash(out, h)
    return out.raw


def from_hash_packed(hashes: bytes, threads: int | None = None) -> bytes:
    """:func:`from_hash` over ``n × 64`` packed bytes: ``n × 32`` packed elements."""
    count = _check_packed(hashes, HASH_BYTES, "hash")
    src = _buffer(bytes(hashes))
    out = ctypes.create_string_buffer(count * ELEMENT_BYTES or 1)
    s, o = ctypes.addressof(src), ctypes.addressof(out)

    def work(start: int, stop: int) -> int:
        for i in range(start, stop):
            _from_hash(o + i * ELEMENT_BYTES, s + i * HASH_BYTES)
        return -1

    _run(count, work, threads)
    return out.raw[: count * ELEMENT_BYTES]


# --- validation ------------------------------------------------------------------------------------------------------

def is_valid_point(p: bytes) -> bool:
    """True when ``p`` is a canonical encoding of a group element (libsodium semantics: the identity is valid)."""
    return len(p) == ELEMENT_BYTES and _is_valid(bytes(p)) == 1


def is_valid_element(p: bytes) -> bool:
    """True when ``p`` is a canonical encoding of a non-identity element: what a receiving party accepts."""
    return len(p) == ELEMENT_BYTES and p != IDENTITY and _is_valid(bytes(p)) == 1


def check_elements_packed(packed: bytes, what: str = "element", threads: int | None = None) -> None:
    """Refuses (``InvalidElementError`` naming the index) the first invalid or identity element of a packed string."""
    count = _check_packed(packed, ELEMENT_BYTES, what)
    data = bytes(packed)
    buf = _buffer(data)
    base = ctypes.addressof(buf)

    def work(start: int, stop: int) -> int:
        for i in range(start, stop):
            off = i * ELEMENT_BYTES
            if data[off:off + ELEMENT_BYTES] == IDENTITY or _is_valid(base + off) != 1:
                return i
        return -1

    bad = _run(count, work, threads)
    if bad >= 0:
        raise InvalidElementError(f"{what} {bad} is not a canonical non-identity ristretto255 element", bad)


# --- scalars ---------------------------------------------------------------------------------------------------------

def scalar_reduce(wide: bytes) -> bytes:
    """A 64-byte little-endian integer reduced mod L."""
    if len(wide) != 64:
        raise InvalidScalarError("a wide scalar is 64 bytes")
    out = ctypes.create_string_buffer(SCALAR_BYTES)
    _reduce(out, bytes(wide))
    return out.raw


def scalar_random_many(count: int) -> list[bytes]:
    """``count`` uniform non-zero scalars, each 64 random bytes (``os.urandom``) reduced mod L, redrawn if zero."""
    if count < 0:
        raise ValueError("count must be >= 0")
    wide = ctypes.create_string_buffer(os.urandom(64 * count), 64 * count) if count else ctypes.create_string_buffer(1)
    out = ctypes.create_string_buffer(SCALAR_BYTES * count or 1)
    w, o = ctypes.addressof(wide), ctypes.addressof(out)
    for i in range(count):
        _reduce(o + i * SCALAR_BYTES, w + i * 64)
    ctypes.memset(wide, 0, len(wide))
    raw = out.raw
    ctypes.memset(out, 0, len(out))
    scalars = [raw[i * SCALAR_BYTES:(i + 1) * SCALAR_BYTES] for i in range(count)]
    zero = bytes(SCALAR_BYTES)
    for i, s in enumerate(scalars):
        while s == zero:  # probability about 2^-252 per scalar
            s = scalar_reduce(os.urandom(64))
        scalars[i] = s
    return scalars


def scalar_random() -> bytes:
    """One uniform non-zero scalar (64 random bytes reduced mod L, redrawn if zero)."""
    return scalar_random_many(1)[0]


def scalar_invert(s: bytes) -> bytes:
    """``s^-1 mod L``; refuses zero (``InvalidScalarError``)."""
    _check_scalar(s)
    out = ctypes.create_string_buffer(SCALAR_BYTES)
    if _invert(out, bytes(s)) != 0:
        raise InvalidScalarError("scalar 0 has no inverse")
    return out.raw


def scalar_invert_many(scalars: Sequence[bytes], threads: int | None = None) -> bytes:
    """The inverses of ``scalars``, packed (``n × 32`` bytes); refuses a zero scalar naming its index.

    Montgomery's batch inversion per chunk: one constant-time inversion and three multiplications per scalar, all in
    libsodium (no branch on the scalars' values; an inversion costs about fifteen multiplications).
    """
    count = len(scalars)
    zero = bytes(SCALAR_BYTES)
    for i, s in enumerate(scalars):
        if len(s) != SCALAR_BYTES:
            raise InvalidScalarError(f"scalar {i} is not {SCALAR_BYTES} bytes")
        if s == zero:
            raise InvalidScalarError(f"scalar {i} is 0 and has no inverse")
    src = _buffer(b"".join(scalars))
    prefix = ctypes.create_string_buffer(count * SCALAR_BYTES or 1)
    out = ctypes.create_string_buffer(count * SCALAR_BYTES or 1)
    s, p, o = ctypes.addressof(src), ctypes.addressof(prefix), ctypes.addressof(out)
    n = SCALAR_BYTES

    def work(start: int, stop: int) -> int:
        if start >= stop:
            return -1
        acc = ctypes.create_string_buffer(n)
        a = ctypes.addressof(acc)
        # prefix[i] = s[start] · … · s[i]
        ctypes.memmove(p + start * n, s + start * n, n)
        for i in range(start + 1, stop):
            _smul(p + i * n, p + (i - 1) * n, s + i * n)
        # A scalar below L that is non-zero mod L has an inverse, so the product of non-zero scalars does too; a
        # non-reduced input that is 0 mod L makes the product 0, refused here for the whole chunk.
        if _invert(a, p + (stop - 1) * n) != 0:
            return start
        for i in range(stop - 1, start, -1):
            _smul(o + i * n, a, p + (i - 1) * n)   # (s_start…s_i)^-1 · (s_start…s_{i-1}) = s_i^-1
            _smul(a, a, s + i * n)                 # now (s_start…s_{i-1})^-1
        ctypes.memmove(o + start * n, a, n)
        ctypes.memset(acc, 0, n)
        return -1

    # One thread: each step is a microsecond, so threads would only fight over the GIL (``threads`` is accepted for
    # symmetry with the other batched calls).
    bad = work(0, count)
    ctypes.memset(src, 0, len(src))
    ctypes.memset(prefix, 0, len(prefix))
    if bad >= 0:
        ctypes.memset(out, 0, len(out))
        raise InvalidScalarError(f"a scalar from index {bad} on is 0 mod L and has no inverse")
    raw = out.raw[: count * SCALAR_BYTES]
    ctypes.memset(out, 0, len(out))
    return raw


def scalar_mul(a: bytes, b: bytes) -> bytes:
    """``a·b mod L``."""
    _check_scalar(a)
    _check_scalar(b)
    out = ctypes.create_string_buffer(SCALAR_BYTES)
    _smul(out, bytes(a), bytes(b))
    return out.raw


# --- group law -------------------------------------------------------------------------------------------------------

def _binary(fn: Callable, p: bytes, q: bytes, what: str) -> bytes:
    if len(p) != ELEMENT_BYTES or len(q) != ELEMENT_BYTES:
        raise InvalidElementError(f"an element is {ELEMENT_BYTES} bytes")
    out = ctypes.create_string_buffer(ELEMENT_BYTES)
    if fn(out, bytes(p), bytes(q)) != 0:
        raise InvalidElementError(f"{what}: an operand is not a canonical ristretto255 encoding")
    return out.raw


def add(p: bytes, q: bytes) -> bytes:
    """``p + q``; refuses a non-canonical operand (the identity is a valid operand and a possible result here)."""
    return _binary(_add, p, q, "add")


def sub(p: bytes, q: bytes) -> bytes:
    """``p − q``; refuses a non-canonical operand (the identity is a valid operand and a possible result here)."""
    return _binary(_sub, p, q, "sub")


# --- scalar multiplication -------------------------------------------------------------------------------------------

def scalarmult(scalar: bytes, point: bytes) -> bytes:
    """``scalar·point``; refuses an invalid encoding or an identity result (``InvalidElementError``)."""
    _check_scalar(scalar)
    if len(point) != ELEMENT_BYTES:
        raise InvalidElementError(f"an element is {ELEMENT_BYTES} bytes")
    out = ctypes.create_string_buffer(ELEMENT_BYTES)
    # libsodium refuses a non-canonical encoding and an identity result (which covers an identity input).
    if _scalarmult(out, bytes(scalar), bytes(point)) != 0:
        raise InvalidElementError("not a valid ristretto255 element, or the product is the identity")
    return out.raw


def scalarmult_base(scalar: bytes) -> bytes:
    """``scalar·G`` for the generator G; refuses a zero scalar (identity result)."""
    _check_scalar(scalar)
    out = ctypes.create_string_buffer(ELEMENT_BYTES)
    if _scalarmult_base(out, bytes(scalar)) != 0:
        raise InvalidScalarError("the scalar is 0 mod L")
    return out.raw


def scalarmult_packed(scalar: bytes, points: bytes, threads: int | None = None, what: str = "element") -> bytes:
    """``scalar·p`` for every element ``p`` of a packed string (one scalar, many points), packed.

    Refuses the first element that is not canonical or is the identity (or whose product is), naming its index.
    """
    _check_scalar(scalar)
    count = _check_packed(points, ELEMENT_BYTES, what)
    src = _buffer(bytes(points))
    out = ctypes.create_string_buffer(count * ELEMENT_BYTES or 1)
    k = ctypes.create_string_buffer(bytes(scalar), SCALAR_BYTES)
    s, o, kk = ctypes.addressof(src), ctypes.addressof(out), ctypes.addressof(k)

    def work(start: int, stop: int) -> int:
        for i in range(start, stop):
            off = i * ELEMENT_BYTES
            if _scalarmult(o + off, kk, s + off) != 0:
                return i
        return -1

    bad = _run(count, work, threads)
    ctypes.memset(k, 0, SCALAR_BYTES)
    if bad >= 0:
        raise InvalidElementError(f"{what} {bad} is not a canonical non-identity ristretto255 element", bad)
    return out.raw[: count * ELEMENT_BYTES]


def scalarmult_many(scalar: bytes, points: Sequence[bytes], threads: int | None = None) -> list[bytes]:
    """:func:`scalarmult_packed` over a list of 32-byte elements, returning a list."""
    return unpack(scalarmult_packed(scalar, pack(points), threads))


def scalarmult_each_packed(scalars: bytes, points: bytes, threads: int | None = None, what: str = "element") -> bytes:
    """``s_i·p_i`` pairwise for packed scalars and packed elements of the same count, packed."""
    count = _check_packed(points, ELEMENT_BYTES, what)
    if len(scalars) != count * SCALAR_BYTES:
        raise InvalidScalarError(f"{len(scalars) // SCALAR_BYTES} scalars for {count} elements")
    src = _buffer(bytes(points))
    ks = _buffer(bytes(scalars))
    out = ctypes.create_string_buffer(count * ELEMENT_BYTES or 1)
    s, o, kk = ctypes.addressof(src), ctypes.addressof(out), ctypes.addressof(ks)

    def work(start: int, stop: int) -> int:
        for i in range(start, stop):
            off = i * ELEMENT_BYTES
            if _scalarmult(o + off, kk + off, s + off) != 0:
                return i
        return -1

    bad = _run(count, work, threads)
    ctypes.memset(ks, 0, len(ks))
    if bad >= 0:
        raise InvalidElementError(f"{what} {bad} is not a canonical non-identity ristretto255 element", bad)
    return out.raw[: count * ELEMENT_BYTES]


def scalarmult_each(scalars: Sequence[bytes], points: Sequence[bytes], threads: int | None = None) -> list[bytes]:
    """``s_i·p_i`` pairwise over lists, returning a list."""
    if len(scalars) != len(points):
        raise InvalidScalarError(f"{len(scalars)} scalars for {len(points)} elements")
    return unpack(scalarmult_each_packed(pack(scalars, SCALAR_BYTES), pack(points), threads))
