#!/usr/bin/python3
"""Independent check of kkrt-v1.json (standard library only, with its own AES-128).

kkrt-v1.json is written by the C# implementation (KkrtVectorTests, SMPC_UPDATE_KKRT_VECTORS=1). This script recomputes,
from docs/protocols/psi.md ("OT extension: KKRT16") alone, every symmetric-key step: the item digests d(y), the cuckoo
positions h_i, the code words C(y, i), the KDF, the AES-CTR PRG blocks, the transposed matrix rows, Tag, and the whole
session's OT extension from its base-OT keys: the modeller's rows U_b (and so the query hash, with the recorded header),
the pod's rows Q_b and its three sorted tag lists (the reply), and the matches. The group operations (hash to
ristretto255, the Masny-Rindal base OTs) are checked by the C# tests against libsodium.

Run: /usr/bin/python3 docs/protocols/vectors/check_kkrt_v1.py
"""
import hashlib
import json
import os
import sys

# --- AES-128 (FIPS 197), encryption only -------------------------------------------------------------------------


def _sbox():
    def mul(a, b):
        r = 0
        while b:
            if b & 1:
                r ^= a
            a = ((a << 1) ^ 0x1B) & 0xFF if a & 0x80 else a << 1
            b >>= 1
        return r

    box = [0] * 256
    for x in range(256):
        inv = 0 if x == 0 else next(y for y in range(1, 256) if mul(x, y) == 1)
        s = inv
        for shift in range(1, 5):
            s ^= ((inv << shift) | (inv >> (8 - shift))) & 0xFF
        box[x] = s ^ 0x63
    return box, mul


SBOX, GMUL = _sbox()
XTIME = [GMUL(x, 2) for x in range(256)]


def expand_key(key):
    words = [list(key[i:i + 4]) for i in range(0, 16, 4)]
    rcon = 1
    for i in range(4, 44):
        t = list(words[i - 1])
        if i % 4 == 0:
            t = [SBOX[b] for b in t[1:] + t[:1]]
            t[0] ^= rcon
            rcon = XTIME[rcon]
        words.append([a ^ b for a, b in zip(words[i - 4], t)])
    return [sum(words[4 * r:4 * r + 4], []) for r in range(11)]


def aes_encrypt(round_keys, block):
    s = [b ^ k for b, k in zip(block, round_keys[0])]
    for r in range(1, 11):
        s = [SBOX[b] for b in s]
        s = [s[(i + 4 * (i % 4)) % 16] for i in range(16)]  # ShiftRows (column-major state)
        if r != 10:
            out = []
            for c in range(4):
                a = s[4 * c:4 * c + 4]
                t = a[0] ^ a[1] ^ a[2] ^ a[3]
                out += [a[i] ^ t ^ XTIME[a[i] ^ a[(i + 1) % 4]] for i in range(4)]
            s = out
        s = [b ^ k for b, k in zip(s, round_keys[r])]
    return bytes(s)


def aes(key, block):
    return aes_encrypt(expand_key(key), block)


# --- kkrt-v1 ------------------------------------------------------------------------------------------------------


def digest(record):
    return hashlib.sha256(b"smpc/psi/kkrt/v1/item" + record.encode()).digest()[:16]


def with_byte0(d, value):
    return bytes([d[0] ^ value]) + d[1:]


def position(rk_hk, d, i, bins):
    x = int.from_bytes(aes_encrypt(rk_hk, with_byte0(d, i))[:8], "little")
    return (x * bins) >> 64


def code(rk_ck, d, i):
    return b"".join(aes_encrypt(rk_ck, with_byte0(d, 4 * i + j)) for j in range(4))


def prg(key, first_block, blocks):
    rk = expand_key(key)
    return b"".join(aes_encrypt(rk, (first_block + t).to_bytes(16, "little")) for t in range(blocks))


