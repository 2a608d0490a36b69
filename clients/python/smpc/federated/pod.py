"""A pod's part in federated query and training sessions (docs/protocols/federated.md), as the .NET agent plays it.

``serve(ctx, session, modeller)`` is the pod runner's handler (``smpc.pod``) for a ``query`` or ``training`` session and
for each of its rounds; ``modeller`` is the modeller whose signature verified against its pin.

1. **Prepare under policy** (the parent). A query runs once on the named source (``smpc.federated.query.run_query``);
   training loads its rows (``smpc.federated.training.load_training_data``) or takes the pod's FitClient named by the
   trainer ``fit:<name>`` (``PodConfig.fit_clients``, see ``smpc.federated.fit``). A refusal declines the session with
   its reason; nothing else is sent.
2. **Join** (the parent). A member key (X25519) is kept owner-only in the state directory (``<session>.member``, so a
   restarted pod resumes) and published signed with the pod's identity; the handler then stays until the session ends
   and deletes the member key and the round ledger.
3. **Rounds.** The runner verifies each round (signed by the parent's modeller, the parent unchanged, the differencing
   guard) and hands it here: the label is claimed in the round ledger (``<session>.rounds``: answered once), the
   round's pods and fields are checked against the declared shape, the release is read (its seal and signature checked
   against the verified modeller key before anything is opened), and the vector goes to ``smpc.secagg.pod.run_party``.
   A refusal declines the parent with its reason, and the pod sends nothing more for the session.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from . import channel as ch
from . import fit as fitmod
from . import query as q
from . import training as tr

UNVERIFIED_MODELLER = "unverified-modeller"
FIT_TRAINER_PREFIX = "fit:"
LONG_POLL_SECONDS = 10

_joins: dict[tuple[str, str, str], "_Join"] = {}
_joins_lock = threading.Lock()


class FederatedRefusal(Exception):
    """The pod refuses (a round, a release, the request): the message is the reason the parent is declined with."""


# --- state files --------------------------------------------------------------------------------------------------

def _write_private(path: Path, data: bytes) -> None:
    """Owner-only, durable: temporary file, fsync, rename, directory fsync."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _wipe(path: Path) -> None:
    """Overwrites a state file with zeros, then deletes it (and a leftover .tmp)."""
    for p in (path, path.with_suffix(path.suffix + ".tmp")):
        try:
            size = p.stat().st_size
            with open(p, "r+b") as f:
                f.write(b"\x00" * size)
                f.flush()
                os.fsync(f.fileno())
            p.unlink()
        except FileNotFoundError:
            pass


def discard(state_dir: Path, session_id: str) -> None:
    """Deletes what a pod kept for a federated session (member key, round ledger)."""
    for suffix in (".member", ".rounds"):
        _wipe(Path(state_dir) / (session_id + suffix))


