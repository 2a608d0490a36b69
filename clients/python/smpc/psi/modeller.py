"""The modeller's side of PSI (docs/protocols/psi.md, "Through the service"): encodes its rows, creates and signs the
session, checks the pod's acceptance, blinds and uploads its query, then unblinds and matches locally. Its records,
its secrets and the matching rows never leave the process; the service gets blinded elements and, if
``report_count``, the count."""

from __future__ import annotations

import base64
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import rsa as rsa_psi
from ._common import (CARDINALITY, DOUBLE_BLINDED, ECDH, ECDH_VERSION, ELEMENT_BYTES, INTERSECTION, KKRT, KKRT_VERSION,
                      POD_SET, QUERY, REPLY, RSA_BLIND, TAG_BYTES, Progress, Session, ended_text,
                      require_strictly_ascending, setup_stored, split, wait_for)
from ..errors import ProblemError
from .errors import CountWithheld, ProtocolViolation, PsiError, PsiFailed, RsaKeyRefused
from .records import Column, EncodedRecords, ReadStats, encode_rows
from .sources import RecordTable, from_data

log = logging.getLogger("smpc.psi")

ColumnsSpec = Sequence[Column | Mapping[str, Any] | tuple] | Mapping[str, Any]


def parse_columns(columns: ColumnsSpec) -> list[Column]:
    """Columns from a list (``Column``, wire dicts, ``(name, kind[, country])`` tuples, ``"name:kind[:country]"``
    strings) or a dict ``{name: kind}`` / ``{name: (kind, country)}``."""
    if isinstance(columns, Mapping):
        out = []
        for name, kind in columns.items():
            out.append(Column(name, *kind) if isinstance(kind, (tuple, list)) else Column(name, kind))
        return out
    parsed = []
    for c in columns:
        if isinstance(c, str):
            parts = c.split(":")
            if not 2 <= len(parts) <= 3:
                raise ValueError(f"column '{c}': write name:kind[:country]")
            parsed.append(Column(*parts))
        else:
            parsed.append(Column.parse(c))
    if not parsed:
        raise ValueError("PSI needs at least one column")
    return parsed


@dataclass
class PsiOutcome:
    """What the modeller learned: the count, in intersection mode the indices of its matching rows (0-based, in the
    order given), the final session, and what reading its rows skipped."""

    session: Session
    count: int | None
    matched_rows: list[int] | None
    stats: ReadStats
    withheld_below: int | None = None


def _signed(modeller: Any, statement: bytes) -> str:
    return base64.b64encode(modeller.identity.sign(statement)).decode()


def _modeller_id(modeller: Any) -> str:
    for name in ("modeller_id", "id"):
        value = getattr(modeller, name, None)
        if isinstance(value, str):
            return value
    raise TypeError("the modeller has no modeller_id")


def _cancel(modeller: Any, session_id: str, reason: str) -> None:
    from .. import statements  # noqa: PLC0415
    reason = reason[:500]
    try:
        signature = modeller.identity.sign(statements.cancel_statement(modeller.tenant, session_id, reason))
        modeller.client.cancel_session(modeller.tenant, session_id, reason, signature=signature)
    except Exception as inner:  # noqa: BLE001 - the session may have ended already; the refusal is what matters
        log.warning("could not cancel session %s: %s", session_id, inner)


