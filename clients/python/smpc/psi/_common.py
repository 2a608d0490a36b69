"""What the PSI modeller and pod share: wire names, waiting on a session, strictly ascending sets."""

from __future__ import annotations

import time
from typing import Any, Callable

from .errors import ProtocolViolation, PsiFailed

POD_SET, QUERY, REPLY, DOUBLE_BLINDED = "pod-set", "query", "reply", "double-blinded"
ECDH, RSA_BLIND = "ecdh", "rsa-blind"
INTERSECTION, CARDINALITY = "intersection", "cardinality"
ECDH_VERSION = "ecdh-oprf-v1"
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


class Progress:
    """Progress of a long step: ``callback(step, done, total)``, or tqdm bars (``True``; python3-tqdm), or nothing."""

    BATCH = 4096

    def __init__(self, progress: Any = None) -> None:
        self._callback = progress if callable(progress) else None
        self._tqdm = None
        self._bars: dict[str, Any] = {}
        if progress is True:
            try:
                from tqdm import tqdm  # noqa: PLC0415 (optional)
                self._tqdm = tqdm
            except ImportError:
                self._tqdm = None

    def __call__(self, step: str, done: int, total: int | None = None) -> None:
        if self._callback is not None:
            self._callback(step, done, total)
        if self._tqdm is not None:
            bar = self._bars.get(step)
            if bar is None:
                bar = self._bars[step] = self._tqdm(total=total, desc=step, unit="el", leave=True)
            bar.update(done - bar.n)
            if total is not None and done >= total:
                bar.close()

    def close(self) -> None:
        """Closes any open bars."""
        for bar in self._bars.values():
            bar.close()

    def batches(self, step: str, items: list[Any], work: Callable[[list[Any]], bytes]) -> bytes:
        """``work`` over ``items`` in batches, reporting ``step`` after each; the outputs concatenated."""
        out = bytearray()
        total = len(items)
        for start in range(0, total, self.BATCH):
            out += work(items[start:start + self.BATCH])
            self(step, min(start + self.BATCH, total), total)
        return bytes(out)