class PodChannel:
    """The pod's end of the channel: its member key, the content key sealed to it, and the releases it opens."""

    def __init__(self, ctx: Any, session_id: str, modeller_key: bytes) -> None:
        if len(modeller_key) != 32:
            raise FederatedRefusal(f"{UNVERIFIED_MODELLER}: no verified identity key of the modeller to check its content key and releases against")
        self.ctx, self.session_id, self.modeller_key = ctx, session_id, bytes(modeller_key)
        self.path = Path(ctx.state_dir) / (session_id + ".member")
        self.ledger_path = Path(ctx.state_dir) / (session_id + ".rounds")
        stored = self.path.read_bytes() if self.path.exists() else b""
        if len(stored) == 32:
            self._private = stored
        else:
            key = X25519PrivateKey.generate()
            self._private = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
            _write_private(self.path, self._private)
        self.public = X25519PrivateKey.from_private_bytes(self._private).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._content_key: bytes | None = None
        self._lock = threading.Lock()

    def publish(self) -> None:
        """Publishes the member key signed with the pod's identity (idempotent)."""
        signature = ch.sign_member_key(self.ctx.identity.sign, self.ctx.tenant, self.session_id, self.ctx.pod, self.public)
        self.ctx.client.put_member_key(self.ctx.tenant, self.session_id, self.ctx.pod, self.public, signature)

    def read_release(self, name: str) -> Any:
        """Release ``name`` decoded (JSON); the seal and the release must carry the verified modeller's signature."""
        tenant, pod = self.ctx.tenant, self.ctx.pod
        try:
            if self._content_key is None:
                session = self.ctx.client.get_session(tenant, self.session_id)
                encoded = ((session.get("federated") or {}).get("sealedKeys") or {}).get(pod)
                if encoded is None:
                    raise FederatedRefusal(f"session {self.session_id} has no content key sealed to pod {pod} yet")
                import base64

                box = ch.verify_content_key_seal(self.modeller_key, base64.b64decode(encoded), tenant, self.session_id, pod, self.public)
                self._content_key = ch.open_content_key(self._private, box, tenant, self.session_id, pod)
            signed = self.ctx.client.download_release(tenant, self.session_id, name)
            box = ch.verify_release(self.modeller_key, signed, tenant, self.session_id, name)
        except (ch.MalformedError, ch.BadSignatureError, ValueError) as e:
            raise FederatedRefusal(f"{UNVERIFIED_MODELLER}: {_reason(e)}") from e
        except ch.ChannelError as e:  # the content key does not open (or a low-order key): not the modeller's
            raise FederatedRefusal(f"{UNVERIFIED_MODELLER}: {_reason(e)}") from e
        try:
            return ch.decode_release(ch.open_release(self._content_key, tenant, self.session_id, name, box))
        except (ch.ChannelError, ValueError) as e:
            raise FederatedRefusal(_reason(e)) from e

    def rounds(self) -> dict[str, str]:
        """The rounds this pod answered: label → round session id."""
        return json.loads(self.ledger_path.read_text()) if self.ledger_path.exists() else {}

    def claim_round(self, label: str, round_session: str) -> bool:
        """Records that ``label`` runs as ``round_session``; False when the label already ran as another session."""
        with self._lock:
            ledger = self.rounds()
            if label in ledger:
                return ledger[label] == round_session
            ledger[label] = round_session
            _write_private(self.ledger_path, json.dumps(ledger).encode())
            return True

    def forget(self) -> None:
        """Deletes the member key and the ledger once the session has ended."""
        _wipe(self.path)
        _wipe(self.ledger_path)


def _reason(e: Exception) -> str:
    """A refusal's text as the .NET agent words it: the message without the protocol error's code prefix."""
    text, code = str(e), getattr(e, "code", None)
    return text[len(code) + 2:] if code and text.startswith(f"{code}: ") else text


# --- checks shared by both kinds ----------------------------------------------------------------------------------

def require_pods(round_session: Mapping[str, Any], expected: Any) -> None:
    """The round must run over exactly ``expected`` (the parent's pods, or the pods a previous round included)."""
    if set(round_session.get("podIds") or []) != set(expected):
        label = (round_session.get("aggregation") or {}).get("input")
        raise FederatedRefusal(f"round '{label}' runs over pods {', '.join(round_session.get('podIds') or [])}, not the ones it must")


def require_fields(round_session: Mapping[str, Any], expected: list[dict[str, Any]]) -> None:
    """The round must ask for exactly the declared shape's fields (names, lengths, bounds, precision) and a sum."""
    agg = round_session.get("aggregation") or {}
    actual = agg.get("fields") or []
    same = len(actual) == len(expected) and all(
        a.get("name") == e["name"] and int(a.get("length", -1)) == e["length"] and float(a.get("min")) == e["min"]
        and float(a.get("max")) == e["max"] and int(a.get("precision") or 0) == int(e.get("precision") or 0)
        for a, e in zip(actual, expected))
    if not same or agg.get("operation") != "sum":
        raise FederatedRefusal(f"round '{agg.get('input')}' asks for fields other than the declared shape produces")


def _policy_allows_modeller(modeller: Any, entries: list[str]) -> bool:
    if hasattr(modeller, "is_allowed_by"):
        return bool(modeller.is_allowed_by(entries))
    return not entries or getattr(modeller, "id", None) in entries


def _source(ctx: Any, name: str) -> Any:
    """The pod's source ``name`` as run_query / load_training_data take it (DataFrame or {kind, path, table, query})."""
    sources = getattr(ctx.config, "sources", None) or {}
    if name not in sources:
        raise FederatedRefusal(f"no data source named '{name}'")
    s = sources[name]
    if getattr(s, "kind", None) == "dataframe":
        return s.dataframe
    if hasattr(s, "kind"):
        path = s.path
        if path is not None and hasattr(ctx.config, "resolve"):
            path = str(ctx.config.resolve(path))
        return {"kind": s.kind, "path": path, "table": s.table, "query": s.query, "delimiter": s.delimiter}
    return s