def run(modeller: Any, pod: str, records: Sequence[bytes], *, columns: Sequence[Column], pod_columns: Sequence[Column],
        source: str, protocol: str = ECDH, mode: str = INTERSECTION, key_bits: int | None = None,
        timeout_seconds: int = 3600, session_id: str | None = None, report_count: bool = True,
        stats: ReadStats | None = None, progress: Any = None) -> PsiOutcome:
    """One whole PSI session over already-encoded records (``smpc.psi.records``); see :func:`psi` for the arguments."""
    report = progress if isinstance(progress, Progress) else Progress(progress)
    from .. import statements  # noqa: PLC0415

    if protocol not in (ECDH, RSA_BLIND, KKRT):
        raise ValueError(f"protocol must be '{ECDH}', '{RSA_BLIND}' or '{KKRT}'")
    if mode not in (INTERSECTION, CARDINALITY):
        raise ValueError(f"mode must be '{INTERSECTION}' or '{CARDINALITY}'")
    if len(columns) != len(pod_columns) or any(a.kind != b.kind for a, b in zip(columns, pod_columns)):
        raise ValueError("the modeller's and the pod's columns must have the same kinds, position by position")
    records = list(records)
    ecdh = protocol == ECDH
    kkrt_receiver = None
    if protocol == KKRT:
        from .kkrt import KkrtReceiver  # noqa: PLC0415
        # Digests and de-duplication first: the session declares the number of distinct records (kkrt-v1).
        kkrt_receiver = KkrtReceiver(records)
    cardinality = mode == CARDINALITY
    if ecdh:
        oversized = [i for i, r in enumerate(records) if len(r) > 0xFFFF]
        if oversized:
            raise ProtocolViolation("malformed", f"record {oversized[0]} is over the OPRF's limit of 65535 bytes")
    if ecdh and cardinality:
        # One scalar blinds every record, so a repeat would be a repeated point (refused): the count is over distinct records.
        records = list(dict.fromkeys(records))
    count_key = None
    if ecdh and cardinality:
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: PLC0415
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: PLC0415
        count_key = X25519PrivateKey.generate()
        count_public = count_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    tenant = modeller.tenant
    session_id = session_id or f"psi-{secrets.token_hex(6)}"
    spec: dict[str, Any] = {
        "protocol": protocol, "mode": mode,
        "modellerColumns": [c.to_wire() for c in columns], "podColumns": [c.to_wire() for c in pod_columns],
        "source": source, "modellerSetSize": len(records), "timeoutSeconds": timeout_seconds,
    }
    if kkrt_receiver is not None:
        spec["modellerSetSize"] = kkrt_receiver.set_size
        spec["version"] = KKRT_VERSION
    elif not ecdh:
        spec["keyBits"] = key_bits or rsa_psi.DEFAULT_BITS
    else:
        spec["version"] = ECDH_VERSION
        if count_key is not None:
            spec["countKey"] = base64.b64encode(count_public).decode()
    request: dict[str, Any] = {"id": session_id, "modellerId": _modeller_id(modeller), "kind": "psi", "podIds": [pod],
                               "psi": spec}
    own = statements.request_statement(tenant, request)
    request["modellerSignature"] = _signed(modeller, own)
    client = modeller.client
    deadline = time.monotonic() + timeout_seconds + 60

    def same(session: Session) -> None:
        # The service must store and serve exactly what was signed (a smaller key size, another count key: refused).
        if statements.served_statement(session) != own:
            raise PsiFailed("the service stores other parameters than the modeller asked for and signed", session)

    session = client.create_session(tenant, request)
    log.info("PSI session %s: %s %s with pod %s, %d records", session_id, protocol, mode, pod, len(records))
    try:
        same(session)
        session = wait_for(client, tenant, session, lambda s: bool((s.get("psi") or {}).get("accepted")),
                           "the pod to accept", deadline=deadline)
        same(session)
        psi = session["psi"]
        if psi.get("protocol") != protocol or psi.get("mode") != mode:
            raise PsiFailed("the session's protocol or mode is not the one asked for", session)
        if kkrt_receiver is not None:
            if psi.get("version") != KKRT_VERSION:
                raise ProtocolViolation("unsupported-version", f"the session speaks kkrt '{psi.get('version')}', this client '{KKRT_VERSION}'")
            if psi.get("countedByPod"):
                raise PsiFailed("kkrt cardinality is counted by the modeller (kkrt-v1); the session says the pod counts", session)
            count, matched, session = _run_kkrt(client, tenant, session, kkrt_receiver, deadline, report)
        elif not ecdh:
            count, matched, session = _run_rsa(modeller, session, records, cardinality, key_bits or rsa_psi.DEFAULT_BITS,
                                               deadline, report)
        else:
            if psi.get("version") != ECDH_VERSION:
                raise ProtocolViolation("unsupported-version", f"the session speaks '{psi.get('version')}', this client '{ECDH_VERSION}'")
            if cardinality:
                if not psi.get("countedByPod"):
                    raise PsiFailed("ecdh cardinality must be counted by the pod (ecdh-oprf-v1); the session says otherwise", session)
                return _run_ecdh_cardinality(modeller, session, records, count_key, report_count, deadline, stats, report)
            count, matched, session = _run_ecdh_intersection(client, tenant, session, records, deadline, report)
    except ProblemError as problem:
        # A refused step of a session the pod ended meanwhile (declined, timed out): report why it ended.
        try:
            current = client.get_session(tenant, session_id)
        except ProblemError:
            raise problem from None
        if ended_text(current) is not None:
            raise PsiFailed(ended_text(current) or "", current) from problem
        raise
    except PsiError as refusal:
        if isinstance(refusal, PsiFailed) and refusal.session is not None and ended_text(refusal.session) is not None:
            raise  # the session ended (declined, failed, cancelled): nothing to cancel
        reason = (f"the modeller refused the pod's key: {refusal}" if isinstance(refusal, RsaKeyRefused)
                  else f"the modeller stopped: {refusal}")
        _cancel(modeller, session_id, reason)
        raise
    finally:
        report.close()
    final = client.complete_psi(tenant, session_id, count if report_count else None)
    log.info("PSI session %s: %d of %d records are in the pod's set of %s", session_id, count, len(records),
             (final.get("psi") or {}).get("podSetSize"))
    return PsiOutcome(final, count, matched if not cardinality else None, stats or ReadStats())


