"""What the PSI modeller and pod share: wire names, waiting on a session, strictly ascending sets."""

from __future__ import annotations

import time
from typing import Any, Callable

from .._progress import Progress  # noqa: F401 (re-exported: psi callers import it from here)
from .errors import ProtocolViolation, PsiFailed

POD_SET, QUERY, REPLY, DOUBLE_BLINDED = "pod-set", "query", "reply", "double-blinded"
ECDH, RSA_BLIND, KKRT = "ecdh", "rsa-blind", "kkrt"
INTERSECTION, CARDINALITY = "intersection", "cardinality"
ECDH_VERSION = "ecdh-oprf-v1"
KKRT_VERSION = "kkrt-v1"
TAG_BYTES = 32
ELEMENT_BYTES = 32

Session = dict[str, Any]


def ended_text(session: Session) -> str | None:
    """Why the session ended, or None while it runs."""
    phase = session.get("phase")
    psi = session.get("psi") or {}
    if phase == "failed":
        return psi.get("failureReason") or "The session failed."
    if phase == "cancelled":
        c = session.get("cancellation") or {}
        by = c.get("by")
        who = "the tenant admin" if by is None else f"{str(c.get('role', '')).lower()} {by}".strip()
        reason = c.get("reason")
        return f"The session was cancelled by {who}" + (f": {reason}" if reason else "")
    if phase == "completed":
        return "The session is completed."
    return None


def wait_for(client: Any, tenant: str, session: Session, done: Callable[[Session], bool], what: str,
             on_copy: Callable[[Session], None] | None = None, deadline: float | None = None,
             stop: Any = None) -> Session:
    """Long-polls ``session`` until ``done``; raises PsiFailed when it ends first (naming why), at ``deadline``
    (``time.monotonic()``) or once ``stop`` (a ``threading.Event``: the pod is stopping) is set. ``on_copy`` sees every
    copy served (the pod re-checks the signed statement on each)."""
    poll = 20 if stop is None else 5
    while True:
        if stop is not None and stop.is_set():
            raise PsiFailed(f"stopped while waiting for {what}", session)
        if on_copy is not None:
            on_copy(session)
        if done(session):
            return session
        reason = ended_text(session)
        if reason is not None:
            raise PsiFailed(reason, session)
        if deadline is not None and time.monotonic() > deadline:
            raise PsiFailed(f"gave up waiting for {what}", session)
        session = client.get_session(tenant, session["id"], wait_for_version=session["version"], wait_seconds=poll)


def setup_stored(session: Session) -> bool:
    """kkrt: the pod's setup (its ``pod-set`` payload) is stored (``podSetStored``; ``setupStored`` is read too)."""
    psi = session.get("psi") or {}
    return bool(psi.get("podSetStored") or psi.get("setupStored"))


def split(data: bytes, size: int, what: str) -> list[bytes]:
    """Fixed-size elements of a payload; any other length is ``malformed``."""
    if len(data) % size:
        raise ProtocolViolation("malformed", f"{what}: {len(data)} bytes is not a whole number of {size}-byte elements")
    return [data[i:i + size] for i in range(0, len(data), size)]


def require_strictly_ascending(elements: list[bytes], what: str) -> None:
    """Sorted is shuffled: a published set must be strictly ascending (which also rules out repeats)."""
    for i in range(1, len(elements)):
        if not elements[i - 1] < elements[i]:
            raise ProtocolViolation("malformed", f"{what} is not strictly ascending at element {i}")


def sorted_unique(elements: list[bytes]) -> list[bytes]:
    """Sorted strictly ascending (duplicates removed)."""
    return sorted(set(elements))


def int_field(value: Any) -> int | None:
    """An int64 field (the service may send numbers as strings)."""
    return None if value is None else int(value)


