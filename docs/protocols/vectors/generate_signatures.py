#!/usr/bin/python3
"""Generates signatures.json, the known answers for the statements a modeller signs (docs/protocols/signatures.md).

A second, independent implementation written from the document, not from the C# code: each case gives the fields, the
statement bytes (hex) and the Ed25519 signature (RFC 8032, pure) by the fixed test identity whose 32-byte seed is
SHA-256("smpc/test-vectors/modeller-identity"). Smpc.Protocols' ModellerStatements must reproduce every statement from the
fields, and the signature must verify (Ed25519 is deterministic, so it is reproduced too). Content-key and release cases
also give "signed", the federated channel's signed format 0x01 ‖ box ‖ signature (federated.md, "The modeller-to-pods
channel", step 4).

Dependencies (Debian packages only):  apt-get install -y python3-cryptography
Usage:  /usr/bin/python3 generate_signatures.py > signatures.json
"""
import base64
import hashlib
import json
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

SEED = hashlib.sha256(b"smpc/test-vectors/modeller-identity").digest()
KEY = Ed25519PrivateKey.from_private_bytes(SEED)
PUBLIC = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

SESSION_LABEL = "smpc/modeller-statement/session/v1"
CANCEL_LABEL = "smpc/modeller-statement/cancel/v1"
CONTENT_KEY_LABEL = "smpc/modeller-statement/content-key/v1"
RELEASE_LABEL = "smpc/modeller-statement/release/v1"

Q = (1 << 61) - 1          # the default field: the Mersenne prime 2^61 - 1
CHUNK = 1 << 17            # the default chunk size C
DEFAULT_PRECISION = 10_000_000_000
RSA_DEFAULT_BITS = 3072


# ---- the statement fields (signatures.md, "Encoding") ----
def blob(b):
    return struct.pack(">I", len(b)) + b


def text(s):
    return blob(s.encode("utf-8"))


def opt_text(s):
    return b"\x00" if s is None else b"\x01" + text(s)


def present(flag):
    return b"\x01" if flag else b"\x00"


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def dbl(v):
    return struct.pack(">d", 0.0 if v == 0 else float(v))


# ---- secure-aggregation canonical parameters (secure-aggregation.md, "Session parameters") ----
def str16(s):
    b = s.encode("utf-8")
    return struct.pack(">H", len(b)) + b


def bits(v):
    return struct.pack(">d", 0.0 if v == 0 else float(v))


def params(session, n, t, fields, modeller_key):
    out = b"smpc/secagg/params/v1" + str16(session) + struct.pack(">IIIQII", 0, n, t, Q, CHUNK, len(fields))
    for name, length, precision, lo, hi in fields:
        out += str16(name) + struct.pack(">IQ", length, precision) + bits(lo) + bits(hi)
    return out + modeller_key


def default_threshold(n):
    return (2 * n + 2) // 3