def _download(client: Any, tenant: str, session_id: str, payload: str) -> bytes:
    data = client.download_psi_set(tenant, session_id, payload)
    return bytes(data)


def _match(tags: list[bytes], pod_set: bytes) -> list[int]:
    published = split(pod_set, TAG_BYTES, "the pod's set")
    require_strictly_ascending(published, "the pod's set")
    members = set(published)
    return [i for i, t in enumerate(tags) if t[:TAG_BYTES] in members]


def _run_rsa(modeller: Any, session: Session, records: list[bytes], cardinality: bool, key_bits: int,
             deadline: float, report: Progress) -> tuple[int, list[int], Session]:
    client, tenant = modeller.client, modeller.tenant
    psi = session["psi"]
    try:
        public = base64.b64decode(psi.get("publicKey") or "", validate=True)
        proof = base64.b64decode(psi["keyProof"], validate=True) if psi.get("keyProof") else None
    except (ValueError, TypeError) as ex:
        raise RsaKeyRefused("proof-malformed", f"the pod's key or proof does not parse: {ex}") from None
    # Bound to the tenant this modeller works in and the session it drives; nothing is blinded before this passes.
    certified = rsa_psi.certify(public, proof, tenant, session["id"], key_bits)  # the size this modeller signed
    rsa = rsa_psi.RsaPsiClient(certified, cardinality=cardinality)
    if records:
        client.upload_psi_set(tenant, session["id"], QUERY, report.batches("blind", records, rsa.blind))
    report("waiting for the pod's reply", 0)
    session = wait_for(client, tenant, session, lambda s: s.get("phase") == "answered", "the pod's reply", deadline=deadline)
    reply = _download(client, tenant, session["id"], REPLY) if records else b""
    tags = rsa.unblind(reply) if records else []
    matched = _match(tags, _download(client, tenant, session["id"], POD_SET))
    return len(matched), matched, session


def _run_ecdh_intersection(client: Any, tenant: str, session: Session, records: list[bytes],
                           deadline: float, report: Progress) -> tuple[int, list[int], Session]:
    from . import oprf  # noqa: PLC0415 (helper "ecdh")
    blinds: list[bytes] = []
    if records:
        def blind(batch: list[bytes]) -> bytes:
            batch_blinds, blinded = oprf.blind(batch)
            blinds.extend(batch_blinds)
            return b"".join(blinded)
        client.upload_psi_set(tenant, session["id"], QUERY, report.batches("blind", records, blind))
    report("waiting for the pod's reply", 0)
    session = wait_for(client, tenant, session, lambda s: s.get("phase") == "answered", "the pod's reply", deadline=deadline)
    tags: list[bytes] = []
    if records:
        reply = _download(client, tenant, session["id"], REPLY)
        if len(reply) != len(records) * ELEMENT_BYTES:
            raise ProtocolViolation("malformed", f"the reply has {len(reply)} bytes for {len(records)} query elements")
        try:
            tags = oprf.finalize_packed(records, blinds, reply, length=TAG_BYTES)
        except ValueError as ex:  # an invalid or identity element
            raise ProtocolViolation("invalid-element", f"the pod's reply: {ex}") from None
        finally:
            blinds.clear()
    matched = _match(tags, _download(client, tenant, session["id"], POD_SET))
    return len(matched), matched, session


