#!/usr/bin/python3
"""Generates secagg.json, the known-answer vectors of secure aggregation and the federated channel.

A second, independent implementation of docs/protocols/secure-aggregation.md ("Sealed envelopes", "Share envelopes",
"Message formats", "Shamir shares", "Mask PRG") and docs/protocols/federated.md (the content-key seal and releases),
written from the documents and not from the C# code. Every field is lowercase hex unless it is a number or a string.
The randomness a step draws (ephemeral keys, nonces, polynomial coefficients) is fixed here, so the outputs are exact;
tests/Smpc.Protocols.Tests/SecureAggregation/SecAggVectorTests.cs feeds the same bytes to the C# code and compares.

Dependencies (Debian packages only):  apt-get install -y python3-cryptography
Usage:  /usr/bin/python3 generate_secagg.py > secagg.json
"""
import hashlib
import json
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

P25519 = 2**255 - 19


def be16(v):
    return struct.pack(">H", v)


def be32(v):
    return struct.pack(">I", v)


def be64(v):
    return struct.pack(">Q", v)


def le64(v):
    return struct.pack("<Q", v)


def s(text):
    """str(s) = BE16 |utf8(s)| ‖ utf8(s)."""
    raw = text.encode("utf-8")
    return be16(len(raw)) + raw


def parties(ps):
    return be32(len(ps)) + b"".join(be32(p) for p in ps)