def wire_fields(fields, weight, n):
    """The weighted mean's wire layout: each x field as w*x at precision p_f*p_w, then the weight field."""
    if weight is None:
        return fields
    w_min, w_max, w_p = weight
    wmin = int(-(-round(w_min * w_p * 1e9) // 1_000_000_000))  # ceil, exact for the integer bounds used here
    wmax = int(w_max * w_p)
    out = []
    for name, length, p, lo, hi in fields:
        xlo, xhi = round(lo * p), round(hi * p)
        prod_lo = xlo * wmin if xlo >= 0 else xlo * wmax
        prod_hi = xhi * wmax if xhi >= 0 else xhi * wmin
        precision = p * w_p
        assert prod_lo % precision == 0 and prod_hi % precision == 0, "the vectors keep to bounds that divide exactly"
        out.append((name, length, precision, prod_lo // precision, prod_hi // precision))
    out.append(("weight", 1, w_p, w_min, w_max))
    return out


def aggregation(tenant, sid, pods, a):
    fields = [(f["name"], f["length"], f.get("precision") or DEFAULT_PRECISION, f["min"], f["max"]) for f in a["fields"]]
    weight = a.get("weight")
    w = None if weight is None else (weight["min"], weight["max"], weight.get("precision") or 1)
    n = len(pods)
    t = a.get("threshold") or default_threshold(n)
    m = base64.b64decode(a["modellerPublicKey"])
    p = params(f"{tenant}/{sid}", n, t, wire_fields(fields, w, n), m)
    out = blob(p) + text(a["operation"]) + text(a["input"]) + present(w is not None)
    if w is not None:
        out += dbl(w[0]) + dbl(w[1]) + i64(w[2])
    return out


def columns(cols):
    out = i32(len(cols))
    for c in cols:
        out += text(c["name"]) + text(c["kind"]) + opt_text(c.get("countryCode"))
    return out


def psi(p):
    protocol = p.get("protocol", "ecdh")
    key_bits = p.get("keyBits")
    effective = (key_bits or RSA_DEFAULT_BITS) if protocol == "rsa-blind" else (key_bits or 0)
    return (text(protocol) + text(p["mode"]) + columns(p["modellerColumns"]) + columns(p["podColumns"]) + text(p["source"])
            + i64(p["modellerSetSize"]) + i32(effective) + i32(p.get("timeoutSeconds", 3600)) + opt_text(p.get("version"))
            + present("countKey" in p) + (blob(base64.b64decode(p["countKey"])) if "countKey" in p else b""))


def query(q):
    out = text(q["sql"]) + text(q["source"]) + i32(len(q["groupBy"]))
    for g in q["groupBy"]:
        out += text(g["column"])
        values = g.get("values")
        out += present(values is not None)
        if values is not None:
            out += i32(len(values)) + b"".join(text(v) for v in values)
        b = g.get("bins")
        out += present(b is not None)
        if b is not None:
            out += i64(b["from"]) + i64(b["to"]) + i64(b["width"])
        d = g.get("dateBins")
        out += present(d is not None)
        if d is not None:
            out += text(d["from"]) + text(d["to"]) + text(d["unit"])
    out += i32(len(q["aggregates"]))
    for a in q["aggregates"]:
        out += text(a["name"]) + text(a["kind"]) + dbl(a.get("min", 0)) + dbl(a.get("max", 0))
        precision = a.get("precision")
        out += present(precision is not None) + (i64(precision) if precision is not None else b"")
        out += opt_text(a.get("countColumn"))
    return out + i64(q.get("minPooledCount", 0)) + i64(q.get("maxRowsPerCell", 10_000_000)) + i32(q.get("roundTimeoutSeconds", 300))


def training(t):
    out = text(t["trainer"]) + text(t["source"]) + i32(len(t["features"])) + b"".join(text(f) for f in t["features"])
    return (out + text(t["label"]) + i32(t.get("rounds", 20)) + dbl(t.get("learningRate", 0.1)) + i32(t.get("localEpochs", 5))
            + i32(t.get("batchSize", 0)) + dbl(t.get("tolerance", 1e-4)) + i32(t.get("roundTimeoutSeconds", 300))
            + dbl(t.get("parameterBound", 100)) + dbl(t.get("featureBound", 1000)) + i64(t.get("maxSamplesPerPod", 1_000_000)))


def session_statement(tenant, r):
    kind = r["kind"]
    if kind == "secure-aggregation":
        p = aggregation(tenant, r["id"], r["podIds"], r["aggregation"])
    elif kind == "psi":
        p = psi(r["psi"])
    elif kind == "query":
        p = query(r["query"])
    else:
        p = training(r["training"])
    out = text(SESSION_LABEL) + text(tenant) + text(r["id"]) + text(kind) + opt_text(r.get("parent")) + text(r["modellerId"])
    out += i32(len(r["podIds"])) + b"".join(text(p_) for p_ in r["podIds"])
    return out + blob(p)


M = bytes(range(32)).hex()
M_B64 = base64.b64encode(bytes(range(32))).decode()
PODS = ["p1", "p2", "p3"]

SESSIONS = [
    ("secure-aggregation sum, default threshold and precision", "acme", {
        "id": "s1", "modellerId": "m1", "kind": "secure-aggregation", "podIds": PODS,
        "aggregation": {"fields": [{"name": "x", "length": 3, "min": -10, "max": 10}], "operation": "sum", "modellerPublicKey": M_B64, "input": "x"}}),
    ("secure-aggregation mean, threshold 3, two fields", "acme", {
        "id": "s2", "modellerId": "m1", "kind": "secure-aggregation", "podIds": ["p3", "p1", "p2", "p4"],
        "aggregation": {"fields": [{"name": "a", "length": 2, "min": 0, "max": 1.5, "precision": 1000},
                                   {"name": "b", "length": 1, "min": -0.0, "max": 7, "precision": 1}],
                        "operation": "mean", "modellerPublicKey": M_B64, "input": "stats", "threshold": 3}}),
    ("secure-aggregation weighted mean", "acme", {
        "id": "wm", "modellerId": "m1", "kind": "secure-aggregation", "podIds": PODS,
        "aggregation": {"fields": [{"name": "theta", "length": 2, "min": -1, "max": 1, "precision": 1000}], "operation": "weighted-mean",
                        "modellerPublicKey": M_B64, "input": "theta", "weight": {"min": 1, "max": 100, "precision": 1}}}),
    ("a round of a federated session", "acme", {
        "id": "q-counts", "modellerId": "m1", "kind": "secure-aggregation", "podIds": PODS, "parent": "q",
        "aggregation": {"fields": [{"name": "counts", "length": 4, "min": 0, "max": 1000, "precision": 1}], "operation": "sum",
                        "modellerPublicKey": M_B64, "input": "counts"}}),
    ("psi ecdh intersection", "acme", {
        "id": "psi1", "modellerId": "m1", "kind": "psi", "podIds": ["bank"],
        "psi": {"mode": "intersection", "modellerColumns": [{"name": "email", "kind": "email"}], "podColumns": [{"name": "mail", "kind": "email"}],
                "source": "customers", "modellerSetSize": 5000, "version": "ecdh-oprf-v1"}}),
    ("psi ecdh cardinality, counted by the pod and sealed to the modeller's count key", "acme", {
        "id": "psi3", "modellerId": "m1", "kind": "psi", "podIds": ["bank"],
        "psi": {"mode": "cardinality", "modellerColumns": [{"name": "email", "kind": "email"}], "podColumns": [{"name": "mail", "kind": "email"}],
                "source": "customers", "modellerSetSize": 100, "version": "ecdh-oprf-v1", "countKey": M_B64}}),
    ("psi kkrt intersection (protocol and version kkrt-v1 bound as text, no key size)", "acme", {
        "id": "psi4", "modellerId": "m1", "kind": "psi", "podIds": ["bank"],
        "psi": {"protocol": "kkrt", "mode": "intersection", "modellerColumns": [{"name": "email", "kind": "email"}], "podColumns": [{"name": "mail", "kind": "email"}],
                "source": "customers", "modellerSetSize": 1048576, "timeoutSeconds": 900, "version": "kkrt-v1"}}),
    ("psi rsa-blind cardinality, default key size, a phone column", "acme", {
        "id": "psi2", "modellerId": "m1", "kind": "psi", "podIds": ["bank"],
        "psi": {"protocol": "rsa-blind", "mode": "cardinality",
                "modellerColumns": [{"name": "name", "kind": "text"}, {"name": "tel", "kind": "phone", "countryCode": "44"}],
                "podColumns": [{"name": "full_name", "kind": "text"}, {"name": "phone", "kind": "phone", "countryCode": "GB"}],
                "source": "crm", "modellerSetSize": 12, "timeoutSeconds": 600}}),
    ("federated query", "acme", {
        "id": "q", "modellerId": "m1", "kind": "query", "podIds": PODS,
        "query": {"sql": "SELECT ward, COUNT(*) AS n, AVG(los) AS los FROM stays GROUP BY ward", "source": "stays",
                  "groupBy": [{"column": "ward", "values": ["a", "b"]}, {"column": "age", "bins": {"from": 0, "to": 100, "width": 10}},
                              {"column": "day", "dateBins": {"from": "2026-01-01", "to": "2026-03-01", "unit": "month"}}],
                  "aggregates": [{"name": "n", "kind": "count"}, {"name": "los", "kind": "mean", "min": 0, "max": 365, "precision": 100, "countColumn": "n"}],
                  "minPooledCount": 5}}),
    ("federated training", "acme", {
        "id": "train", "modellerId": "m1", "kind": "training", "podIds": PODS,
        "training": {"trainer": "logistic", "source": "patients", "features": ["age", "bmi"], "label": "readmitted", "rounds": 10, "learningRate": 0.05}}),
]


def case(name, statement, fields):
    signature = KEY.sign(statement)
    return dict(name=name, **fields, statement=statement.hex(), signature=signature.hex())


def main():
    cases = []
    for name, tenant, request in SESSIONS:
        cases.append(case(name, session_statement(tenant, request), {"kind": "session", "tenant": tenant, "request": request}))
    cases.append(case("cancel with a reason", text(CANCEL_LABEL) + text("acme") + text("s1") + opt_text("wrong pods"),
                      {"kind": "cancel", "tenant": "acme", "session": "s1", "reason": "wrong pods"}))
    cases.append(case("cancel without a reason", text(CANCEL_LABEL) + text("acme") + text("s1") + opt_text(None),
                      {"kind": "cancel", "tenant": "acme", "session": "s1", "reason": None}))
    member, box = bytes(range(100, 132)), bytes(range(80))
    cases.append(case("content-key seal", text(CONTENT_KEY_LABEL) + text("acme") + text("q") + text("p2") + blob(member) + blob(hashlib.sha256(box).digest()),
                      {"kind": "content-key", "tenant": "acme", "session": "q", "pod": "p2", "memberPublicKey": member.hex(), "box": box.hex()}))
    release = b"sealed release bytes"
    cases.append(case("release", text(RELEASE_LABEL) + text("acme") + text("q") + text("pooled-counts") + blob(hashlib.sha256(release).digest()),
                      {"kind": "release", "tenant": "acme", "session": "q", "releaseName": "pooled-counts", "box": release.hex()}))
    # The signed format of the federated channel (federated.md, step 4): 0x01 ‖ box ‖ signature, as uploaded and served.
    for c in cases:
        if c["kind"] in ("content-key", "release"):
            c["signed"] = (b"\x01" + bytes.fromhex(c["box"]) + bytes.fromhex(c["signature"])).hex()
    json.dump({"description": "Statements a modeller signs (docs/protocols/signatures.md), with Ed25519 signatures by the test identity.",
               "seed": SEED.hex(), "publicKey": PUBLIC.hex(), "modellerSessionKey": M, "cases": cases}, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