def _policy(obj: Any, cls: Any) -> Any:
    if isinstance(obj, cls):
        return obj
    if isinstance(obj, Mapping):
        return cls.from_config(obj)
    if obj is None:
        return cls()
    return cls(**{f: getattr(obj, f) for f in cls.__dataclass_fields__ if hasattr(obj, f)})


# --- drivers ------------------------------------------------------------------------------------------------------

class _QueryDriver:
    def prepare(self, ctx: Any, session: Mapping[str, Any], modeller: Any) -> None:
        spec = (session.get("federated") or {}).get("query")
        if not spec:
            raise FederatedRefusal("not a query session")
        policy = _policy(getattr(ctx.config, "query", None), q.QueryPolicy)
        if not _policy_allows_modeller(modeller, policy.modellers):
            raise FederatedRefusal(f"modeller {session.get('modellerId')} may not query this pod")
        source_name = q._get(spec, "source")
        source = _source(ctx, source_name)
        try:
            self.shape = q.QueryShape.create(spec, policy.max_cells)
            started = time.monotonic()
            self.result = q.run_query(self.shape, source_name, source, policy, getattr(ctx.config, "base_directory", "."))
        except q.QuerySpecError as e:
            raise FederatedRefusal(str(e)) from e
        except q.QueryRefused as e:
            if e.detail != e.reason:
                ctx.log.info("session %s: refused: %s", session["id"], e.detail)
            raise FederatedRefusal(e.reason) from e
        except (OSError, ValueError) as e:
            ctx.log.warning("session %s: source '%s' failed: %s", session["id"], source_name, e)
            raise FederatedRefusal(f"the pod's source '{source_name}' cannot be read") from e
        ctx.log.info("session %s: query ran in %.1f s (%d result rows, %d cells, %d suppressed)", session["id"],
                     time.monotonic() - started, self.result.rows_returned, self.shape.cell_count, int(self.result.suppressed.sum()))
        self.min_pooled = self.shape.min_pooled_count

    def input(self, ctx: Any, round_session: Mapping[str, Any], parent: Mapping[str, Any], channel: PodChannel) -> np.ndarray:
        label = round_session["aggregation"]["input"]
        if label == "counts":
            require_pods(round_session, parent["podIds"])
            require_fields(round_session, self.shape.count_round_fields())
            return q.count_round_input(self.result)
        if label == "values":
            require_pods(round_session, _included_in(ctx, parent, "counts"))
            release = channel.read_release("counts")
            refusal = q.release_refusal(self.shape, release, self.result, self.min_pooled)
            if refusal is not None:
                raise FederatedRefusal(refusal)
            released = list(q._get(release, "releasedCells"))
            require_fields(round_session, self.shape.value_round_fields(len(released)))
            return q.value_round_input(self.result, released)
        raise FederatedRefusal(f"a query has no round '{label}'")


def _included_in(ctx: Any, parent: Mapping[str, Any], label: str) -> list[str]:
    ran = next((r for r in (parent.get("federated") or {}).get("rounds") or [] if r.get("round") == label), None)
    if ran is None:
        raise FederatedRefusal(f"round '{label}' has not run")
    s = ctx.client.get_session(ctx.tenant, ran["sessionId"])
    included = (s.get("aggregation") or {}).get("included")
    if s.get("phase") != "completed" or included is None:
        raise FederatedRefusal(f"round '{label}' has not completed")
    return [s["podIds"][p - 1] for p in included]


