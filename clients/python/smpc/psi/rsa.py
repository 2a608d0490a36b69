"""RSA blind-signature PSI (docs/protocols/psi.md, "RSA blind signatures" and "Certified RSA keys").

Pod (signer, :class:`RsaPsiServer`) and modeller (:class:`RsaPsiClient`), as pure state machines over bytes:

1. Pod: fresh key ``(n, e = 65537, d)``; publishes ``(n, e)`` and the GRSB 2019 proof (:func:`prove_key`) that
   ``x -> x^e`` permutes ``Z_n^*``, bound to tenant and session. Modeller: :func:`certify` refuses a key or proof by
   name before anything is blinded.
2. Pod: ``T = sorted { H2(H1(y)^d mod n) }``.
3. Modeller: ``b_i = H1(x_i) * r_i^e mod n`` with ``r_i`` uniform in ``[2, n-1]``, ``gcd(r_i, n) = 1``.
4. Pod: checks each ``b_i`` (k bytes, ``1 < b_i < n-1``), answers ``s_i = b_i^d`` in order (intersection) or sorted
   (cardinality); one query per session.
5. Modeller: ``s_i = sigma_i * r_i^-1``, checks ``s_i^e = H1(x_i)``, matched iff ``H2(s_i)`` is in ``T``.

Arithmetic is Python integers with ``pow``: correct, not constant-time (the signer uses CRT with RSA blinding so the
exponentiation's inputs are at least independent of the query).
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import struct
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from .errors import ProtocolViolation, RsaKeyRefused

E = 65537
E_BYTES = b"\x01\x00\x01"
DEFAULT_BITS = 3072
MIN_BITS, MAX_BITS = 2048, 4096
ROUNDS = 8
MAX_ATTEMPTS = 256
SMALL_PRIME_BOUND = 65537
H1_LABEL = b"smpc/psi/rsa/h1/v1"
H2_LABEL = b"smpc/psi/rsa/h2/v1"
CERT_LABEL = b"smpc/psi/rsa/keycert/v1"
PROOF_VERSION = 1
TAG_BYTES = 32


def _small_odd_primes(bound: int) -> list[int]:
    sieve = bytearray([1]) * bound
    sieve[0:2] = b"\x00\x00"
    for p in range(2, int(bound ** 0.5) + 1):
        if sieve[p]:
            sieve[p * p::p] = bytearray(len(sieve[p * p::p]))
    return [p for p in range(3, bound, 2) if sieve[p]]


SMALL_ODD_PRIMES = _small_odd_primes(SMALL_PRIME_BOUND)  # 6,541 odd primes up to 65521
_SMALL_PRIMORIAL = math.prod(SMALL_ODD_PRIMES)


def i2osp(value: int, length: int) -> bytes:
    """Big-endian, exactly ``length`` bytes."""
    return value.to_bytes(length, "big")


def _lp(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


@dataclass(frozen=True)
class RsaPublicKey:
    """A pod's RSA public key; ``k`` is the modulus length in bytes."""

    n: int
    e: int = E

    @property
    def k(self) -> int:
        """``|n|`` in bytes."""
        return (self.n.bit_length() + 7) // 8

    @property
    def bits(self) -> int:
        """``|n|`` in bits."""
        return self.n.bit_length()

    def to_bytes(self) -> bytes:
        """``BE16 |n| || n || BE16 |e| || e`` (big-endian unsigned, minimal)."""
        nb = i2osp(self.n, self.k)
        eb = i2osp(self.e, (self.e.bit_length() + 7) // 8)
        return struct.pack(">H", len(nb)) + nb + struct.pack(">H", len(eb)) + eb

    @staticmethod
    def parse(data: bytes) -> tuple["RsaPublicKey", bytes, bytes]:
        """Parses the framing; returns the key with the raw ``n`` and ``e`` bytes as sent (checked by :func:`certify`)."""
        if len(data) < 2:
            raise ValueError("the public key is too short")
        (ln,) = struct.unpack(">H", data[:2])
        nb = data[2:2 + ln]
        if len(nb) != ln or len(data) < 4 + ln:
            raise ValueError("the public key's modulus is truncated")
        (le,) = struct.unpack(">H", data[2 + ln:4 + ln])
        eb = data[4 + ln:]
        if len(eb) != le or le == 0 or ln == 0:
            raise ValueError("the public key's exponent has the wrong length")
        return RsaPublicKey(int.from_bytes(nb, "big"), int.from_bytes(eb, "big")), nb, eb

    def modulus_digest(self) -> bytes:
        """SHA-256 of ``I2OSP(n, k)``, which binds H1 to the key."""
        return hashlib.sha256(i2osp(self.n, self.k)).digest()


def h1(key: RsaPublicKey, record: bytes, digest: bytes | None = None) -> int:
    """``H1(x) = OS2IP(T_0 || T_1 || ...)[first k + 16 bytes] mod n`` with
    ``T_c = SHA-256("smpc/psi/rsa/h1/v1" || SHA-256(I2OSP(n, k)) || BE32 c || x)``."""
    k = key.k
    prefix = H1_LABEL + (digest or key.modulus_digest())
    out = bytearray()
    c = 0
    while len(out) < k + 16:
        out += hashlib.sha256(prefix + struct.pack(">I", c) + record).digest()
        c += 1
    return int.from_bytes(out[:k + 16], "big") % key.n


def h2(signature: int, k: int) -> bytes:
    """``H2(s) = SHA-256("smpc/psi/rsa/h2/v1" || I2OSP(s, k))``."""
    return hashlib.sha256(H2_LABEL + i2osp(signature, k)).digest()


# ---- key certification (GRSB 2019) ------------------------------------------------------------------------------

def challenges(key: RsaPublicKey, tenant: str, session_id: str) -> list[tuple[int, int]]:
    """The ``m = 8`` challenges ``rho_i`` with the candidate counter ``j`` that produced each: ``[(j, rho), ...]``.
    Raises RsaKeyRefused(proof-invalid) when no candidate of 256 is usable."""
    n, k, bits = key.n, key.k, key.bits
    prefix = CERT_LABEL + _lp(tenant.encode("utf-8")) + _lp(session_id.encode("utf-8")) + _lp(i2osp(n, k)) + _lp(E_BYTES)
    mask = (1 << bits) - 1
    out: list[tuple[int, int]] = []
    for i in range(ROUNDS):
        for j in range(MAX_ATTEMPTS):
            stream = bytearray()
            c = 0
            while len(stream) < k:
                stream += hashlib.sha256(prefix + struct.pack(">III", i, j, c)).digest()
                c += 1
            candidate = int.from_bytes(stream[:k], "big") & mask
            if candidate < n and math.gcd(candidate, n) == 1:
                out.append((j, candidate))
                break
        else:
            raise RsaKeyRefused("proof-invalid", f"no usable challenge {i} after {MAX_ATTEMPTS} candidates")
    return out


def check_key(n_bytes: bytes, e_bytes: bytes, key_bits: int) -> RsaPublicKey:
    """The key checks of psi.md, in order: exponent, modulus size, parity, small factors."""
    if e_bytes != E_BYTES:
        raise RsaKeyRefused("exponent-not-65537", "the exponent must be exactly 01 00 01")
    n = int.from_bytes(n_bytes, "big")
    if not MIN_BITS <= key_bits <= MAX_BITS or not n_bytes or n_bytes[0] == 0 or n.bit_length() != key_bits:
        raise RsaKeyRefused("wrong-modulus-size", f"the modulus has {n.bit_length()} bits, the session declared {key_bits}")
    if n % 2 == 0:
        raise RsaKeyRefused("even-modulus", "the modulus is even")
    if math.gcd(n, _SMALL_PRIMORIAL) != 1:
        raise RsaKeyRefused("small-factor", f"the modulus has a prime factor below {SMALL_PRIME_BOUND}")
    return RsaPublicKey(n, E)


@dataclass(frozen=True)
class CertifiedRsaKey:
    """A pod key whose proof verified for this tenant and session: the only key :class:`RsaPsiClient` accepts."""

    key: RsaPublicKey
    tenant: str
    session_id: str


def certify(public_key: bytes, proof: bytes | None, tenant: str, session_id: str, key_bits: int) -> CertifiedRsaKey:
    """Verifies the pod's key (wire framing) and its proof for ``tenant``/``session_id``; raises RsaKeyRefused naming
    the first failed check (exponent-not-65537, wrong-modulus-size, even-modulus, small-factor, proof-missing,
    proof-malformed, proof-invalid)."""
    try:
        _, n_bytes, e_bytes = RsaPublicKey.parse(public_key)
    except ValueError as ex:
        raise RsaKeyRefused("proof-malformed", f"the pod's key does not parse: {ex}") from None
    key = check_key(n_bytes, e_bytes, key_bits)
    if proof is None or len(proof) == 0:
        raise RsaKeyRefused("proof-missing", "the pod sent no key proof (update the pod agent)")
    k = key.k
    if len(proof) != 2 + ROUNDS * k or proof[0] != PROOF_VERSION or proof[1] != ROUNDS:
        raise RsaKeyRefused("proof-malformed", f"the proof must be 0x01 0x08 and {ROUNDS} values of {k} bytes")
    sigmas = [int.from_bytes(proof[2 + i * k:2 + (i + 1) * k], "big") for i in range(ROUNDS)]
    if any(s >= key.n for s in sigmas):
        raise RsaKeyRefused("proof-malformed", "a proof value is not below n")
    for i, ((_, rho), sigma) in enumerate(zip(challenges(key, tenant, session_id), sigmas)):
        if pow(sigma, E, key.n) != rho:
            raise RsaKeyRefused("proof-invalid", f"proof value {i} is not an e-th root of its challenge")
    return CertifiedRsaKey(key, tenant, session_id)


# ---- the signer (pod) ------------------------------------------------------------------------------------------

@dataclass
class RsaPrivateKey:
    """An RSA private key with its CRT parameters."""

    n: int
    e: int
    d: int
    p: int
    q: int
    use_openssl: bool = True

    def __post_init__(self) -> None:
        if self.p * self.q != self.n:
            raise ValueError("p * q != n")
        self.dp = self.d % (self.p - 1)
        self.dq = self.d % (self.q - 1)
        self.qinv = pow(self.q, -1, self.p)

    @staticmethod
    def generate(bits: int = DEFAULT_BITS) -> "RsaPrivateKey":
        """A fresh key from OpenSSL (through ``cryptography``), e = 65537."""
        if not MIN_BITS <= bits <= MAX_BITS:
            raise ValueError(f"RSA key size {bits} is outside {MIN_BITS}-{MAX_BITS}")
        from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415
        while True:
            numbers = rsa.generate_private_key(public_exponent=E, key_size=bits).private_numbers()
            n = numbers.public_numbers.n
            if n.bit_length() == bits:
                return RsaPrivateKey(n, E, numbers.d, numbers.p, numbers.q)

    @property
    def public(self) -> RsaPublicKey:
        """The public half."""
        return RsaPublicKey(self.n, self.e)

    def _signer(self) -> Any:
        """OpenSSL's copy of this key (raw RSA, CRT, blinding), or None without libcrypto."""
        if not hasattr(self, "_openssl"):
            self._openssl = None
            if self.use_openssl:
                from . import _openssl  # noqa: PLC0415
                if _openssl.available():
                    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
                    from cryptography.hazmat.primitives.asymmetric import rsa as crsa  # noqa: PLC0415
                    private = crsa.RSAPrivateNumbers(self.p, self.q, self.d, self.dp, self.dq, self.qinv,
                                                     crsa.RSAPublicNumbers(self.e, self.n)).private_key()
                    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                                serialization.NoEncryption())
                    self._openssl = _openssl.RawRsaSigner(der, (self.n.bit_length() + 7) // 8)
        return self._openssl

    def raw_sign(self, m: int) -> int:
        """``m^d mod n`` (OpenSSL's raw private operation where available, else Python integers by CRT with RSA
        blinding), checked against ``s^e = m``: a faulty result never leaves."""
        signer = self._signer()
        if signer is None:
            return self.raw_sign_python(m)
        k = signer.k
        s = int.from_bytes(signer.sign(i2osp(m % self.n, k)), "big")
        if pow(s, self.e, self.n) != m % self.n:
            raise ArithmeticError("the RSA private operation failed its check")
        return s

    def sign_many(self, values: Sequence[int]) -> list[int]:
        """:meth:`raw_sign` of each value, on every core when OpenSSL does the work (it releases the GIL)."""
        if len(values) < 64 or self._signer() is None:
            return [self.raw_sign(v) for v in values]
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415
        workers = max(1, min(8, os.cpu_count() or 1))
        chunk = (len(values) + workers - 1) // workers
        with ThreadPoolExecutor(workers) as pool:
            parts = pool.map(lambda i: [self.raw_sign(v) for v in values[i:i + chunk]], range(0, len(values), chunk))
            return [s for part in parts for s in part]

    def raw_sign_python(self, m: int) -> int:
        """``m^d mod n`` by CRT with RSA blinding in Python integers, checked against ``s^e = m``."""
        n = self.n
        while True:
            r = secrets.randbelow(n - 2) + 2
            if math.gcd(r, n) == 1:
                break
        blinded = (m * pow(r, self.e, n)) % n
        sp = pow(blinded % self.p, self.dp, self.p)
        sq = pow(blinded % self.q, self.dq, self.q)
        s = (sq + self.q * ((self.qinv * (sp - sq)) % self.p)) * pow(r, -1, n) % n
        if pow(s, self.e, n) != m % n:
            raise ArithmeticError("the RSA private operation failed its check")
        return s


def prove_key(key: RsaPrivateKey, tenant: str, session_id: str) -> bytes:
    """The key-certification proof ``0x01 || 0x08 || I2OSP(sigma_0, k) || ... || I2OSP(sigma_7, k)``."""
    public = key.public
    k = public.k
    out = bytearray([PROOF_VERSION, ROUNDS])
    for _, rho in challenges(public, tenant, session_id):
        out += i2osp(key.raw_sign(rho), k)
    return bytes(out)


def _check_elements(data: bytes, k: int, n: int, what: str) -> list[int]:
    if len(data) % k:
        raise ProtocolViolation("malformed", f"{what}: {len(data)} bytes is not a whole number of {k}-byte elements")
    values = [int.from_bytes(data[i:i + k], "big") for i in range(0, len(data), k)]
    for index, v in enumerate(values):
        if not 1 < v < n - 1:
            raise ProtocolViolation("invalid-element", f"{what} element {index} is not in (1, n - 1)")
    return values


class RsaPsiServer:
    """The pod's side: a key, its proof, the encoded set, and one answered query."""

    def __init__(self, key: RsaPrivateKey, cardinality: bool, max_query_size: int | None = None) -> None:
        self.key = key
        self.public = key.public
        self.cardinality = cardinality
        self.max_query_size = max_query_size
        self.element_bytes = self.public.k
        self._answered = False
        self._digest = self.public.modulus_digest()

    def public_key_bytes(self) -> bytes:
        """The framed public key for ``accept``."""
        return self.public.to_bytes()

    def prove(self, tenant: str, session_id: str) -> bytes:
        """The key proof bound to this tenant and session."""
        return prove_key(self.key, tenant, session_id)

    def encode_set(self, records: Iterable[bytes]) -> list[bytes]:
        """``H2(H1(y)^d)`` for each record, sorted strictly ascending (duplicates removed)."""
        k = self.public.k
        signatures = self.key.sign_many([h1(self.public, y, self._digest) for y in records])
        return sorted({h2(s, k) for s in signatures})

    def answer(self, query: bytes, expected_count: int) -> bytes:
        """Signs the whole query (exactly ``expected_count`` k-byte values, each in (1, n-1), no repeats), in order or
        sorted (cardinality). One query per session."""
        if self._answered:
            raise ProtocolViolation("out-of-order", "this session's key answered its query already")
        k, n = self.public.k, self.public.n
        if self.max_query_size is not None and len(query) // k > self.max_query_size:
            raise ProtocolViolation("policy-refused", f"the query exceeds the pod's maximum of {self.max_query_size}")
        if len(query) != expected_count * k:
            raise ProtocolViolation("malformed", f"the query has {len(query)} bytes, expected {expected_count} x {k}")
        values = _check_elements(query, k, n, "query")
        if len(set(values)) != len(values):
            raise ProtocolViolation("duplicate", "the query repeats an element")
        self._answered = True
        answers = [i2osp(s, k) for s in self.key.sign_many(values)]
        if self.cardinality:
            answers.sort()
        return b"".join(answers)


# ---- the modeller ----------------------------------------------------------------------------------------------

def _batch_inverse(values: list[int], n: int) -> list[int]:
    """Every ``v^-1 mod n`` with one inversion (Montgomery's trick: prefix products, one inverse, back out); every
    value must be a unit mod n."""
    if not values:
        return []
    prefix = [0] * len(values)
    acc = 1
    for i, v in enumerate(values):
        prefix[i] = acc
        acc = acc * v % n
    inv = pow(acc, -1, n)
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = inv * prefix[i] % n
        inv = inv * values[i] % n
    return out


class RsaPsiClient:
    """The modeller's side under a certified key: blinds, then unblinds and verifies the replies into tags."""

    def __init__(self, certified: CertifiedRsaKey, cardinality: bool) -> None:
        if not isinstance(certified, CertifiedRsaKey):
            raise TypeError("RsaPsiClient needs a CertifiedRsaKey (see certify)")
        self.key = certified.key
        self.cardinality = cardinality
        self.element_bytes = self.key.k
        self._digest = self.key.modulus_digest()
        self._hashes: list[int] = []
        self._unblinders: list[int] = []
        self._blinded: list[bytes] = []
        self._finished = False

    def blind(self, records: Sequence[bytes]) -> bytes:
        """``b_i = H1(x_i) * r_i^e mod n`` for each record, in order (appends to the client's state)."""
        n, k = self.key.n, self.key.k
        hashes: list[int] = []
        blinds: list[int] = []
        blinded: list[int] = []
        for x in records:
            hx = h1(self.key, x, self._digest)
            while True:
                r = secrets.randbelow(n - 2) + 2
                if math.gcd(r, n) == 1:
                    b = hx * pow(r, E, n) % n
                    if 1 < b < n - 1:
                        break
            hashes.append(hx)
            blinds.append(r)
            blinded.append(b)
        self._hashes.extend(hashes)
        self._unblinders.extend(_batch_inverse(blinds, n))
        encoded = [i2osp(b, k) for b in blinded]
        self._blinded.extend(encoded)
        return b"".join(encoded)

    def unblind(self, replies: bytes) -> list[bytes]:
        """The tags ``H2(s_i)`` in record order. Intersection: replies in query order; cardinality: sorted replies,
        each matched back to its blinded value through ``sigma^e = b_i`` (publicly verifiable signatures)."""
        if self._finished:
            raise ProtocolViolation("out-of-order", "this client finished already")
        n, k = self.key.n, self.key.k
        count = len(self._hashes)
        if len(replies) != count * k:
            raise ProtocolViolation("malformed", f"the reply has {len(replies)} bytes, expected {count} x {k}")
        sigmas = _check_elements(replies, k, n, "reply")
        if self.cardinality:
            index = {b: i for i, b in enumerate(self._blinded)}
            owner: list[int] = [-1] * count
            ordered: list[int] = [0] * count
            for j, sigma in enumerate(sigmas):
                i = index.get(i2osp(pow(sigma, E, n), k), -1)
                if i < 0 or owner[i] >= 0:
                    raise ProtocolViolation("bad-signature", f"signature {j} answers no blinded value (or one answered already)")
                owner[i] = j
                ordered[i] = sigma
            sigmas = ordered
        tags: list[bytes] = []
        for i, sigma in enumerate(sigmas):
            s = sigma * self._unblinders[i] % n
            if pow(s, E, n) != self._hashes[i]:
                raise ProtocolViolation("bad-signature", f"signature {i} does not verify")
            tags.append(h2(s, k))
        self.wipe()
        self._finished = True
        return tags

    def wipe(self) -> None:
        """Forgets the unblinding factors and hashes (Python cannot zero an int; the references go)."""
        self._hashes = []
        self._unblinders = []
        self._blinded = []
