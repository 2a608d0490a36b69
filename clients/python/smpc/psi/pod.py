"""The pod's side of one PSI session (docs/protocols/psi.md, "Through the service" and "Pod policy").

:func:`serve` applies the pod's policy (declining with a reason the modeller reads), encodes its source under a fresh
key, answers the one query — of exactly the declared size, without repeated elements, each valid, checked here whatever
the service let through — and for ecdh cardinality counts itself, sealing the count (or "withheld" below the minimum)
to the modeller's count key. Records and keys stay in this process; a fresh key per session (``setReuseHours`` is not
implemented here: a Python pod always uses a fresh key, which is the default and the safer setting).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
import itertools
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import rsa as rsa_psi
from ._common import (CARDINALITY, DOUBLE_BLINDED, ECDH, ECDH_VERSION, ELEMENT_BYTES, INTERSECTION, KKRT, KKRT_VERSION,
                      POD_SET, QUERY, REPLY, RSA_BLIND, Session, ended_text, int_field, require_strictly_ascending,
                      split, wait_for)
from .errors import ProtocolViolation, PsiError, PsiFailed
from .records import Column, ReadStats, encode_rows
from .sources import open_source

_USAGE_LOCK = threading.Lock()


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    snake = "".join("_" + c.lower() if c.isupper() else c for c in key)
    return getattr(obj, key, getattr(obj, snake, default))


@dataclass
class PsiPolicy:
    """What a pod agrees to in PSI (agent configuration ``psi``, docs/agent-config.md). Empty lists allow all."""

    modellers: list[str] = field(default_factory=list)
    protocols: list[str] = field(default_factory=lambda: [ECDH, RSA_BLIND])
    modes: list[str] = field(default_factory=lambda: [INTERSECTION, CARDINALITY])
    max_modeller_set_size: int = 1_000_000
    max_modeller_records_per_day: int = 10_000_000
    min_count: int = 0
    set_reuse_hours: float = 0

    @staticmethod
    def from_config(psi: Any) -> "PsiPolicy":
        """From the ``psi`` object of the configuration (camelCase dict or an object with snake_case attributes)."""
        if isinstance(psi, PsiPolicy):
            return psi
        p = PsiPolicy()
        for wire, attr in (("modellers", "modellers"), ("protocols", "protocols"), ("modes", "modes"),
                           ("maxModellerSetSize", "max_modeller_set_size"),
                           ("maxModellerRecordsPerDay", "max_modeller_records_per_day"),
                           ("minCount", "min_count"), ("setReuseHours", "set_reuse_hours")):
            value = _get(psi, wire)
            if value is not None:
                setattr(p, attr, list(value) if isinstance(value, (list, tuple)) else value)
        return p


def _allowed(policy: PsiPolicy, modeller: Any, session: Session) -> bool:
    if not policy.modellers:
        return True
    fingerprint = getattr(modeller, "fingerprint", None)
    mid = getattr(modeller, "id", None) if modeller is not None else None
    for entry in policy.modellers:
        if entry.startswith("sha256:"):
            if fingerprint is not None and entry == fingerprint:
                return True
        elif mid is not None and entry == mid:
            return True
    return False


def refusal(policy: PsiPolicy, session: Session, modeller: Any, sources: Mapping[str, Any]) -> str | None:
    """Why the policy refuses this session, or None (the pod agent's reasons, in its order)."""
    psi = session["psi"]
    protocol, mode = psi.get("protocol"), psi.get("mode")
    size = int_field(psi.get("modellerSetSize")) or 0
    if not _allowed(policy, modeller, session):
        return f"modeller {session.get('modellerId')} may not run PSI against this pod"
    if protocol not in policy.protocols:
        return f"protocol {protocol} is not allowed (allowed: {', '.join(policy.protocols)})"
    if mode not in policy.modes:
        return f"mode {mode} is not allowed (allowed: {', '.join(policy.modes)})"
    if protocol == KKRT and psi.get("version") != KKRT_VERSION:
        return (f"unsupported-protocol-version: the session speaks kkrt '{psi.get('version') or '(unversioned)'}', "
                f"this pod only '{KKRT_VERSION}'")
    if capacity(psi) > policy.max_modeller_set_size:
        if protocol == KKRT:
            return (f"the modeller's set of {size} records gives {capacity(psi)} kkrt bins (records it could test), "
                    f"over the pod's maximum of {policy.max_modeller_set_size} per session")
        return (f"the modeller's set of {size} records exceeds the pod's maximum of {policy.max_modeller_set_size} "
                "per session")
    if mode == CARDINALITY and policy.min_count > 0 and protocol != ECDH:
        return ("this pod withholds counts below a minimum, which only ecdh cardinality can do "
                "(rsa-blind and kkrt cardinality are counted by the modeller)")
    if protocol == ECDH and psi.get("version") != ECDH_VERSION:
        return (f"unsupported-protocol-version: the session speaks ecdh '{psi.get('version') or '(unversioned)'}', "
                f"this pod only '{ECDH_VERSION}'")
    if protocol == ECDH and mode == CARDINALITY and not psi.get("countKey"):
        return "an ecdh cardinality session needs the modeller's count key"
    if psi.get("source") not in sources:
        return f"no data source named '{psi.get('source')}'"
    return None


def capacity(psi: Mapping[str, Any]) -> int:
    """How many modeller records a session can test, which the per-session and per-day limits count: the declared set
    size, except for kkrt, where each of the m(n) = ⌈1.5·n⌉ + 256 bins carries one OPRF value."""
    size = max(0, int_field(psi.get("modellerSetSize")) or 0)
    if psi.get("protocol") == KKRT:
        from .kkrt import bins  # noqa: PLC0415
        return bins(size)
    return size


def reserve_daily(state_dir: Path, records: int, limit: int, today: str | None = None) -> bool:
    """Adds ``records`` to today's (UTC) count in ``psi-usage.json`` if it stays within ``limit``."""
    with _USAGE_LOCK:
        path = Path(state_dir) / "psi-usage.json"
        today = today or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d")
        usage = json.loads(path.read_text()) if path.exists() else {}
        used = int(usage.get(today, 0))
        if used + records > limit:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({today: used + records}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return True


class QueryGuard:
    """``PsiQueryGuard``: exactly the declared number of elements, within the pod's maximum, no two equal."""

    def __init__(self, declared: int, maximum: int, element_bytes: int) -> None:
        self.declared, self.maximum, self.element_bytes = declared, maximum, element_bytes

    def check(self, query: bytes) -> list[bytes]:
        """The query's elements, or a ProtocolViolation (policy-refused, malformed, duplicate)."""
        elements = split(query, self.element_bytes, "the query")
        if len(elements) > self.maximum:
            raise ProtocolViolation("policy-refused", f"the query exceeds the pod's maximum of {self.maximum} elements")
        if len(elements) > self.declared:
            raise ProtocolViolation("policy-refused", f"the query has more than the declared {self.declared} elements")
        if len(elements) < self.declared:
            raise ProtocolViolation("malformed", f"the query has {len(elements)} of the declared {self.declared} elements")
        if len(set(elements)) != len(elements):
            raise ProtocolViolation("duplicate", "the query repeats an element")
        return elements


def _sources(ctx: Any) -> Mapping[str, Any]:
    return _get(ctx.config, "sources", {}) or {}


def _base_dir(ctx: Any) -> Path | None:
    base = _get(ctx.config, "base_directory") or _get(ctx.config, "baseDirectory")
    return Path(base) if base else None


def _log(ctx: Any, message: str, *args: Any, warning: bool = False) -> None:
    logger = getattr(ctx, "log", None)
    if logger is not None:
        (logger.warning if warning else logger.info)(message, *args)


def _decline(ctx: Any, session: Session, reason: str) -> Session:
    _log(ctx, "session %s: declined (%s)", session["id"], reason)
    return ctx.client.decline_psi(ctx.tenant, session["id"], reason[:500])


def serve(ctx: Any, session: Session, modeller: Any) -> Session:
    """Runs the pod's end of one PSI session (``ctx``: ``smpc.pod.context.PodContext``; ``modeller``: the
    ``VerifiedModeller`` whose signature of the session verified). Returns the session as the pod left it.

    What the pod refuses — its policy, a query that breaks the protocol (size, repeats, invalid elements), an unusable
    count key — it declines itself, naming the reason, and returns the failed session. Anything else (the source cannot
    be read, the service fails, a copy of the session no longer verifies) is raised for the caller (the pod runner),
    which declines naming only the kind of failure."""
    try:
        return _serve(ctx, session, modeller)
    except ProtocolViolation as violation:
        _log(ctx, "session %s: refused the modeller's message (%s)", session["id"], violation, warning=True)
        return _decline(ctx, session, f"the pod refused the modeller's message: {violation}")
    except PsiFailed as ended:
        if ended.session is not None and ended_text(ended.session) is not None:
            _log(ctx, "session %s: ended before the pod's part was done: %s", session["id"], ended)
            return ended.session  # cancelled, failed or timed out meanwhile: nothing to decline
        raise


def _serve(ctx: Any, session: Session, modeller: Any) -> Session:
    from .. import statements  # noqa: PLC0415
    psi = session.get("psi")
    if psi is None:
        raise ValueError("not a PSI session")
    if session.get("phase") != "awaiting-pod":
        if session.get("phase") == "exchange":
            return _decline(ctx, session, "the pod agent restarted mid-session and the session's key is gone; "
                                          "start a new session")
        return session
    verify = getattr(ctx, "verify", None)
    if callable(verify):
        unchanged = verify  # the pod runner's verifier: every later copy must give the statement that verified
    else:
        verified = statements.served_statement(session)

        def unchanged(copy: Session) -> None:
            # Every copy acted on must give the statement that verified, byte for byte.
            if statements.served_statement(copy) != verified:
                raise PsiFailed("the modeller's signature of the session is not valid for this pod (changed)", copy)

    policy = PsiPolicy.from_config(_get(ctx.config, "psi", {}))
    sources = _sources(ctx)
    why = refusal(policy, session, modeller, sources)
    if why is not None:
        return _decline(ctx, session, why)
    if policy.set_reuse_hours:
        _log(ctx, "session %s: setReuseHours is not implemented by the Python pod; this session gets a fresh key "
                  "(the safer default)", session["id"])
    size = int_field(psi.get("modellerSetSize")) or 0
    if not reserve_daily(Path(ctx.state_dir), capacity(psi), policy.max_modeller_records_per_day):
        return _decline(ctx, session, f"the pod's daily limit of {policy.max_modeller_records_per_day} modeller "
                                      "records would be exceeded")
    protocol, mode = psi["protocol"], psi["mode"]
    cardinality = mode == CARDINALITY
    ecdh = protocol == ECDH
    counted_by_pod = ecdh and cardinality
    tenant, sid, client = ctx.tenant, session["id"], ctx.client
    maximum = policy.max_modeller_set_size

    # The source and the pod's columns, before accepting: a pod that cannot read them declines, naming only the kind of
    # fault (the details stay in its log).
    try:
        pod_columns = [Column.parse(c) for c in psi["podColumns"]]
        table = open_source(sources[psi["source"]], _base_dir(ctx))
        rows = table.select([c.name for c in pod_columns])
        first = next(rows, None)  # a missing column shows here
    except (ValueError, OSError, KeyError, sqlite3.Error) as ex:
        _log(ctx, "session %s: cannot read source '%s' for the pod's columns: %s", sid, psi["source"], ex, warning=True)
        return _decline(ctx, session, f"the pod cannot read its data source '{psi['source']}' with the session's columns "
                                      f"({type(ex).__name__})")
    rows = itertools.chain([] if first is None else [first], rows)

    if protocol == KKRT:
        return _serve_kkrt(ctx, session, rows, pod_columns, size, unchanged)

    rsa_server = None
    sk = None
    if ecdh:
        from . import oprf  # noqa: PLC0415 (helper "ecdh")
        sk = oprf.generate_key()
        accept = {"countedByPod": counted_by_pod, "version": ECDH_VERSION}
        element_bytes = ELEMENT_BYTES
    else:
        bits = int_field(psi.get("keyBits")) or rsa_psi.DEFAULT_BITS
        rsa_server = rsa_psi.RsaPsiServer(rsa_psi.RsaPrivateKey.generate(bits), cardinality=cardinality,
                                          max_query_size=maximum)
        # The modeller blinds nothing until this proof (e-th roots of challenges bound to this session) verifies.
        accept = {"publicKey": base64.b64encode(rsa_server.public_key_bytes()).decode(), "countedByPod": False,
                  "keyProof": base64.b64encode(rsa_server.prove(tenant, sid)).decode()}
        element_bytes = rsa_server.element_bytes
    session = client.accept_psi(tenant, sid, accept)
    _log(ctx, "session %s: pod %s accepted (%s %s, modeller set %d, source '%s')", sid, ctx.pod, protocol, mode, size,
         psi["source"])

    # The pod's set: encoded, sorted strictly ascending (sorted is shuffled; it also removes repeats).
    encoded = encode_rows(rows, pod_columns)
    _log_stats(ctx, sid, encoded.stats, len(encoded.records))
    if ecdh:
        from . import oprf  # noqa: PLC0415
        if counted_by_pod:
            packed = oprf.hash_and_multiply_packed(sk, encoded.records) if encoded.records else b""
            published = sorted(set(split(packed, ELEMENT_BYTES, "the pod's set")))
        else:
            published = sorted(set(oprf.evaluate(sk, encoded.records, length=ELEMENT_BYTES))) if encoded.records else []
    else:
        assert rsa_server is not None
        published = rsa_server.encode_set(encoded.records)
    client.upload_psi_set(tenant, sid, POD_SET, b"".join(published))
    _log(ctx, "session %s: published %d distinct encoded records of %d rows", sid, len(published), encoded.stats.rows)

    session = wait_for(client, tenant, session, lambda s: bool((s.get("psi") or {}).get("queryStored")),
                       "the modeller's query", on_copy=unchanged, stop=getattr(ctx, "stop_event", None))
    guard = QueryGuard(size, maximum, element_bytes)
    if counted_by_pod:
        return _count(ctx, session, guard, sk, published, policy, unchanged)
    if size == 0:
        return session
    query = bytes(client.download_psi_set(tenant, sid, QUERY))
    guard.check(query)
    if ecdh:
        from . import oprf  # noqa: PLC0415
        try:
            reply = oprf.blind_evaluate_packed(sk, query)
        except ValueError as ex:
            raise ProtocolViolation("invalid-element", f"the query: {ex}") from None
        if cardinality:  # (not reached: ecdh cardinality is pod-counted)
            reply = b"".join(sorted(split(reply, ELEMENT_BYTES, "reply")))
    else:
        assert rsa_server is not None
        reply = rsa_server.answer(query, size)
    session = client.upload_psi_set(tenant, sid, REPLY, reply) or session
    _log(ctx, "session %s: answered %d query elements", sid, size)
    return session


def _log_stats(ctx: Any, sid: str, stats: ReadStats, encoded: int) -> None:
    if stats.skipped:
        _log(ctx, "%ssession %s: encoded %d records of %d; skipped %d by reason: %s (first: %s)",
             "WARNING: over 1% of rows skipped; " if stats.skipped_too_many else "", sid, encoded, stats.rows,
             stats.skipped, stats.summary(), stats.first_problem or "blank key columns",
             warning=stats.skipped_too_many)


def _count(ctx: Any, session: Session, guard: QueryGuard, sk: bytes, published: list[bytes], policy: PsiPolicy,
           unchanged: Any) -> Session:
    """ecdh cardinality, counted by the pod: keep k*A_i, count them in D, seal the outcome to the count key."""
    from ..crypto import ristretto  # noqa: PLC0415 (helper "ecdh")
    from . import sealed_count  # noqa: PLC0415
    client, tenant, sid = ctx.client, ctx.tenant, session["id"]
    size = guard.declared
    answers: set[bytes] = set()
    if size:
        query = bytes(client.download_psi_set(tenant, sid, QUERY))
        guard.check(query)
        try:
            answers = set(split(ristretto.scalarmult_packed(sk, query, what="query element"), ELEMENT_BYTES, "answers"))
        except ValueError as ex:
            raise ProtocolViolation("invalid-element", f"the query: {ex}") from None
    session = wait_for(client, tenant, session, lambda s: bool((s.get("psi") or {}).get("doubleBlindedStored")),
                       "the modeller's double-blinded set", on_copy=unchanged,
                       stop=getattr(ctx, "stop_event", None))
    double = bytes(client.download_psi_set(tenant, sid, DOUBLE_BLINDED))
    d = split(double, ELEMENT_BYTES, "the double-blinded set")
    if len(d) != len(published):
        raise ProtocolViolation("malformed", f"the double-blinded set has {len(d)} elements, the pod published {len(published)}")
    require_strictly_ascending(d, "the double-blinded set")
    if d and not all(ristretto.is_valid_element(e) for e in d):
        raise ProtocolViolation("invalid-element", "the double-blinded set holds an invalid or identity element")
    count = sum(1 for e in d if e in answers)  # each element of D matches at most one answer (D has no repeats)
    withheld = count < policy.min_count
    try:
        count_key = base64.b64decode(session["psi"]["countKey"], validate=True)
        sealed = sealed_count.seal(count_key, count, sid, min_count=policy.min_count)
    except (ValueError, TypeError, PsiError) as ex:
        return _decline(ctx, session, f"the modeller's count key is unusable ({ex})")
    _log(ctx, "session %s: counted the intersection; reporting it sealed to the modeller%s", sid,
         " (withheld: below the minimum)" if withheld else "")
    return client.report_psi_count(tenant, sid, sealed_count=sealed)


def _serve_kkrt(ctx: Any, session: Session, rows: Any, pod_columns: list[Column], size: int, unchanged: Any) -> Session:
    """kkrt-v1, the OPRF sender (psi.md, "OT extension: KKRT16 …"): accept, upload the setup (a fresh code key and base-OT
    messages, whatever ``setReuseHours`` says), answer the one query with the three sorted tag lists over the distinct
    records. A query the protocol refuses is declined naming the step and the kind of fault."""
    from .kkrt import KkrtSender  # noqa: PLC0415
    client, tenant, sid = ctx.client, ctx.tenant, session["id"]
    psi = session["psi"]
    sender = KkrtSender([], size)
    setup = sender.setup()
    session = client.accept_psi(tenant, sid, {"version": KKRT_VERSION, "countedByPod": False})
    _log(ctx, "session %s: pod %s accepted (kkrt %s, modeller set %d, %d bins, source '%s')", sid, ctx.pod, psi["mode"],
         size, sender.m, psi["source"])
    session = client.upload_psi_set(tenant, sid, POD_SET, setup) or session
    # The source is read while the modeller builds its query.
    encoded = encode_rows(rows, pod_columns)
    _log_stats(ctx, sid, encoded.stats, len(encoded.records))
    sender.set_records(encoded.records)
    del encoded
    session = wait_for(client, tenant, session, lambda s: bool((s.get("psi") or {}).get("queryStored")),
                       "the modeller's query", on_copy=unchanged, stop=getattr(ctx, "stop_event", None))
    query = bytes(client.download_psi_set(tenant, sid, QUERY))
    try:
        reply = sender.reply(query)
    except ProtocolViolation as refused:
        detail = str(refused).removeprefix(f"{refused.code}: ")
        return _decline(ctx, session, f"the pod refused the modeller's query ({refused.code}): {detail}")
    del query
    session = client.upload_psi_set(tenant, sid, REPLY, reply) or session
    _log(ctx, "session %s: answered with %d distinct records (%d bytes of tags)", sid, sender.set_size, len(reply))
    return session