class _TrainingDriver:
    def prepare(self, ctx: Any, session: Mapping[str, Any], modeller: Any) -> None:
        wire = (session.get("federated") or {}).get("training")
        if not wire:
            raise FederatedRefusal("not a training session")
        spec = tr.TrainingSpec.from_wire(wire)
        policy = _policy(getattr(ctx.config, "training", None), tr.TrainingPolicy)
        if not _policy_allows_modeller(modeller, policy.modellers):
            raise FederatedRefusal(f"modeller {session.get('modellerId')} ({getattr(modeller, 'fingerprint', '?')}) may not train on this pod")
        self.spec = spec
        self.fit_client: fitmod.FitClient | None = None
        problem = tr.problem(spec)
        if problem is not None:
            raise FederatedRefusal(problem)
        if spec.trainer.startswith(FIT_TRAINER_PREFIX):
            name = spec.trainer[len(FIT_TRAINER_PREFIX):]
            clients = getattr(ctx.config, "fit_clients", None) or {}
            if name not in clients:
                raise FederatedRefusal(f"this pod serves no FitClient '{name}'")
            # Configuring the FitClient is the pod's consent to serve it: no entry in training.trainers is needed.
            if spec.rounds > policy.max_rounds:
                raise FederatedRefusal(f"{spec.rounds} rounds exceed the pod's maximum of {policy.max_rounds}")
            client = _fit_client(clients[name], name)
            if list(spec.features) != client.layout.describe():
                raise FederatedRefusal(f"the request's model layout is not that of this pod's FitClient '{name}'")
            self.fit_client = client
            ctx.log.info("session %s: serving FitClient '%s' (%d parameters)", session["id"], name, client.layout.size)
            return
        refusal = policy.refusal(spec)  # as the .NET agent: the policy before the trainer and the source
        if refusal is not None:
            raise FederatedRefusal(refusal)
        trainer = tr.BUILTIN_TRAINERS.get(spec.trainer)
        if trainer is None:
            raise FederatedRefusal(f"this agent has no trainer '{spec.trainer}'")
        source = _source(ctx, spec.source)
        try:
            self.X, self.y = tr.load_training_data(spec, source, policy, trainer, getattr(ctx.config, "base_directory", "."))
        except tr.TrainingRefused as e:
            raise FederatedRefusal(str(e)) from e
        except (OSError, ValueError) as e:
            ctx.log.warning("session %s: source '%s' failed: %s", session["id"], spec.source, e)
            raise FederatedRefusal(f"the pod's source '{spec.source}' cannot be read") from e
        self.trainer = trainer
        self._standardised: tuple[list[float], list[float], np.ndarray] | None = None
        ctx.log.info("session %s: %d rows of %d features loaded for %s training", session["id"], *self.X.shape, spec.trainer)

    def input(self, ctx: Any, round_session: Mapping[str, Any], parent: Mapping[str, Any], channel: PodChannel) -> np.ndarray:
        spec = self.spec
        label = round_session["aggregation"]["input"]
        require_pods(round_session, parent["podIds"])  # every round over all of the session's pods
        if label == tr.STANDARDISE_ROUND and self.fit_client is None:
            require_fields(round_session, tr.standardisation_fields(spec))
            return tr.standardisation_input(self.X)
        try:
            number = tr.round_number(label, spec.rounds)
        except tr.TrainingRefused as e:
            raise FederatedRefusal(str(e)) from e
        earlier = [tr.round_number(l, 10**9) for l in channel.rounds() if l != label and tr.ROUND_LABEL.match(l)]
        if earlier and number <= max(earlier):
            raise FederatedRefusal(f"round {number} comes after round {max(earlier)}")
        release = channel.read_release(label)
        if int(q._get(release, "round", -1)) != number:
            raise FederatedRefusal(f"release '{label}' is for round {q._get(release, 'round')}")
        theta = np.asarray(q._get(release, "theta") or [], dtype=np.float64)
        try:
            if self.fit_client is not None:
                return self._fit_client_input(round_session, theta, number)
            require_fields(round_session, tr.fedavg_fields(spec, self.trainer.parameter_count(self.X.shape[1])))
            mean, std = list(q._get(release, "mean") or []), list(q._get(release, "std") or [])
            if self._standardised is None or self._standardised[0] != mean or self._standardised[1] != std:
                self._standardised = (mean, std, tr.standardise(self.X, mean, std))
            return tr.pod_update(self.trainer, theta, self._standardised[2], self.y, spec, number).input
        except tr.TrainingRefused as e:
            raise FederatedRefusal(str(e)) from e

    def _fit_client_input(self, round_session: Mapping[str, Any], theta: np.ndarray, number: int) -> np.ndarray:
        spec, client = self.spec, self.fit_client
        assert client is not None
        require_fields(round_session, tr.fedavg_fields(spec, client.layout.size))
        if theta.shape != (client.layout.size,):
            raise FederatedRefusal(f"round {number}: the broadcast has {theta.size} parameters; the FitClient has {client.layout.size}")
        tr._check_parameters(theta, spec.parameter_bound, f"round {number}: the broadcast parameters")
        try:
            local, n, loss, _metrics = fitmod.local_round(client, theta)
        except fitmod.FitClientError as e:
            raise FederatedRefusal(f"round {number}: {e}") from e
        if n > spec.max_samples_per_pod:
            raise FederatedRefusal(f"the pod has more than MaxSamplesPerPod = {spec.max_samples_per_pod} examples")
        tr.check_loss(loss, spec, number)
        tr._check_parameters(local, spec.parameter_bound, f"round {number}: the locally trained parameters")
        return np.concatenate([n * local, [float(n), n * loss]])


