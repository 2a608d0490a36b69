"""The pod's differencing ledger (secure-aggregation.md, "Pod policy against differencing"; .NET ``DifferencingLedger``).

Sums over two pod sets that differ in a few pods give the modeller those few pods' inputs. So the pod records, per
ledger key (an input, or a federated session/round), the pod set of every session it joined, and refuses a session
whose set S is smaller than the minimum, or differs from an earlier set E (within the window) in 0 < |S Δ E| < k pods.
Checked on joining (:meth:`DifferencingLedger.admit`) and again before the unmask answer with the pods actually in the
sum (:meth:`DifferencingLedger.confirm`). The file is the .NET agent's (``differencing-ledger.json`` in the state
directory: a JSON array of ``{key, session, pods, at, included}``), owner-only, written durably before the pod sends.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import pathlib
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from .._durable import write_owner_only
from .config import InputSpec, SecureAggregationPolicy

__all__ = ["DifferencingRule", "DifferencingLedger", "LedgerError", "input_ledger_key", "round_ledger_key"]

PathLike = Union[str, os.PathLike]


class LedgerError(ValueError):
    """The ledger file is damaged or a rule setting is out of range: the pod cannot check, so it does not contribute."""


@dataclasses.dataclass(frozen=True)
class DifferencingRule:
    """At least ``min_pods`` pods; pod sets equal or differing in ≥ ``min_difference`` pods within ``window`` (None: forever)."""

    min_pods: int
    min_difference: int
    window: Optional[_dt.timedelta]

    @staticmethod
    def for_input(policy: SecureAggregationPolicy, spec: Optional[InputSpec]) -> "DifferencingRule":
        """The rule for an input: its own settings over the policy's (None input: the policy's)."""
        min_pods = spec.min_pods if spec is not None and spec.min_pods is not None else policy.min_pods
        k = (spec.min_pod_set_difference if spec is not None and spec.min_pod_set_difference is not None
             else policy.min_pod_set_difference if policy.min_pod_set_difference is not None else min_pods)
        days = spec.differencing_window_days if spec is not None and spec.differencing_window_days is not None else policy.differencing_window_days
        if min_pods < 3:
            raise LedgerError(f"minPods is {min_pods}; a session needs at least 3 pods.")
        if k < 1:
            raise LedgerError(f"minPodSetDifference is {k}; it is at least 1 (1 switches the ledger check off).")
        if not (days >= 0) or days == float("inf"):
            raise LedgerError(f"differencingWindowDays is {days}; give a number of days >= 0 (0 = forever).")
        return DifferencingRule(int(min_pods), int(k), None if days == 0 else _dt.timedelta(days=days))


def input_ledger_key(input_name: str) -> str:
    """The ledger key of a plain session: its named input."""
    return "input:" + input_name


def round_ledger_key(parent: Dict[str, Any], label: str) -> str:
    """The ledger key of a federated round: the training session's (all rounds share it), or one per query round."""
    return "session:" + parent["id"] if parent.get("kind") == "training" else f"session:{parent['id']}/{label}"


@dataclasses.dataclass
class _Entry:
    key: str
    session: str
    pods: List[str]
    at: _dt.datetime
    included: Optional[List[str]]


def _parse_time(value: Any) -> _dt.datetime:
    v = str(value).strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    t = _dt.datetime.fromisoformat(v)
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


