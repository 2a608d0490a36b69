#!/usr/bin/python3
"""Generates rsa-psi.json, the known-answer vectors of RSA blind-signature PSI and of its key certification.

A second, independent implementation of docs/protocols/psi.md ("RSA blind signatures" and "Certified RSA keys"),
written from the document with Python integers, not from the C# code. It contains:
  * keys: fixed RSA keys (e = 65537) drawn from a seeded SHA-256 generator, with their CRT parameters, so tests need
    no key generation; "malicious-2048" has 65537 | p - 1 (x -> x^e is then not a permutation of Z_n^*);
  * h1_h2: H1(record) and H2(H1(record)^d mod n) for a few records under "kat-2048";
  * certification: the challenges rho_i (with the candidate counter j that produced each), the roots sigma_i and the
    whole proof for a fixed binding (tenant, session id) under "kat-2048".

Dependencies: the Python 3 standard library only.
Usage:  /usr/bin/python3 generate_rsa_psi.py > rsa-psi.json
"""
import hashlib
import json
import math
import struct
import sys

E = 65537
ROUNDS = 8
SMALL_PRIME_BOUND = 65537
MAX_ATTEMPTS = 256
CERT_DOMAIN = b"smpc/psi/rsa/keycert/v1"
H1_LABEL = b"smpc/psi/rsa/h1/v1"
H2_LABEL = b"smpc/psi/rsa/h2/v1"


class Drbg:
    """A deterministic byte stream: SHA-256(seed || BE64(counter)) blocks. Only for reproducible test keys."""

    def __init__(self, seed):
        self.seed = seed
        self.counter = 0

    def bytes(self, n):
        out = b""
        while len(out) < n:
            out += hashlib.sha256(self.seed + struct.pack(">Q", self.counter)).digest()
            self.counter += 1
        return out[:n]

    def below(self, bound):
        size = (bound.bit_length() + 7) // 8
        while True:
            v = int.from_bytes(self.bytes(size), "big") % (1 << bound.bit_length())
            if v < bound:
                return v


def is_probable_prime(n, rng, rounds=40):
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        a = 2 + rng.below(n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def prime(rng, bits, congruent_one_mod=None):
    """A prime of exactly `bits` bits with its top two bits set (so p*q has 2*bits bits)."""
    while True:
        if congruent_one_mod is None:
            p = int.from_bytes(rng.bytes(bits // 8), "big") | (3 << (bits - 2)) | 1
            if math.gcd(p - 1, E) != 1:
                continue
        else:
            # p = 1 + 2*e*t: then e | p - 1 and p is odd.
            t = int.from_bytes(rng.bytes(bits // 8), "big") >> (E.bit_length() - 1)
            p = 1 + 2 * congruent_one_mod * t
            if p.bit_length() != bits or (p >> (bits - 2)) != 3:
                continue
        if is_probable_prime(p, rng):
            return p


def key(name, bits, malicious=False):
    rng = Drbg(b"smpc/psi/rsa/test-key/" + name.encode())
    p = prime(rng, bits // 2, E if malicious else None)
    while True:
        q = prime(rng, bits // 2)
        if q != p:
            break
    n = p * q
    assert n.bit_length() == bits
    half = bits // 16
    k = bits // 8
    result = {"name": name, "bits": bits, "n": hexs(n, k), "e": "010001"}
    if malicious:
        assert (p - 1) % E == 0
        result["p"] = hexs(p, half)
        result["q"] = hexs(q, half)
        return result, n, None
    phi = (p - 1) * (q - 1)
    d = pow(E, -1, phi)
    result.update({
        "d": hexs(d, k), "p": hexs(p, half), "q": hexs(q, half),
        "dp": hexs(d % (p - 1), half), "dq": hexs(d % (q - 1), half), "qinv": hexs(pow(q, -1, p), half),
    })
    return result, n, d


def hexs(v, length):
    return v.to_bytes(length, "big").hex()


def i2osp(v, length):
    return v.to_bytes(length, "big")


def h1(n, record):
    k = (n.bit_length() + 7) // 8
    digest = hashlib.sha256(i2osp(n, k)).digest()
    out = b""
    c = 0
    while len(out) < k + 16:
        out += hashlib.sha256(H1_LABEL + digest + struct.pack(">I", c) + record).digest()
        c += 1
    return int.from_bytes(out[:k + 16], "big") % n


def h2(s, k):
    return hashlib.sha256(H2_LABEL + i2osp(s, k)).digest()


def lp(b):
    return struct.pack(">I", len(b)) + b


def challenges(n, tenant, session):
    k = (n.bit_length() + 7) // 8
    bits = n.bit_length()
    prefix = CERT_DOMAIN + lp(tenant.encode()) + lp(session.encode()) + lp(i2osp(n, k)) + lp(bytes([1, 0, 1]))
    result = []
    for i in range(ROUNDS):
        for j in range(MAX_ATTEMPTS):
            stream = b""
            c = 0
            while len(stream) < k:
                stream += hashlib.sha256(prefix + struct.pack(">III", i, j, c)).digest()
                c += 1
            candidate = int.from_bytes(stream[:k], "big") & ((1 << bits) - 1)
            if candidate < n and math.gcd(candidate, n) == 1:
                result.append((j, candidate))
                break
        else:
            raise ValueError("no challenge")
    return result


def main():
    kat, n, d = key("kat-2048", 2048)
    k3072, _, _ = key("kat-3072", 3072)
    bad, bad_n, _ = key("malicious-2048", 2048, malicious=True)
    k = 256
    records = [b"", b"a", b"alice@example.com", bytes(range(40))]
    h = []
    for r in records:
        x = h1(n, r)
        s = pow(x, d, n)
        assert pow(s, E, n) == x
        h.append({"record": r.hex(), "h1": hexs(x, k), "signature": hexs(s, k), "h2": h2(s, k).hex()})
    tenant, session = "t-vectors", "psi-kat-1"
    rhos = challenges(n, tenant, session)
    sigmas = [pow(rho, d, n) for _, rho in rhos]
    for (_, rho), sigma in zip(rhos, sigmas):
        assert pow(sigma, E, n) == rho
    proof = bytes([1, ROUNDS]) + b"".join(i2osp(s, k) for s in sigmas)
    # The malicious key: p = 1 (mod e), so x -> x^e is not a permutation; document how many of its challenges are e-th powers.
    p = int(bad["p"], 16)
    bad_rhos = challenges(bad_n, tenant, session)
    residues = sum(1 for _, rho in bad_rhos if pow(rho, (p - 1) // E, p) == 1)
    doc = {
        "description": "RSA blind-signature PSI (docs/protocols/psi.md): H1/H2 and the key-certification proof; generated by generate_rsa_psi.py",
        "exponent": E, "rounds": ROUNDS, "small_prime_bound": SMALL_PRIME_BOUND, "max_attempts": MAX_ATTEMPTS,
        "keys": [kat, k3072, bad],
        "h1_h2": {"key": "kat-2048", "cases": h},
        "certification": {
            "key": "kat-2048", "tenant": tenant, "session_id": session,
            "challenges": [{"i": i, "attempt": j, "rho": hexs(rho, k), "sigma": hexs(s, k)} for i, ((j, rho), s) in enumerate(zip(rhos, sigmas))],
            "proof": proof.hex(),
        },
        "malicious": {"key": "malicious-2048", "challenges_that_are_eth_powers_mod_p": residues, "of": ROUNDS},
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
