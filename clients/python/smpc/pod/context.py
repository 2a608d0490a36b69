"""What a session handler gets from the pod runner (the agreed interface between the pod runner and the protocol modules).

Handlers (``smpc.secagg.pod.run_party``, ``smpc.psi.pod.serve``, ``smpc.federated.pod.serve``) receive the session as
served, already verified (``modeller`` is the :class:`~smpc.verify.VerifiedModeller`), and a :class:`PodContext`:

* ``client``, ``tenant``, ``pod``, ``identity`` (the pod's :class:`~smpc.identity.IdentityKey`), ``pins`` (the pod's one
  :class:`~smpc.pins.PinStore`: peer pods and modellers), ``config`` (:class:`~smpc.pod.config.PodConfig`),
  ``state_dir`` (owner-only), ``log`` (a :class:`logging.Logger`), ``stop_event`` (set when the pod stops);
* :meth:`PodContext.verify`: every later copy of a session the handler acts on must give the same signed statement
  (``changed`` otherwise) — call it on each poll of the session;
* :meth:`PodContext.admit_round`: a federated round's differencing guard (the runner calls it for each round it sees;
  idempotent, so a handler that runs rounds from the parent's loop may call it too);
* :meth:`PodContext.before_unmask`: the differencing guard's second look with the parties in the sum, before the
  pod's unmask answer: returns the reason to refuse (the handler then raises ``PodRefusal('policy', reason)``), or None;
* ``input_sent``: a handler sets ``ctx.input_sent = True`` once its masked vector may have reached the service (the
  ledger then keeps the session for good; otherwise the runner also asks the service);
* ``session_id``: the session this context was made for (each session gets its own context; everything else is shared);
* :meth:`PodContext.party_state_path`: where a resumable party keeps its state (``<state>/<session>.party``);
* ``shared`` and ``lock``: a dictionary handlers of one pod may share across sessions (e.g. a federated session and its
  rounds), guarded by ``lock``.

To refuse, a handler raises :class:`~smpc.pod.refusal.PodRefusal`; the runner declines the session (a category for
secure aggregation, the message as the reason text for PSI and federated sessions) and logs it.
"""

from __future__ import annotations

import dataclasses
import logging
import pathlib
import threading
from typing import Any, Dict, Mapping, Optional, Tuple

from ..identity import IdentityKey
from ..pins import PinStore
from ..verify import ModellerVerifier, VerifiedModeller
from .config import PodConfig
from .ledger import DifferencingLedger, DifferencingRule, LedgerError, round_ledger_key
from .refusal import DeclineCategories, PodRefusal

__all__ = ["PodContext"]


@dataclasses.dataclass
class PodContext:
    """The pod's side of every session it runs (see the module's docstring)."""

    client: Any
    tenant: str
    pod: str
    identity: IdentityKey
    pins: PinStore
    config: PodConfig
    state_dir: pathlib.Path
    log: logging.Logger
    verifier: ModellerVerifier
    ledger: DifferencingLedger
    stop_event: threading.Event = dataclasses.field(default_factory=threading.Event)
    shared: Dict[str, Any] = dataclasses.field(default_factory=dict)
    lock: threading.RLock = dataclasses.field(default_factory=threading.RLock)
    session_id: Optional[str] = None
    input_sent: bool = False
    _admitted: Dict[str, Tuple[str, DifferencingRule]] = dataclasses.field(default_factory=dict)

    def for_session(self, session_id: str) -> "PodContext":
        """A context for one session: the same pod, client, pins, ledger and shared state; its own ``input_sent``."""
        return dataclasses.replace(self, session_id=session_id, input_sent=False)

    def verify(self, session: Mapping[str, Any]) -> VerifiedModeller:
        """Verifies a session, or checks a later copy gives the statement verified before; raises UnverifiedSessionError."""
        return self.verifier.verify(session)

    def cancelled_by_modeller(self, session: Mapping[str, Any]) -> bool:
        """Whether a cancelled session's cancel carries the verified modeller's valid signature."""
        return self.verifier.cancelled_by_modeller(session)

    def party_number(self, session: Mapping[str, Any]) -> int:
        """This pod's party number in a session: its 1-based position in the session's (signed) pod list."""
        pods = list(session.get("podIds") or [])
        if self.pod not in pods:
            raise PodRefusal(DeclineCategories.POLICY, f"this pod ({self.pod}) is not in the session's pod list")
        return pods.index(self.pod) + 1

    def party_state_path(self, session_id: str) -> pathlib.Path:
        """Where a resumable party keeps its state for ``session_id`` (owner-only directory; wiped when the session ends)."""
        return self.state_dir / f"{session_id}.party"

    def admitted(self, session_id: str, ledger_key: str, rule: DifferencingRule) -> None:
        """Records the ledger key a session was admitted under (the runner does this for plain sessions and rounds)."""
        with self.lock:
            self._admitted[session_id] = (ledger_key, rule)

    def admit_round(self, round_session: Mapping[str, Any], parent: Mapping[str, Any]) -> Optional[str]:
        """
        The differencing guard for a federated round (the .NET agent's ``RoundLedgerKey``: one key per training session,
        one per query round): admits and records the round's pod set, or returns why not. Idempotent; once admitted,
        :meth:`before_unmask` of any context of this pod confirms the round's sum.
        """
        label = (round_session.get("aggregation") or {}).get("input") or ""
        key = round_ledger_key(parent, label)
        try:
            rule = DifferencingRule.for_input(self.config.policy, None)
            reason = self.ledger.admit(key, round_session["id"], list(round_session.get("podIds") or []), rule)
        except (LedgerError, OSError) as e:
            return f"differencing guard: the ledger cannot be used ({e})"
        if reason is not None:
            return f"differencing guard: {reason}"
        self.admitted(round_session["id"], key, rule)
        return None

    def before_unmask(self, session: Mapping[str, Any], request: Any) -> Optional[str]:
        """
        The differencing guard's second look, before the pod's unmask answer makes the sum computable: the parties whose
        inputs are in the sum (U3: ``request.survivors``, or a sequence of party numbers) against the minimum and the
        ledger. Returns why the pod must not answer (the caller raises ``PodRefusal('policy', …)``), or None.
        """
        survivors = list(getattr(request, "survivors", request))
        pods = list(session.get("podIds") or [])
        if any(p < 1 or p > len(pods) for p in survivors):
            return f"the unmask request names parties outside 1..{len(pods)}"
        with self.lock:
            entry = self._admitted.get(session["id"])
        if entry is None:
            return None  # a session the runner did not admit through the ledger (a library caller's own run)
        key, rule = entry
        try:
            reason = self.ledger.confirm(key, session["id"], [pods[p - 1] for p in survivors], rule)
        except (LedgerError, OSError) as e:
            reason = f"the ledger cannot be used ({e})"
        return None if reason is None else f"differencing guard: {reason}"

    def release(self, session_id: str) -> Optional[Tuple[str, DifferencingRule]]:
        """Forgets the runner's per-session bookkeeping; returns the ledger entry it held."""
        with self.lock:
            return self._admitted.pop(session_id, None)