def _refusing(message: str, refused: ProtocolViolation) -> ProtocolViolation:
    detail = str(refused).removeprefix(f"{refused.code}: ")
    return ProtocolViolation(refused.code, f"the modeller refused the pod's kkrt {message}: {detail}")


def _run_kkrt(client: Any, tenant: str, session: Session, receiver: Any, deadline: float,
              report: Progress) -> tuple[int, list[int], Session]:
    """kkrt-v1 (psi.md, "OT extension: KKRT16 …"): the pod's setup, the query, the three tag lists. Every row of a
    matched record is returned; the count is of distinct matching records (the unit of the declared set size, which the
    service checks), in both modes; the pod cannot withhold it."""
    from .kkrt import BASE_OTS  # noqa: PLC0415
    sid = session["id"]
    report("waiting for the pod's setup", 0)
    session = wait_for(client, tenant, session, setup_stored, "the pod's setup", deadline=deadline)
    setup = _download(client, tenant, sid, POD_SET)
    try:
        query = receiver.query(setup)
    except ProtocolViolation as refused:
        raise _refusing("setup", refused) from None
    report("base-ot", BASE_OTS, BASE_OTS)
    client.upload_psi_set(tenant, sid, QUERY, query)
    del query
    report("extend", receiver.m, receiver.m)
    report("waiting for the pod's reply", 0)
    session = wait_for(client, tenant, session, lambda s: s.get("phase") == "answered", "the pod's reply", deadline=deadline)
    reply = _download(client, tenant, sid, REPLY)
    try:
        matched = receiver.finish(reply)
    except ProtocolViolation as refused:
        raise _refusing("reply", refused) from None
    served = (session.get("psi") or {}).get("podSetSize")
    if served is not None and int(served) != receiver.pod_set_size:
        raise PsiFailed(f"the service says the pod's set has {served} records; its reply holds {receiver.pod_set_size}",
                        session)
    return receiver.matched_distinct, matched, session


def _run_ecdh_cardinality(modeller: Any, session: Session, records: list[bytes], count_key: Any, report_count: bool,
                          deadline: float, stats: ReadStats | None, report: Progress) -> PsiOutcome:
    from ..crypto import ristretto  # noqa: PLC0415 (helper "ecdh")
    from . import oprf, sealed_count  # noqa: PLC0415
    client, tenant, sid = modeller.client, modeller.tenant, session["id"]
    a = ristretto.scalar_random()
    if records:
        client.upload_psi_set(tenant, sid, QUERY,
                              report.batches("blind", records, lambda batch: oprf.hash_and_multiply_packed(a, batch)))
    session = wait_for(client, tenant, session, lambda s: (s.get("psi") or {}).get("podSetSize") is not None,
                       "the pod's set", deadline=deadline)
    pod_set = _download(client, tenant, sid, POD_SET)
    elements = split(pod_set, ELEMENT_BYTES, "the pod's set")
    require_strictly_ascending(elements, "the pod's set")
    try:
        raised = ristretto.scalarmult_packed(a, pod_set, what="pod-set element") if elements else b""
    except ValueError as ex:
        raise ProtocolViolation("invalid-element", f"the pod's set: {ex}") from None
    double = sorted(split(raised, ELEMENT_BYTES, "double-blinded"))
    if double:  # an empty pod set makes the double-blinded set stored (empty) already
        client.upload_psi_set(tenant, sid, DOUBLE_BLINDED, b"".join(double))
    session = wait_for(client, tenant, session, lambda s: s.get("phase") == "answered", "the pod's count", deadline=deadline)
    sealed_text = (session.get("psi") or {}).get("sealedCount")
    if not sealed_text:
        raise PsiFailed("The session is answered but holds no sealed count.", session)
    opened = sealed_count.open(count_key, sid, base64.b64decode(sealed_text))
    withheld, value = bool(opened.withheld), int(opened.value)
    if withheld:
        final = client.complete_psi(tenant, sid, None)
        raise CountWithheld(value, final)
    final = client.complete_psi(tenant, sid, value if report_count else None)
    return PsiOutcome(final, value, None, stats or ReadStats())