def rows_of(keys, bins):
    """Row b (64 bytes) of the matrix whose column j is PRG(keys[j]); bits LSB first."""
    columns = [int.from_bytes(prg(keys[j], 0, (bins + 127) // 128), "little") for j in range(512)]
    rows = []
    for b in range(bins):
        value = 0
        for j in range(512):
            value |= ((columns[j] >> b) & 1) << j
        rows.append(value.to_bytes(64, "little"))
    return rows


def tag(b, row, length):
    return hashlib.sha256(b"smpc/psi/kkrt/v1/tag" + b.to_bytes(4, "big") + row).digest()[:length]


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def band(a, b):
    return bytes(x & y for x, y in zip(a, b))


def kdf(j, c, r0, r1, b, s):
    return hashlib.sha256(b"smpc/psi/kkrt/v1/ot-key" + j.to_bytes(4, "big") + bytes([c]) + r0 + r1 + b + s).digest()[:16]


def fixed(label, length):
    out = b""
    block = 0
    while len(out) < length:
        out += hashlib.sha256(f"kkrt-v1 vector {label} {block}".encode()).digest()
        block += 1
    return out[:length]


def bins_for(n):
    return (3 * n + 1) // 2 + 256


def tag_bytes_for(n):
    m = bins_for(n)
    return (40 + 26 + (m - 1).bit_length() + 7) // 8


def main():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kkrt-v1.json")
    with open(path, encoding="utf-8") as f:
        v = json.load(f)
    failures = []

    def check(name, got, want):
        if got != want:
            failures.append(name)
            print("MISMATCH", name, got if len(str(got)) < 200 else str(got)[:200], want if len(str(want)) < 200 else str(want)[:200])

    # FIPS 197 appendix C.1 (AES-128) first, so a broken AES cannot agree with itself.
    check("aes fips197", aes(bytes.fromhex("000102030405060708090a0b0c0d0e0f"), bytes.fromhex("00112233445566778899aabbccddeeff")).hex(),
          "69c4e0d86a7b0430d8cdb78070b4c55a")

    for item in v["digests"]:
        check("digest " + item["record"], digest(item["record"]).hex(), item["digest"])

    cuckoo = v["cuckoo"]
    hk = bytes.fromhex(cuckoo["hk"])
    check("cuckoo hk", hk.hex(), fixed("hk", 16).hex())
    rk_hk = expand_key(hk)
    for p in cuckoo["positions"]:
        d = bytes.fromhex(p["digest"])
        check("h_i " + p["digest"], [position(rk_hk, d, i, cuckoo["bins"]) for i in range(3)], p["h"])

    ck = bytes.fromhex(v["code"]["ck"])
    check("code ck", ck.hex(), fixed("ck", 16).hex())
    rk_ck = expand_key(ck)
    for w in v["code"]["words"]:
        d = bytes.fromhex(w["digest"])
        check("C " + w["digest"], [code(rk_ck, d, i).hex() for i in range(3)], w["code"])

    k = v["kdf"]
    check("kdf", kdf(k["j"], k["c"], *(bytes.fromhex(k[x]) for x in ("r0", "r1", "b", "shared"))).hex(), k["key"])

    p = v["prg"]
    key = bytes.fromhex(p["key"])
    check("prg 0..2", prg(key, 0, 3).hex(), p["blocks0to2"])
    check("prg 1000", prg(key, 1000, 1).hex(), p["block1000"])

    m = v["matrix"]
    keys = fixed("columns", 512 * 16)
    rows = rows_of([keys[16 * j:16 * j + 16] for j in range(512)], m["bins"])
    check("matrix sha256", hashlib.sha256(b"".join(rows)).hexdigest(), m["rowsSha256"])
    for r in m["rows"]:
        check(f"matrix row {r['bin']}", rows[r["bin"]].hex(), r["row"])

    t = v["tag"]
    check("tag", tag(t["bin"], bytes.fromhex(t["row"]), t["length"]).hex(), t["tag"])

    # The session, from its recorded keys: the OT extension on both sides, the reply and the matches.
    s = v["session"]
    n = len(s["modellerRecords"])
    bins, length = bins_for(n), tag_bytes_for(n)
    check("session bins", bins, s["bins"])
    check("session tag length", length, s["tagBytes"])
    hk, ck = bytes.fromhex(s["hk"]), bytes.fromhex(s["ck"])
    rk_hk, rk_ck = expand_key(hk), expand_key(ck)
    header = bytes.fromhex(s["queryHeader"])
    check("session header hk", header[:16].hex(), s["hk"])
    k0 = bytes.fromhex(s["k0"])
    k1 = bytes.fromhex(s["k1"])
    choice = bytes.fromhex(s["s"])
    t0 = rows_of([k0[16 * j:16 * j + 16] for j in range(512)], bins)
    t1 = rows_of([k1[16 * j:16 * j + 16] for j in range(512)], bins)

    # Modeller: its cuckoo placement must be valid; U_b = T0 ⊕ T1 ⊕ c_b, tag_b = Tag(b, T0_b).
    c = [bytes(64)] * bins
    own = {}
    for a in s["assignment"]:
        d = digest(a["record"])
        check("assignment " + a["record"], position(rk_hk, d, a["function"], bins), a["bin"])
        c[a["bin"]] = code(rk_ck, d, a["function"])
        own[a["record"]] = (a["function"], tag(a["bin"], t0[a["bin"]], length))
    check("assignment one item per bin", len({a["bin"] for a in s["assignment"]}), n)
    u = [xor(xor(t0[b], t1[b]), c[b]) for b in range(bins)]
    check("first row", u[0].hex(), s["firstRow"])
    query = header + b"".join(u)
    check("query length", len(query), s["queryLength"])
    check("query sha256", hashlib.sha256(query).hexdigest(), s["querySha256"])

    # Pod: T^s columns are PRG(k_j^{s_j}); Q_b = T^s_b ⊕ (U_b ∧ s); tag_i(y) = Tag(b, Q_b ⊕ (C(y, i) ∧ s)).
    ks = b"".join((k1 if (choice[j >> 3] >> (j & 7)) & 1 else k0)[16 * j:16 * j + 16] for j in range(512))
    ts = rows_of([ks[16 * j:16 * j + 16] for j in range(512)], bins)
    q = [xor(ts[b], band(u[b], choice)) for b in range(bins)]
    for b in range(bins):
        if q[b] != xor(t0[b], band(c[b], choice)):
            check(f"Q_{b} = T0 ⊕ (c ∧ s)", False, True)
    lists = [[], [], []]
    for record in s["podRecords"]:
        d = digest(record)
        for i in range(3):
            b = position(rk_hk, d, i, bins)
            lists[i].append(tag(b, xor(q[b], band(code(rk_ck, d, i), choice)), length))
    reply = b"".join(b"".join(sorted(lst)) for lst in lists)
    check("reply", reply.hex(), s["reply"])
    check("matched", [own[r][1] in lists[own[r][0]] for r in s["modellerRecords"]], s["matched"])
    check("matched = common records", s["matched"], [r in s["podRecords"] for r in s["modellerRecords"]])

    if failures:
        print(f"{len(failures)} mismatches")
        return 1
    print("kkrt-v1.json: every symmetric-key step and the session's OT extension, reply and matches recomputed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