def _fit_client(entry: Any, name: str) -> fitmod.FitClient:
    """A configured FitClient: the object itself, or ``"package.module:attribute"`` naming one (or a factory of one)."""
    if isinstance(entry, str):
        import importlib

        module, _, attribute = entry.partition(":")
        try:
            entry = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError, ValueError) as e:
            raise FederatedRefusal(f"this pod's FitClient '{name}' cannot be loaded") from e
        if callable(entry) and not isinstance(entry, fitmod.FitClient):
            entry = entry()
    if not isinstance(entry, fitmod.FitClient) and not (hasattr(entry, "fit") and hasattr(entry, "layout")):
        raise FederatedRefusal(f"this pod's FitClient '{name}' is not a FitClient")
    return entry


@dataclass
class _Join:
    """A pod's part in one federated session, shared by the session's handler and its rounds' handlers."""

    session_id: str
    kind: str
    modeller: Any
    driver: Any = None
    channel: PodChannel | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    refused: str | None = None  # set once the pod declined: it sends nothing more for the session
    lock: threading.Lock = field(default_factory=threading.Lock)


_joins: dict[tuple[str, str, str], _Join] = {}
_joins_changed = threading.Condition()


# --- the handler --------------------------------------------------------------------------------------------------

def _decline(ctx: Any, session_id: str, reason: str) -> None:
    text = reason if len(reason) <= 500 else reason[:497] + "..."
    try:
        ctx.client.decline_federated(ctx.tenant, session_id, text)
    except Exception as e:  # already ended (409), or unreachable: its deadline ends it
        ctx.log.info("session %s: decline not recorded (%s)", session_id, e)


def _stopping(ctx: Any) -> bool:
    ev = getattr(ctx, "stop_event", None)
    return bool(ev is not None and ev.is_set())


def _run_party(ctx: Any, round_session: Mapping[str, Any], modeller: Any, values: np.ndarray) -> Any:
    from ..secagg.pod import run_party

    return run_party(ctx, round_session, modeller, values, None)


def serve(ctx: Any, session: Mapping[str, Any], modeller: Any, *, run_party: Callable[..., Any] | None = None) -> Any:
    """The pod runner's handler for a federated session and for each of its rounds (see the module's steps).

    For the parent (kind ``query`` or ``training``): prepares under policy, joins, and stays until the session ends.
    For a round (a secure-aggregation session with a ``parent``; the runner has verified it, its parent and the
    differencing guard): checks it against the declared shape and contributes through ``run_party`` (default
    ``smpc.secagg.pod.run_party``). A refusal declines the parent with its reason; nothing more is sent for it.
    """
    if session.get("parent"):
        return _serve_round(ctx, session, modeller, run_party or _run_party)
    return _serve_parent(ctx, session, modeller)


