"""The pod runner: polls the service for the pod's sessions and serves each under the pod's own policy (``smpc pod run``).

Like the .NET agent (``Agent/PodAgent.cs``): it checks its identity key against the registry, lists the pod's sessions
once and then long-polls for newer ones, skips sessions it finished (``sessions.json`` in the state directory) or is
running, and runs each new one in its own thread:

* every session is verified first (docs/protocols/signatures.md, "Pods verify"): on failure the pod sends nothing but a
  decline (``unverified-modeller`` for secure aggregation; for PSI and federated sessions the reason text
  ``the modeller's signature of the session is not valid for this pod (<reason>)``) and logs ``REFUSED session …``;
* secure aggregation: the policy (:mod:`smpc.pod.policy`) then ``smpc.secagg.pod.run_party(ctx, session, modeller,
  values, weight)``;
* PSI: ``smpc.psi.pod.serve(ctx, session, modeller)``;
* federated query/training sessions and their rounds (secure-aggregation sessions with a ``parent``, whose modeller
  must be the parent's and whose parent must verify too): ``smpc.federated.pod.serve(ctx, session, modeller)``.

Handler modules are imported only when a session needs them: a missing one declines that session (``internal``) with a
clear log line and leaves the others running.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import pathlib
import threading
import time
from typing import Any, Callable, Dict, Mapping, Optional, Set, Union

from .._durable import owner_only_directory, wipe, write_owner_only
from ..errors import ConflictError, ProblemError, SmpcError, TransportError
from ..pins import PinMismatchError
from ..verify import ModellerVerifier, UnverifiedSessionError, VerifiedModeller
from .config import PodConfig
from .context import PodContext
from .ledger import DifferencingLedger, LedgerError
from .policy import assess
from .refusal import DeclineCategories, PodRefusal

__all__ = ["Pod", "PodIdentityMismatchError", "HandlerMissingError"]

ENDED = ("completed", "failed", "cancelled")
PathLike = Union[str, os.PathLike]


class PodIdentityMismatchError(SmpcError):
    """The identity key file holds another key than the one registered for the pod: every bundle it signed would be refused."""


class HandlerMissingError(SmpcError, ImportError):
    """The protocol module a session needs is not part of this installation."""


def _transient(error: BaseException) -> bool:
    if isinstance(error, TransportError):
        return True
    if isinstance(error, ProblemError):
        return error.status >= 500 or error.status == 429
    return isinstance(error, (OSError, TimeoutError)) and not isinstance(error, FileNotFoundError)


def _handler(module: str, function: str) -> Callable[..., Any]:
    try:
        m = importlib.import_module(module)
    except ImportError as e:
        raise HandlerMissingError(f"{module} cannot be imported ({e}): this pod cannot serve the session") from e
    fn = getattr(m, function, None)
    if fn is None:
        raise HandlerMissingError(f"{module} has no {function}(): this pod cannot serve the session")
    return fn


class Pod:
    """
    A pod serving sessions from ``config`` (a :class:`PodConfig` or the path of the .NET agent's JSON file).
    ``client`` defaults to an :class:`smpc.Client` for the configuration's URL and API key. Run it in the foreground with
    :meth:`run` or in a background thread with :meth:`start` / :meth:`stop` (also a context manager).
    """

    def __init__(self, config: Union[PodConfig, PathLike], client: Any = None, *, long_poll_seconds: int = 20,
                 logger: Optional[logging.Logger] = None) -> None:
        self.config = config if isinstance(config, PodConfig) else PodConfig.load(config)
        if client is None:
            from ..client import Client

            client = Client(self.config.url, self.config.resolve_api_key())
        self.client = client
        self.long_poll_seconds = int(long_poll_seconds)
        self.log = logger or logging.getLogger(f"smpc.pod.{self.config.pod}")
        self.identity = self.config.load_identity()
        self.state_dir = self.config.state_path
        owner_only_directory(self.state_dir)
        # First uses are announced as warnings in the pod's own log, like the .NET agent's `WARNING FIRST USE: …`.
        self.pins = self.config.create_pin_store(notice=lambda line: self.log.warning("%s", line))
        self.ledger = DifferencingLedger(self.state_dir / "differencing-ledger.json")
        self.context = PodContext(
            client=self.client, tenant=self.config.tenant, pod=self.config.pod, identity=self.identity, pins=self.pins,
            config=self.config, state_dir=self.state_dir, log=self.log, verifier=ModellerVerifier(self.client, self.pins), ledger=self.ledger)
        self._finished_path = self.state_dir / "sessions.json"
        self._finished: Set[str] = self._load_finished()
        self._finished_lock = threading.Lock()
        self._running: Dict[str, threading.Thread] = {}
        self._running_lock = threading.Lock()
        self._retry: Set[str] = set()  # sessions whose first look failed on a transient error: tried again next poll
        self._thread: Optional[threading.Thread] = None
        self._error: Optional[BaseException] = None
        self.polling = threading.Event()

    # ---- running ----

    @property
    def stop_event(self) -> threading.Event:
        """Set to stop the pod (the runner finishes its poll, then waits for running sessions)."""
        return self.context.stop_event

    def run(self, stop_event: Optional[threading.Event] = None, *, until: Optional[Callable[[], bool]] = None,
            join_timeout: float = 60.0) -> None:
        """
        Polls and serves sessions until ``stop_event`` (default: the pod's own) is set or ``until()`` returns True, then
        waits up to ``join_timeout`` seconds for the sessions still running.
        """
        stop = stop_event or self.stop_event
        if stop is not self.stop_event:
            threading.Thread(target=lambda: (stop.wait(), self.stop_event.set()), daemon=True).start()
        self._sweep_finished()
        self._verify_identity()
        self.log.info("pod %s/%s (identity %s) polling %s; %d sessions already finished", self.config.tenant, self.config.pod,
                      self.identity.fingerprint, self.config.url, len(self._finished))
        self.polling.set()
        backoff = 0.0
        newest: Optional[str] = None  # None: list once; then long-poll for newer sessions
        while not self.stop_event.is_set() and not (until is not None and until()):
            try:
                if newest is None:
                    ids = self.client.list_pod_sessions(self.config.tenant, self.config.pod)
                else:
                    ids = self.client.list_pod_sessions(self.config.tenant, self.config.pod, after=newest, wait_seconds=self.long_poll_seconds)
                newest = ids[-1] if ids else "-"  # "-": none yet (never a valid session id)
                with self._running_lock:
                    again, self._retry = sorted(self._retry), set()
                for session_id in [*again, *ids]:
                    self._start(session_id)
                backoff = 0.0
            except Exception as e:  # noqa: BLE001 — the loop survives anything transient, and says what it was
                if not _transient(e):
                    raise
                backoff = min(30.0, max(0.2, backoff * 2))
                self.log.warning("service unavailable (%s); retrying in %.1fs", e, backoff)
            if backoff > 0:
                self.stop_event.wait(backoff)
            elif self.long_poll_seconds == 0:
                self.stop_event.wait(self.config.poll_seconds)
        self.stop_event.set()
        deadline = time.monotonic() + join_timeout
        for thread in list(self._running.values()):
            thread.join(max(0.0, deadline - time.monotonic()))

    def start(self) -> "Pod":
        """Runs the pod in a background thread; returns once it polls (its identity checked), or raises its start error."""
        def main() -> None:
            try:
                self.run()
            except BaseException as e:  # noqa: BLE001 — reported by start() or stop()
                self._error = e
                self.log.error("pod %s stopped: %s", self.config.pod, e)
                self.polling.set()

        self._thread = threading.Thread(target=main, name=f"smpc-pod-{self.config.pod}", daemon=True)
        self._thread.start()
        self.polling.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """Stops a pod started with :meth:`start` and waits for it; re-raises an error that stopped it."""
        self.stop_event.set()
        # The sessions still running finish their step (their state stays, so a restart resumes them); the poll loop
        # may sit in a long poll for up to long_poll_seconds and stops on its own when it returns, so it is not waited
        # for beyond that: a stopped pod starts no new session either way.
        deadline = time.monotonic() + timeout
        for thread in list(self._running.values()):
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread is not None:
            self._thread.join(min(1.0, max(0.0, deadline - time.monotonic())))
        if self._error is not None:
            raise self._error

    def __enter__(self) -> "Pod":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def finished(self, session_id: str) -> bool:
        """Whether the pod is done with a session (it will not act on it again)."""
        with self._finished_lock:
            return session_id in self._finished

    # ---- one session ----

    def _start(self, session_id: str) -> None:
        with self._running_lock:
            if self.finished(session_id) or session_id in self._running or self.stop_event.is_set():
                return
            thread = threading.Thread(target=self._serve, args=(session_id,), name=f"smpc-{self.config.pod}-{session_id}", daemon=True)
            self._running[session_id] = thread
        thread.start()

    def _serve(self, session_id: str) -> None:
        try:
            session = self.client.get_session(self.config.tenant, session_id)
            kind = session.get("kind")
            if kind == "psi":
                self._psi(session)
            elif kind in ("query", "training"):
                self._federated(session)
            elif session.get("parent") is not None:
                self._round(session)
            else:
                self._aggregation(session)
        except Exception as e:  # noqa: BLE001 — one session's failure never stops the pod
            if _transient(e) and not self.stop_event.is_set():
                self.log.warning("session %s: service unavailable (%s); will retry", session_id, e)
                with self._running_lock:
                    self._retry.add(session_id)
            elif not self.stop_event.is_set():
                self.log.error("session %s: stopped: %s", session_id, e)
                # Say so at once, so that the modeller is not left waiting for a phase deadline (never a value in it).
                self._decline_failure(session_id, e)
                self._mark_finished(session_id)
        finally:
            with self._running_lock:
                self._running.pop(session_id, None)

    def _open(self, session: Mapping[str, Any]) -> Optional[VerifiedModeller]:
        """The verified modeller of a session this pod is to serve; None (and the session marked finished) when it has
        ended already or its signature does not verify (then only a decline was sent)."""
        if session.get("phase") in ENDED:
            self._mark_finished(session["id"])
            return None
        modeller = self._verify_or_refuse(session)
        if modeller is None:
            self._mark_finished(session["id"])
        return modeller

    def _verify_or_refuse(self, session: Mapping[str, Any]) -> Optional[VerifiedModeller]:
        """Verifies the modeller's signature; on failure sends only a decline naming the reason and says so loudly."""
        try:
            return self.context.verify(session)
        except UnverifiedSessionError as e:
            self.log.error("REFUSED %s. This pod sends nothing for the session.", e)
            self._decline(session, f"the modeller's signature of the session is not valid for this pod ({e.reason})",
                          DeclineCategories.UNVERIFIED_MODELLER)
            return None

    def _aggregation(self, session: Dict[str, Any]) -> None:
        sid = session["id"]
        modeller = self._open(session)
        if modeller is None:
            return
        resuming = self.context.party_state_path(sid).exists()
        if session.get("phase") != "key-exchange" and not resuming:
            self.log.info("session %s: declined (joined too late (phase %s))", sid, session.get("phase"))
            self._mark_finished(sid)
            return
        try:
            admitted = assess(session, self.config, self.ledger, modeller)
        except PodRefusal as r:
            self.log.warning("session %s: declined (%s)", sid, r.message)
            self._wipe_party_state(sid)  # a resumed session refused now: its saved state goes too
            if r.category is not None:
                self._decline_aggregation(session, r.category)
            self._mark_finished(sid)
            return
        ctx = self.context.for_session(sid)
        ctx.admitted(sid, admitted.ledger_key, admitted.rule)
        a = session["aggregation"]
        self.log.info("session %s: %s (%s of '%s', %d values, modeller %s)", sid, "resuming" if resuming else "joining",
                      a.get("operation"), a.get("input"), admitted.values.size, session.get("modellerId"))
        self._run_party(session, ctx, lambda: _handler("smpc.secagg.pod", "run_party")(ctx, session, modeller, admitted.values, admitted.weight))

    def _round(self, session: Dict[str, Any]) -> None:
        sid = session["id"]
        # A round is signed like any session, by the parent's own modeller (another modeller cannot add rounds to it).
        modeller = self._open(session)
        if modeller is None:
            return
        parent = self.client.get_session(self.config.tenant, session["parent"])
        if parent.get("modellerId") != session.get("modellerId"):
            self.log.error("REFUSED session %s: a round of session %s (modeller %s) signed by modeller %s. This pod sends nothing for it.",
                           sid, parent.get("id"), parent.get("modellerId"), session.get("modellerId"))
            self._decline_aggregation(session, DeclineCategories.UNVERIFIED_MODELLER)
            self._mark_finished(sid)
            return
        try:
            self.context.verify(parent)  # the parent's spec as signed, not a rewritten one
        except UnverifiedSessionError as e:
            self.log.error("REFUSED %s (the parent of round %s). This pod sends nothing for it.", e, sid)
            self._decline_aggregation(session, DeclineCategories.UNVERIFIED_MODELLER)
            self._mark_finished(sid)
            return
        ctx = self.context.for_session(sid)
        reason = ctx.admit_round(session, parent)
        if reason is not None:
            label = (session.get("aggregation") or {}).get("input")
            self.log.warning("session %s: refused round %s (%s)", parent.get("id"), label, reason)
            self._decline_federated(parent, reason)
            self._mark_finished(sid)
            return
        # smpc.federated.pod.serve may run the round itself or leave it to its loop over the parent session (then it
        # returns at once); the ledger entry stays while the round runs, so that its unmask answer is confirmed.
        self._run_party(session, ctx, lambda: _handler("smpc.federated.pod", "serve")(ctx, session, modeller), keep_while_running=True)

    def _run_party(self, session: Dict[str, Any], ctx: PodContext, run: Callable[[], Any], keep_while_running: bool = False) -> None:
        """Runs a secure-aggregation party (plain or a round) and cleans up after it, declining with a category on failure."""
        sid = session["id"]
        try:
            result = run()
            final = result if isinstance(result, dict) and "phase" in result else self._get(sid)
            phase = (final or {}).get("phase")
            if keep_while_running and final is not None and phase not in ENDED:
                self.log.info("session %s: handed to the federated session's own loop (%s)", sid, phase)
            else:
                self.log.info("session %s: %s%s", sid, phase or "done", self._ended_by(final))
                self._leave(session, ctx)
            self._mark_finished(sid)
        except Exception as e:  # noqa: BLE001
            if self.stop_event.is_set() and not isinstance(e, (PodRefusal, UnverifiedSessionError)):
                return  # the pod is stopping, not the session: its state stays so that a restart resumes it
            if isinstance(e, PodRefusal):
                category = e.category or DeclineCategories.POLICY
            elif isinstance(e, UnverifiedSessionError):
                category = DeclineCategories.UNVERIFIED_MODELLER
            else:
                category = DeclineCategories.INTERNAL
            if isinstance(e, PinMismatchError):
                self.log.error("session %s: stopped (identity pin mismatch): %s", sid, e)
            elif isinstance(e, UnverifiedSessionError):
                self.log.error("REFUSED %s. This pod sends nothing more for the session.", e)
            else:
                self.log.error("session %s: stopped (%s): %s", sid, category, e)
            self._leave(session, ctx)
            self._decline_aggregation(session, category)
            self._mark_finished(sid)

    def _psi(self, session: Dict[str, Any]) -> None:
        sid = session["id"]
        modeller = self._open(session)
        if modeller is None:
            return
        ctx = self.context.for_session(sid)
        self._run_text_declined(session, lambda: _handler("smpc.psi.pod", "serve")(ctx, session, modeller), self._decline_psi)

    def _federated(self, session: Dict[str, Any]) -> None:
        sid = session["id"]
        if session.get("phase") != "running":
            self._discard_federated(sid)
            self._mark_finished(sid)
            return
        modeller = self._verify_or_refuse(session)
        if modeller is None:
            self._discard_federated(sid)
            self._mark_finished(sid)
            return
        ctx = self.context.for_session(sid)
        self._run_text_declined(session, lambda: _handler("smpc.federated.pod", "serve")(ctx, session, modeller), self._decline_federated)

    def _run_text_declined(self, session: Dict[str, Any], run: Callable[[], Any], decline: Callable[[Mapping[str, Any], str], None]) -> None:
        sid = session["id"]
        try:
            result = run()
            final = result if isinstance(result, dict) and "phase" in result else self._get(sid)
            self.log.info("session %s: %s%s", sid, (final or {}).get("phase", "done"), self._ended_by(final))
        except PodRefusal as r:
            self.log.warning("session %s: declined (%s)", sid, r.message)
            decline(session, r.message)
        except UnverifiedSessionError as e:
            self.log.error("REFUSED %s. This pod sends nothing more for the session.", e)
            decline(session, f"the modeller's signature of the session is not valid for this pod ({e.reason})")
        except Exception as e:  # noqa: BLE001
            if self.stop_event.is_set():
                return
            self.log.error("session %s: stopped: %s", sid, e)
            decline(session, f"the pod agent failed: {type(e).__name__}")
        self._mark_finished(sid)

    # ---- after a session ----

    def _leave(self, session: Mapping[str, Any], ctx: PodContext) -> None:
        """
        The pod is done with a session: its party state is wiped, and the ledger forgets the session if the masked
        vector never left (no sum can hold the input then). Unsure (the service cannot be asked) keeps it: the safe side.
        """
        sid = session["id"]
        self._wipe_party_state(sid)
        entry = ctx.release(sid)
        if entry is None or ctx.input_sent or self._input_reached_service(session):
            return
        try:
            self.ledger.forget(sid)
        except (LedgerError, OSError) as e:
            self.log.warning("session %s: the differencing ledger keeps it (%s)", sid, e)

    def _input_reached_service(self, session: Mapping[str, Any]) -> bool:
        try:
            party = list(session.get("podIds") or []).index(self.config.pod) + 1
            served = self.client.get_session(self.config.tenant, session["id"])
        except Exception:  # noqa: BLE001 — cannot tell: keep the entry
            return True
        a = served.get("aggregation") or {}
        return party in (a.get("maskedInputs") or []) or party in (a.get("included") or [])

    def _discard_federated(self, session_id: str) -> None:
        """What a pod may keep for a federated session it will not (or no longer) take part in: member key, round ledger."""
        for suffix in (".member", ".rounds"):
            path = self.state_dir / f"{session_id}{suffix}"
            wipe(path)
            wipe(path.with_name(path.name + ".tmp"))

    def _wipe_party_state(self, session_id: str) -> None:
        path = self.context.party_state_path(session_id)
        wipe(path)
        wipe(path.with_name(path.name + ".tmp"))

    def _ended_by(self, session: Optional[Mapping[str, Any]]) -> str:
        if not session or session.get("phase") != "cancelled":
            return ""
        if self.context.cancelled_by_modeller(session):
            return " by the modeller (its signature of the cancel verified)"
        role = (session.get("cancellation") or {}).get("role") or "unknown"
        return f" by the service (or the tenant admin), not the modeller: the cancel ({role}) carries no valid signature of the modeller"

    def _get(self, session_id: str) -> Optional[Dict[str, Any]]:
        try:
            return self.client.get_session(self.config.tenant, session_id)
        except Exception:  # noqa: BLE001 — only for the log line
            return None

    # ---- declines (best effort: the phase deadline drops a silent pod anyway) ----

    def _decline_failure(self, session_id: str, error: BaseException) -> None:
        """Declines a session this pod failed on before its protocol driver took over (category/reason: internal)."""
        try:
            session = self.client.get_session(self.config.tenant, session_id)
        except (ProblemError, TransportError, OSError):
            return  # the service cannot be asked: the phase deadline drops this pod
        if session.get("phase") in ENDED:
            return
        self._decline(session, f"the pod agent failed: {type(error).__name__}", DeclineCategories.INTERNAL)

    def _decline(self, session: Mapping[str, Any], reason: str, category: str) -> None:
        """Declines by the session's kind: PSI and federated sessions with the reason text, secure aggregation with
        the category (never a value)."""
        kind = session.get("kind")
        if kind == "psi":
            self._decline_psi(session, reason)
        elif kind in ("query", "training"):
            self._decline_federated(session, reason)
        else:
            self._decline_aggregation(session, category)

    def _decline_aggregation(self, session: Mapping[str, Any], category: str) -> None:
        try:
            self.client.decline_aggregation(self.config.tenant, session["id"], category)
        except (ProblemError, TransportError, OSError) as e:
            self.log.warning("session %s: could not tell the service (%s); the phase deadline will drop this pod", session["id"], e)

    def _decline_psi(self, session: Mapping[str, Any], reason: str) -> None:
        try:
            self.client.decline_psi(self.config.tenant, session["id"], _short(reason))
        except (ProblemError, TransportError, OSError) as e:
            self.log.warning("session %s: could not tell the service (%s)", session["id"], e)

    def _decline_federated(self, session: Mapping[str, Any], reason: str) -> None:
        try:
            self.client.decline_federated(self.config.tenant, session["id"], _short(reason))
        except ConflictError:
            pass  # already ended (another pod declined, or the modeller finished): nothing to add
        except (ProblemError, TransportError, OSError) as e:
            self.log.warning("session %s: could not decline (%s); its deadline will end it", session["id"], e)

    # ---- state ----

    def _load_finished(self) -> Set[str]:
        if not self._finished_path.exists():
            return set()
        try:
            return set(json.loads(self._finished_path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as e:
            raise SmpcError(f"{self._finished_path} is damaged ({e}); fix or remove it") from None

    def _mark_finished(self, session_id: str) -> None:
        with self._finished_lock:
            self._finished.add(session_id)
            write_owner_only(self._finished_path, json.dumps(sorted(self._finished)).encode("utf-8"))
        self.context.verifier.forget(self.config.tenant, session_id)

    def _sweep_finished(self) -> None:
        """At start: wipes secret state a crash left behind for sessions already finished (.party, .member, .rounds)."""
        for path in self.state_dir.iterdir():
            name = path.name[:-4] if path.name.endswith(".tmp") else path.name
            stem, dot, extension = name.rpartition(".")
            if not dot or extension not in ("party", "member", "rounds") or stem not in self._finished:
                continue
            wipe(path)
            self.log.info("session %s: wiped leftover .%s state of a finished session", stem, extension)

    def _verify_identity(self) -> None:
        backoff = 0.0
        while True:
            try:
                registered = self.client.get_pod(self.config.tenant, self.config.pod).get("identityFingerprint")
                if registered != self.identity.fingerprint:
                    raise PodIdentityMismatchError(
                        f"pod {self.config.pod}: the identity key file holds {self.identity.fingerprint}, but the service has "
                        f"{registered or 'no identity'} registered for the pod; refusing to start")
                return
            except Exception as e:  # noqa: BLE001
                if not _transient(e) or self.stop_event.is_set():
                    raise
                backoff = min(30.0, max(0.2, backoff * 2))
                self.log.warning("service unavailable (%s); retrying in %.1fs", e, backoff)
                self.stop_event.wait(backoff)


def _short(reason: str) -> str:
    return reason if len(reason) <= 500 else reason[:497] + "..."