def psi(modeller: Any, pod: str, data: Any, columns: ColumnsSpec, *, protocol: str = ECDH, mode: str = INTERSECTION,
        source: str, pod_columns: ColumnsSpec | None = None, key_bits: int | None = None, timeout_seconds: int = 3600,
        session_id: str | None = None, report_count: bool = True, outcome: bool = False, progress: Any = None) -> Any:
    """Runs a PSI session of ``modeller`` with ``pod`` over ``data``.

    ``data``: a pandas DataFrame, a list of dict rows, or a CSV file path (header row). ``columns``: the columns matched
    on, with their kinds (text, case-sensitive-text, email, phone, integer; phones with a country code):
    ``["email:email", "phone:phone:44"]``, ``{"email": "email", "phone": ("phone", "44")}`` or ``Column`` objects.
    ``source``: the pod's named data source; ``pod_columns``: the pod's names for the same kinds (default: the same).
    ``protocol``: ``"ecdh"`` (RFC 9497 OPRF, fast), ``"rsa-blind"`` (``key_bits`` 2048/3072/4096) or ``"kkrt"``
    (kkrt-v1, the KKRT16 OT-extension OPRF, the fastest; the session declares the distinct records).
    ``mode``: ``"intersection"`` returns the matching rows (a DataFrame for a DataFrame, else a list of dict rows) —
    every column as given; ``"cardinality"`` returns only the count (ecdh: counted by the pod and sealed to this
    modeller; a count below the pod's minimum raises ``CountWithheld``; rsa-blind: counted here over the matching
    rows; kkrt: counted here over the distinct matching records). With ``outcome=True`` returns the
    :class:`PsiOutcome` (indices, session, skipped rows) instead. ``progress``: ``True`` for tqdm bars (python3-tqdm),
    or a callable ``(step, done, total)``.
    Rows whose key columns are blank or cannot be canonicalised are skipped and counted per reason (logged; a warning
    above 1%)."""
    cols = parse_columns(columns)
    pod_cols = parse_columns(pod_columns) if pod_columns is not None else list(cols)
    frame = None
    if isinstance(data, (str, Path)):
        from .sources import open_source  # noqa: PLC0415
        table: RecordTable = open_source({"kind": "csv", "path": str(data)})
        rows_list = [dict(zip(table.header, r)) for r in table.rows]
        data = rows_list
    if hasattr(data, "columns") and hasattr(data, "itertuples"):
        frame = data
        table = from_data(frame)
    else:
        data = list(data)
        table = from_data(data)
    encoded: EncodedRecords = encode_rows(table.select([c.name for c in cols]), cols)
    stats = encoded.stats
    if stats.skipped:
        line = (f"skipped {stats.skipped} of {stats.rows} rows by reason: {stats.summary()} "
                f"(first: {stats.first_problem or 'blank key columns'})")
        (log.warning if stats.skipped_too_many else log.info)(("WARNING: over 1% of rows skipped; " if stats.skipped_too_many else "") + line)
    result = run(modeller, pod, encoded.records, columns=cols, pod_columns=pod_cols, source=source, protocol=protocol,
                 mode=mode, key_bits=key_bits, timeout_seconds=timeout_seconds, session_id=session_id,
                 report_count=report_count, stats=stats, progress=progress)
    if result.matched_rows is not None:
        result.matched_rows = sorted({encoded.rows[i] for i in result.matched_rows})
    if outcome:
        return result
    if mode == CARDINALITY:
        return result.count
    assert result.matched_rows is not None
    if frame is not None:
        return frame.iloc[result.matched_rows]
    return [data[i] for i in result.matched_rows]