def _serve_parent(ctx: Any, session: Mapping[str, Any], modeller: Any) -> Any:
    sid = session["id"]
    if session.get("phase") != "running":
        discard(Path(ctx.state_dir), sid)
        return None
    kind = session.get("kind")
    key = (ctx.tenant, ctx.pod, sid)
    join = _Join(sid, str(kind), modeller)
    with _joins_changed:
        if key in _joins:
            ctx.log.info("session %s: already taking part", sid)
            return None
        _joins[key] = join
        _joins_changed.notify_all()
    try:
        driver = _QueryDriver() if kind == "query" else _TrainingDriver() if kind == "training" else None
        if driver is None:
            raise FederatedRefusal(f"session {sid} is of kind {kind}, not query or training")
        try:
            driver.prepare(ctx, session, modeller)
            channel = PodChannel(ctx, sid, getattr(modeller, "identity_key", b""))
        except FederatedRefusal as e:
            ctx.log.warning("session %s: declined (%s)", sid, e)
            join.refused = str(e)
            _decline(ctx, sid, str(e))
            discard(Path(ctx.state_dir), sid)
            return None
        join.driver, join.channel = driver, channel
        channel.publish()
        join.ready.set()
        ctx.log.info("session %s: joined (%s for modeller %s)", sid, kind, session.get("modellerId"))
        current = ctx.client.get_session(ctx.tenant, sid)
        while current.get("phase") == "running" and not _stopping(ctx) and join.refused is None:
            current = ctx.client.get_session(ctx.tenant, sid, wait_for_version=current["version"], wait_seconds=LONG_POLL_SECONDS)
            if hasattr(ctx, "verify") and current.get("phase") == "running":
                ctx.verify(current)  # every later copy must give the statement that verified
        if _stopping(ctx):
            return None  # the pod stops, not the session: the member key stays so that a restarted pod resumes
        while current.get("phase") == "running":  # refused: the decline ends it; wait (bounded) to see it end
            current = ctx.client.get_session(ctx.tenant, sid, wait_for_version=current["version"], wait_seconds=LONG_POLL_SECONDS)
            if join.refused is not None:
                break
        reason = (current.get("federated") or {}).get("failureReason")
        ctx.log.info("session %s: %s%s", sid, current.get("phase"), f" ({reason})" if reason else "")
        channel.forget()
        return current
    except Exception:
        if not _stopping(ctx):
            discard(Path(ctx.state_dir), sid)
        raise
    finally:
        join.ready.set()
        with _joins_changed:
            _joins.pop(key, None)
            _joins_changed.notify_all()


def _find_join(ctx: Any, parent_id: str, timeout: float) -> _Join | None:
    """The parent's join once it is ready (its handler may still be running the query or loading data)."""
    key = (ctx.tenant, ctx.pod, parent_id)
    deadline = time.monotonic() + timeout
    with _joins_changed:
        while key not in _joins:
            left = deadline - time.monotonic()
            if left <= 0 or _stopping(ctx):
                return None
            _joins_changed.wait(min(left, 1.0))
        join = _joins[key]
    while not join.ready.wait(1.0):
        if time.monotonic() > deadline or _stopping(ctx):
            return None
    return join if join.channel is not None and join.refused is None else None


def _serve_round(ctx: Any, round_session: Mapping[str, Any], modeller: Any, run_party: Callable[..., Any]) -> Any:
    """One round: checks, the vector, secure aggregation. A refusal declines the parent and returns None."""
    parent_id = round_session["parent"]
    label = (round_session.get("aggregation") or {}).get("input")
    parent = ctx.client.get_session(ctx.tenant, parent_id)
    timeout = float(((parent.get("federated") or {}).get("query") or (parent.get("federated") or {}).get("training") or {})
                    .get("roundTimeoutSeconds", 300))
    join = _find_join(ctx, parent_id, timeout) if parent.get("phase") == "running" else None
    if join is None:
        ctx.log.info("session %s: not joining (this pod is not taking part in session %s)", round_session["id"], parent_id)
        return None
    assert join.channel is not None
    try:
        with join.lock:
            if join.refused is not None:
                raise FederatedRefusal(join.refused)
            if parent.get("phase") != "running":
                raise FederatedRefusal(f"session {parent_id} is {parent.get('phase')}")
            if getattr(modeller, "fingerprint", None) != getattr(join.modeller, "fingerprint", None) or \
                    round_session.get("modellerId") != parent.get("modellerId"):
                raise FederatedRefusal(f"{UNVERIFIED_MODELLER}: round '{label}' is not signed by session {parent_id}'s modeller")
            if not join.channel.claim_round(label, round_session["id"]):
                raise FederatedRefusal(f"round '{label}' already ran as session {join.channel.rounds()[label]}; a pod answers each round once")
            values = join.driver.input(ctx, round_session, parent, join.channel)
    except FederatedRefusal as refusal:
        text = str(refusal)
        if text.startswith(UNVERIFIED_MODELLER):
            ctx.log.warning("REFUSED session %s: round %s: %s. This pod sends nothing more for the session.", parent_id, label, text)
        else:
            ctx.log.warning("session %s: refused round %s (%s)", parent_id, label, text)
        if join.refused is None:
            join.refused = text
            _decline(ctx, parent_id, text)
        return None
    ctx.log.info("session %s: round %s: contributing %d values", parent_id, label, values.size)
    return run_party(ctx, round_session, modeller, np.asarray(values, dtype=np.float64))