def hkdf(ikm, salt, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def x25519_public(private):
    key = X25519PrivateKey.from_private_bytes(private)
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def x25519(private, public):
    return X25519PrivateKey.from_private_bytes(private).exchange(X25519PublicKey.from_public_bytes(public))


def pattern(start, n=32, step=1):
    return bytes((start + step * i) & 0xFF for i in range(n))


def sealed_box(recipient_public, plaintext, ad, ephemeral_private):
    """SealedBox: E ‖ AES-256-GCM_K(0^96, plaintext, AD) ‖ tag, K = HKDF(X25519(e, R), "smpc/seal/v1", E ‖ R)."""
    eph_public = x25519_public(ephemeral_private)
    key = hkdf(x25519(ephemeral_private, recipient_public), b"smpc/seal/v1", eph_public + recipient_public, 32)
    return eph_public + AESGCM(key).encrypt(bytes(12), plaintext, ad), key


# ---------------------------------------------------------------------------------------------- canonical parameters
def canonical_parameters(session, round_, n, t, q, chunk, fields, modeller_key):
    out = b"smpc/secagg/params/v1" + s(session) + be32(round_) + be32(n) + be32(t) + be64(q) + be32(chunk) + be32(len(fields))
    for name, length, precision, lo, hi in fields:
        out += s(name) + be32(length) + be64(precision)
        out += struct.pack(">d", 0.0 if lo == 0 else lo) + struct.pack(">d", 0.0 if hi == 0 else hi)
    return out + modeller_key


# ------------------------------------------------------------------------------------------------------- GF(2^8)
def gf_mul(a, b):
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return r


def shamir_split(secret, t, holders, coefficients):
    """f_k(x) = secret[k] + Σ_{c=1}^{t−1} a_c[k] x^c, a_c = coefficients[(c−1)·L, c·L)."""
    length = len(secret)
    shares = {}
    for x in holders:
        value = bytearray(length)
        for k in range(length):
            y, power = secret[k], 1
            for c in range(1, t):
                power = gf_mul(power, x)
                y ^= gf_mul(coefficients[(c - 1) * length + k], power)
            value[k] = y
        shares[x] = bytes(value)
    return shares


# ------------------------------------------------------------------------------------------------------- mask PRG
def aes_ecb(key, block):
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def mask_prg(seed, context, q, count):
    okm = hkdf(seed, b"smpc/secagg/prg/v1", context, 48)
    k, iv, k2 = okm[:16], int.from_bytes(okm[16:32], "big"), okm[32:48]
    m = (1 << (q - 1).bit_length()) - 1
    out = []
    for i in range(count):
        block = aes_ecb(k, ((iv + i // 2) % 2**128).to_bytes(16, "big"))
        w = int.from_bytes(block[8 * (i % 2):8 * (i % 2) + 8], "little") & m
        a = 0
        while w >= q:
            w = int.from_bytes(aes_ecb(k2, le64(i) + le64(a))[:8], "little") & m
            a += 1
        out.append(w)
    return out


def self_mask_context(session, round_, party):
    return b"\x01" + s(session) + be32(round_) + be32(party) + be32(0)


# --------------------------------------------------------------------------------------------------------- vectors
def vectors():
    out = {"description": "Known answers for docs/protocols/secure-aggregation.md and federated.md; generated by generate_secagg.py"}

    # Low-order X25519 encodings: 0, 1, p − 1, the two order-8 points, p, p + 1; each also with bit 255 set.
    order8 = [325606250916557431795983626356110631294008115727848805560023387167927233504,
              39382357235489614581723060781553021112529911719440698176882885853963445705823]
    low = []
    for u in [0, 1, P25519 - 1] + order8 + [P25519, P25519 + 1]:
        raw = u.to_bytes(32, "little")
        low.append(raw.hex())
        low.append((raw[:31] + bytes([raw[31] | 0x80])).hex())
    out["lowOrderPoints"] = low

    # Session parameters (the documented example) with a fixed modeller key M.
    modeller_private = pattern(0x40)
    modeller_public = x25519_public(modeller_private)
    session, round_ = "s1", 9
    fields = [("w", 3, 10, -0.0, 2.5), ("n", 1, 1, -7.0, 7.0)]
    params = canonical_parameters(session, round_, 4, 3, 1009, 100, fields, modeller_public)
    out["parameters"] = {
        "session": session, "round": round_, "n": 4, "t": 3, "q": 1009, "chunk": 100,
        "fields": [{"name": f[0], "length": f[1], "precision": f[2], "min": f[3], "max": f[4]} for f in fields],
        "modellerPrivate": modeller_private.hex(), "modellerPublic": modeller_public.hex(),
        "canonical": params.hex(), "digest": hashlib.sha256(params).hexdigest(),
    }

    # Sealed box to a fixed recipient with a fixed ephemeral key.
    recipient_private = pattern(0x11)
    recipient_public = x25519_public(recipient_private)
    ephemeral = pattern(0x90, step=3)
    plaintext, ad = b"sealed box plaintext", b"sealed box associated data"
    box, key = sealed_box(recipient_public, plaintext, ad, ephemeral)
    out["sealedBox"] = {
        "recipientPrivate": recipient_private.hex(), "recipientPublic": recipient_public.hex(),
        "ephemeralRandom": ephemeral.hex(), "plaintext": plaintext.hex(), "associatedData": ad.hex(),
        "key": key.hex(), "box": box.hex(),
    }

    # Shamir over GF(2^8): t = 3, holders 1, 2, 3, 5; coefficient bytes a_1 (32) ‖ a_2 (32) as drawn.
    b_secret = pattern(0xA0)
    key_secret = pattern(0x05, step=7)
    b_coefficients, key_coefficients = pattern(0x33, 64, 5), pattern(0x77, 64, 11)
    holders = [1, 2, 3, 5]
    b_shares = shamir_split(b_secret, 3, holders, b_coefficients)
    key_shares = shamir_split(key_secret, 3, holders, key_coefficients)
    out["shamir"] = {
        "threshold": 3, "holders": holders,
        "secret": b_secret.hex(), "coefficients": b_coefficients.hex(),
        "shares": [{"x": x, "value": b_shares[x].hex()} for x in holders],
    }

    # Share envelope from party 2 to party 5 (session "s1", round 9): share plaintext, pairwise key, box.
    c_from, c_to = pattern(0x21), pattern(0x52, step=3)
    C_from, C_to = x25519_public(c_from), x25519_public(c_to)
    owner, holder = 2, 5
    share_plaintext = b"\x01" + be32(owner) + be32(holder) + bytes([holder]) + b_shares[holder] + bytes([holder]) + key_shares[holder]
    envelope_key = hkdf(x25519(c_from, C_to), b"smpc/secagg/envelope/v1",
                        s(session) + be32(round_) + be32(owner) + be32(holder) + C_from + C_to, 32)
    share_ad = b"smpc/secagg/share/v1" + s(session) + be32(round_) + be32(owner) + be32(holder)
    nonce = pattern(0xC0, 12)
    envelope_box = nonce + AESGCM(envelope_key).encrypt(nonce, share_plaintext, share_ad)
    envelope = b"\x01\x02" + s(session) + be32(owner) + be32(holder) + be32(len(envelope_box)) + envelope_box
    out["shareEnvelope"] = {
        "from": owner, "to": holder, "sealPrivateFrom": c_from.hex(), "sealPrivateTo": c_to.hex(),
        "sealPublicFrom": C_from.hex(), "sealPublicTo": C_to.hex(),
        "selfMaskShare": b_shares[holder].hex(), "maskKeyShare": key_shares[holder].hex(),
        "plaintext": share_plaintext.hex(), "associatedData": share_ad.hex(), "key": envelope_key.hex(),
        "nonceRandom": nonce.hex(), "box": envelope_box.hex(), "message": envelope.hex(),
    }

    # Unmask request U2 = {1, 2, 3, 4}, U3 = {1, 2, 4}; party 2 answers: b-shares of 1, 2, 4, the key share of 3.
    request = b"\x01\x04" + s(session) + parties([1, 2, 3, 4]) + parties([1, 2, 4])
    request_digest = hashlib.sha256(request).digest()
    responder = 2
    identity_seed = pattern(0x61)
    identity = Ed25519PrivateKey.from_private_bytes(identity_seed)
    identity_public = identity.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    entries = [(1, 1, pattern(0x01)), (2, 1, pattern(0x02)), (3, 2, pattern(0x03)), (4, 1, pattern(0x04))]
    body = b"\x02" + be32(responder) + be32(len(entries))
    for o, kind, share in entries:
        body += be32(o) + bytes([kind, responder]) + share
    signed = b"smpc/secagg/unmask-sig/v1" + hashlib.sha256(params).digest() + request_digest + body
    signature = identity.sign(signed)
    response_plaintext = body + signature
    unmask_ad = b"smpc/secagg/unmask/v1" + s(session) + be32(round_) + be32(responder) + request_digest
    response_ephemeral = pattern(0xD0, step=5)
    response_box, _ = sealed_box(modeller_public, response_plaintext, unmask_ad, response_ephemeral)
    response = b"\x01\x05" + s(session) + be32(responder) + be32(len(response_box)) + response_box
    out["unmask"] = {
        "shareSenders": [1, 2, 3, 4], "survivors": [1, 2, 4], "request": request.hex(), "requestDigest": request_digest.hex(),
        "party": responder, "identitySeed": identity_seed.hex(), "identityPublic": identity_public.hex(),
        "entries": [{"owner": o, "kind": kind, "share": share.hex()} for o, kind, share in entries],
        "body": body.hex(), "signedBytes": signed.hex(), "signature": signature.hex(), "plaintext": response_plaintext.hex(),
        "associatedData": unmask_ad.hex(), "ephemeralRandom": response_ephemeral.hex(), "box": response_box.hex(),
        "message": response.hex(),
    }

    # Pairwise mask seed s_ij between parties 2 and 5 (mask keys = the seal keys above, for brevity).
    pair_seed = hkdf(x25519(c_from, C_to), b"smpc/secagg/pair/v1",
                     s(session) + be32(round_) + be32(2) + be32(5) + C_from + C_to, 32)
    out["pairSeed"] = {"lo": 2, "hi": 5, "maskPrivateLo": c_from.hex(), "maskPrivateHi": c_to.hex(), "seed": pair_seed.hex()}

    # Mask PRG: self-mask stream of party 3 in session "kat", round 7, seed 00 01 … 1f.
    seed = bytes(range(32))
    context = self_mask_context("kat", 7, 3)
    out["maskPrg"] = {
        "seed": seed.hex(), "context": context.hex(),
        "streams": [
            {"q": 2**61 - 1, "elements": mask_prg(seed, context, 2**61 - 1, 16)},
            {"q": 1009, "elements": mask_prg(seed, context, 1009, 256)},
        ],
    }

    # Federated channel: the content key sealed to a pod's member key, and a release under it.
    tenant, fed_session, pod, name = "acme", "fq-1", "pod-a", "round-3/global"
    member_private = pattern(0x31, step=9)
    member_public = x25519_public(member_private)
    content_key = pattern(0xE0)
    key_ad = b"smpc/content-key/v1" + s(tenant) + s(fed_session) + s(pod)
    key_ephemeral = pattern(0x0F, step=13)
    sealed_key, _ = sealed_box(member_public, content_key, key_ad, key_ephemeral)
    release_plaintext = b'{"theta":[0.25,-1.5]}'
    release_ad = b"smpc/release/v1" + s(tenant) + s(fed_session) + s(name)
    release_nonce = pattern(0xA5, 12, 3)
    release = release_nonce + AESGCM(content_key).encrypt(release_nonce, release_plaintext, release_ad)
    out["federated"] = {
        "tenant": tenant, "session": fed_session, "pod": pod, "memberPrivate": member_private.hex(),
        "memberPublic": member_public.hex(), "contentKey": content_key.hex(), "contentKeyAssociatedData": key_ad.hex(),
        "ephemeralRandom": key_ephemeral.hex(), "sealedContentKey": sealed_key.hex(),
        "releaseName": name, "releasePlaintext": release_plaintext.hex(), "releaseAssociatedData": release_ad.hex(),
        "releaseNonceRandom": release_nonce.hex(), "release": release.hex(),
    }
    return out


if __name__ == "__main__":
    json.dump(vectors(), sys.stdout, indent=2)
    sys.stdout.write("\n")
