#!/usr/bin/python3
"""Independent check of ecdh-oprf.json (standard library only).

The vectors in ecdh-oprf.json are typed in from the RFC texts (RFC 9380 Appendix K.3, RFC 9497 Appendix A.1.1); this
script recomputes what the standard library can: expand_message_xmd(SHA-512) (RFC 9380 section 5.3.1) for every K.3
case, and the RFC 9497 context strings and DSTs that docs/protocols/psi.md names. The group operations (ristretto255)
are checked by the C# test against libsodium (OprfVectorTests).

Run: /usr/bin/python3 docs/protocols/vectors/check_ecdh_oprf.py
"""
import hashlib
import json
import os
import sys


def expand_message_xmd(msg: bytes, dst: bytes, length: int) -> bytes:
    b_in_bytes, r_in_bytes = 64, 128  # SHA-512 output and block size
    ell = -(-length // b_in_bytes)
    if ell > 255 or length > 65535 or len(dst) > 255:
        raise ValueError("expand_message_xmd: parameters out of range")
    dst_prime = dst + bytes([len(dst)])
    msg_prime = bytes(r_in_bytes) + msg + length.to_bytes(2, "big") + b"\x00" + dst_prime
    b0 = hashlib.sha512(msg_prime).digest()
    b = [hashlib.sha512(b0 + b"\x01" + dst_prime).digest()]
    for i in range(2, ell + 1):
        b.append(hashlib.sha512(bytes(x ^ y for x, y in zip(b0, b[-1])) + bytes([i]) + dst_prime).digest())
    return b"".join(b)[:length]


def main() -> int:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ecdh-oprf.json")
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    xmd = data["xmd"]
    for case in xmd["cases"]:
        got = expand_message_xmd(case["msg"].encode(), xmd["dst"].encode(), case["lenInBytes"]).hex()
        if got != case["uniformBytes"]:
            print("MISMATCH", case["msg"][:16], case["lenInBytes"])
            return 1
    context = b"OPRFV1-" + bytes([0]) + b"-ristretto255-SHA512"
    dsts = data["oprf"]["dsts"]
    expected = {
        "hashToGroup": (b"HashToGroup-" + context).hex(),
        "hashToScalar": (b"HashToScalar-" + context).hex(),
        "deriveKeyPair": (b"DeriveKeyPair" + context).hex(),
    }
    if dsts != expected:
        print("DST MISMATCH", dsts, expected)
        return 1
    print(f"ok: {len(xmd['cases'])} expand_message_xmd cases, {len(data['oprf']['vectors'])} OPRF vectors present, DSTs agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