class DifferencingLedger:
    """The ledger file at ``path``; ``clock`` dates the sessions (UTC)."""

    def __init__(self, path: PathLike, clock: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.timezone.utc)) -> None:
        self.path = pathlib.Path(path)
        self.clock = clock
        self._lock = threading.Lock()

    def admit(self, key: str, session_id: str, pods: Sequence[str], rule: DifferencingRule) -> Optional[str]:
        """Admits the session and records it durably, or returns why not (nothing recorded then)."""
        pod_set = set(pods)
        if len(pod_set) != len(pods):
            return f"the session lists a pod twice ({', '.join(pods)})"
        if len(pod_set) < rule.min_pods:
            return f"the session has {len(pod_set)} pods; this pod takes part only with at least {rule.min_pods}"
        now = self.clock()
        with self._lock:
            entries = self._load()
            entries = [e for e in entries if not (e.key == key and rule.window is not None and now - e.at > rule.window)]
            refusal = _too_close(entries, key, session_id, pod_set, rule, lambda e: e.pods, "pod set")
            if refusal is not None:
                return refusal
            entries = [e for e in entries if not (e.key == key and e.session == session_id)]
            entries.append(_Entry(key, session_id, sorted(pod_set), now, None))
            self._save(entries)
            return None

    def confirm(self, key: str, session_id: str, included: Sequence[str], rule: DifferencingRule) -> Optional[str]:
        """Before the unmask answer: the pods in the sum against the minimum and every other session's sum; records them."""
        pod_set = set(included)
        if len(pod_set) < rule.min_pods:
            return f"the sum would hold {len(pod_set)} pods' inputs; this pod takes part only with at least {rule.min_pods}"
        now = self.clock()
        with self._lock:
            entries = self._load()
            entries = [e for e in entries if not (e.key == key and rule.window is not None and now - e.at > rule.window)]
            refusal = _too_close(entries, key, session_id, pod_set, rule, lambda e: e.included if e.included is not None else e.pods,
                                 "set of pods in the sum")
            if refusal is not None:
                return refusal
            ordered = sorted(pod_set)
            own = next((e for e in entries if e.key == key and e.session == session_id), None)
            if own is not None:
                own.included = ordered
            else:
                entries.append(_Entry(key, session_id, ordered, now, ordered))
            self._save(entries)
            return None

    def forget(self, session_id: str) -> None:
        """Removes the session's entries: its masked input never left the pod, so no sum holds it."""
        with self._lock:
            entries = self._load()
            kept = [e for e in entries if e.session != session_id]
            if len(kept) != len(entries):
                self._save(kept)

    def sessions(self, key: str) -> List[Dict[str, Any]]:
        """The sessions recorded for ``key``, oldest first."""
        with self._lock:
            return [dataclasses.asdict(e) for e in sorted((e for e in self._load() if e.key == key), key=lambda e: e.at)]

    def _load(self) -> List[_Entry]:
        if not self.path.exists():
            return []
        try:
            doc = json.loads(self.path.read_bytes())
            entries = []
            for raw in doc:
                r = {str(k).lower(): v for k, v in raw.items()}
                if r.get("key") is None or r.get("session") is None or r.get("pods") is None:
                    raise ValueError("an entry lacks key, session or pods")
                entries.append(_Entry(r["key"], r["session"], list(r["pods"]), _parse_time(r.get("at")),
                                      None if r.get("included") is None else list(r["included"])))
            return entries
        except (ValueError, TypeError, AttributeError) as e:
            raise LedgerError(f"{self.path} is not a differencing ledger: {e}") from None

    def _save(self, entries: List[_Entry]) -> None:
        doc = [{"key": e.key, "session": e.session, "pods": e.pods, "at": e.at.isoformat(), "included": e.included} for e in entries]
        write_owner_only(self.path, json.dumps(doc).encode("utf-8"))


def _too_close(entries: List[_Entry], key: str, session_id: str, pod_set: set, rule: DifferencingRule,
               set_of: Callable[[_Entry], List[str]], what: str) -> Optional[str]:
    for earlier in (e for e in entries if e.key == key and e.session != session_id):
        other = set(set_of(earlier))
        difference = len(pod_set ^ other)
        if 0 < difference < rule.min_difference:
            return (f"its {what} differs from that of session {earlier.session} ({earlier.at:%Y-%m-%d}) over the same input in {difference} pod(s): "
                    f"two sums over sets differing in fewer than {rule.min_difference} pods would reveal the inputs of those pods (differencing)")
    return None
