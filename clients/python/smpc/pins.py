"""The identities a party trusts, kept on its own machine (the .NET ``Client/Identity/PinStore``, same file format).

Configured pins win, then pins in the file (added by hand, or taken on first use from the service's registry with a loud
``FIRST USE`` warning when trust on first use is on). Never a silent fallback to the registry: once a member is pinned,
any other fingerprint is a hard stop (:class:`PinMismatchError`). The file is owner-only and replaced atomically, so the
.NET CLI/agent and this SDK can share it:

.. code-block:: json

    {
      "version": 1,
      "pins": [
        {"tenant": "acme", "kind": "modeller", "id": "alice", "fingerprint": "sha256:…", "source": "first-use",
         "pinnedAt": "2026-12-06T14:36:40.123456+00:00"}
      ]
    }
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import os
import pathlib
import threading
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union

from ._durable import write_owner_only
from .errors import SmpcError
from .identity import is_fingerprint

__all__ = ["Pin", "PinStore", "PinMismatchError", "PinFileError", "PinKinds", "PinSources"]

log = logging.getLogger("smpc.pins")

FORMAT_VERSION = 1
EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class PinKinds:
    """What a pin names: a pod's or a modeller's identity key (separate namespaces)."""

    POD = "pod"
    MODELLER = "modeller"
    ALL = (POD, MODELLER)


class PinSources:
    """Where a pin came from."""

    CONFIGURED = "configured"
    ADDED = "added"
    FIRST_USE = "first-use"


class PinMismatchError(SmpcError):
    """
    A member presents another identity than the one pinned for it (or it is unpinned and trust on first use is off, or
    it has no identity): a hard stop. A real rotation is accepted only when a person changes the pin.
    """

    def __init__(self, tenant: str, kind: str, id: str, pinned: Optional[str], presented: Optional[str], message: str) -> None:
        super().__init__(message)
        self.tenant, self.kind, self.id, self.pinned, self.presented = tenant, kind, id, pinned, presented


class PinFileError(SmpcError):
    """The pins file is damaged (not JSON, another version, a bad or duplicate pin): fix or remove it."""


@dataclasses.dataclass(frozen=True)
class Pin:
    """One pinned identity: the fingerprint a member of a tenant must present, where the pin came from, and when."""

    tenant: str
    kind: str
    id: str
    fingerprint: str
    source: str = PinSources.CONFIGURED
    pinned_at: _dt.datetime = EPOCH

    def to_json(self) -> dict:
        """The pin as the pins file holds it (camelCase keys, ISO 8601 time with offset)."""
        return {"tenant": self.tenant, "kind": self.kind, "id": self.id, "fingerprint": self.fingerprint, "source": self.source,
                "pinnedAt": _format_time(self.pinned_at)}


Key = Tuple[str, str, str]
PathLike = Union[str, os.PathLike]


def _format_time(t: _dt.datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return t.isoformat()


def _parse_time(value: object, where: str) -> _dt.datetime:
    if not isinstance(value, str):
        raise PinFileError(f"{where}: pinnedAt is missing")
    v = value.strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    try:
        t = _dt.datetime.fromisoformat(v)
    except ValueError:
        raise PinFileError(f"{where}: pinnedAt '{value}' is not a date and time") from None
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


def _normalise(fingerprint: str) -> str:
    return fingerprint.strip().lower()


def _describe(kind: str, id: str, tenant: str) -> str:
    return f"{kind} '{id}' of tenant '{tenant}'"


def _order(pin: Pin) -> str:
    return f"{pin.tenant}\n{pin.kind}\n{pin.id}"


def _validate_member(tenant: str, kind: str, id: str) -> None:
    if not isinstance(tenant, str) or not tenant.strip():
        raise ValueError("A pin needs a tenant.")
    if kind not in PinKinds.ALL:
        raise ValueError(f"A pin's kind is '{PinKinds.POD}' or '{PinKinds.MODELLER}', not '{kind}'.")
    if not isinstance(id, str) or not id.strip():
        raise ValueError("A pin needs a member id.")


def _validate(tenant: str, kind: str, id: str, fingerprint: str) -> str:
    _validate_member(tenant, kind, id)
    f = _normalise(fingerprint or "") if isinstance(fingerprint, str) else ""
    if not is_fingerprint(f):
        raise ValueError(f"'{fingerprint}' is not an identity fingerprint: sha256: followed by 64 hex digits "
                         "(the one `smpc pod show` or `smpc modeller show` prints).")
    return f


class PinStore:
    """
    A pin store at ``path`` (None: first-use pins are kept in memory only) with ``configured`` pins that win over stored
    ones. ``notice`` hears each first use (default: a warning through the ``smpc.pins`` logger).
    """

    def __init__(
        self,
        path: Optional[PathLike] = None,
        configured: Iterable[Pin] = (),
        trust_on_first_use: bool = True,
        notice: Optional[Callable[[str], None]] = None,
        clock: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.timezone.utc),
    ) -> None:
        self.path: Optional[pathlib.Path] = None if path is None else pathlib.Path(path).absolute()
        self.trust_on_first_use = bool(trust_on_first_use)
        self._notice = notice or (lambda line: log.warning("%s", line))
        self._clock = clock
        self._lock = threading.RLock()
        self._configured: Dict[Key, Pin] = {}
        self._memory: Dict[Key, Pin] = {}
        for pin in configured:
            f = _validate(pin.tenant, pin.kind, pin.id, pin.fingerprint)
            checked = dataclasses.replace(pin, fingerprint=f, source=PinSources.CONFIGURED)
            other = self._configured.get(_key(checked))
            if other is not None and other.fingerprint != checked.fingerprint:
                raise ValueError(f"Two different pins are configured for {pin.kind} '{pin.id}' of tenant '{pin.tenant}'.")
            self._configured[_key(checked)] = checked
        if self.path is not None:
            self._read_file()  # a damaged file is reported now, not in the middle of a session

    @staticmethod
    def default_path() -> pathlib.Path:
        """The CLI's default pins file: ``$SMPC_PINS``, else ``~/.config/smpc/pins.json`` (as the .NET CLI on Linux)."""
        env = os.environ.get("SMPC_PINS")
        if env:
            return pathlib.Path(env)
        base = os.environ.get("XDG_CONFIG_HOME") or str(pathlib.Path.home() / ".config")
        return pathlib.Path(base) / "smpc" / "pins.json"

    def list(self) -> List[Pin]:
        """Every pin: configured ones first, then stored ones (a stored pin hidden by a configured one is not listed)."""
        with self._lock:
            stored = self._stored()
            return (sorted(self._configured.values(), key=_order)
                    + sorted((p for k, p in stored.items() if k not in self._configured), key=_order))

    def find(self, tenant: str, kind: str, id: str) -> Optional[Pin]:
        """The pin for a member, or None."""
        with self._lock:
            key = (tenant, kind, id)
            return self._configured.get(key) or self._stored().get(key)

    def add(self, tenant: str, kind: str, id: str, fingerprint: str) -> Pin:
        """Pins a member by hand. The same fingerprint again is a no-op; a different one is refused until the old pin is removed."""
        f = _validate(tenant, kind, id, fingerprint)
        pin = Pin(tenant, kind, id, f, PinSources.ADDED, self._clock())
        with self._lock:
            existing = self._configured.get(_key(pin)) or self._stored().get(_key(pin))
            if existing is not None:
                if existing.fingerprint == pin.fingerprint:
                    return existing
                raise PinMismatchError(tenant, kind, id, existing.fingerprint, pin.fingerprint,
                                       f"{_describe(kind, id, tenant)} is already pinned to {existing.fingerprint} ({existing.source}); "
                                       "remove that pin first (smpc pins remove).")
            self._write(pin)
            return pin

    def remove(self, tenant: str, kind: str, id: str) -> bool:
        """Removes a stored pin; False when there was none. Configured pins live in the configuration and cannot be removed here."""
        with self._lock:
            key = (tenant, kind, id)
            if key in self._configured:
                raise ValueError(f"{_describe(kind, id, tenant)} is pinned in the configuration; change it there.")
            if self.path is None:
                return self._memory.pop(key, None) is not None
            stored = self._read_file()
            if stored.pop(key, None) is None:
                return False
            self._write_file(stored.values())
            return True

    def resolve(self, tenant: str, kind: str, id: str, presented: Optional[str]) -> str:
        """
        The fingerprint to hold a member to. A pinned member must present exactly its pin; an unpinned one is pinned now
        from ``presented`` if trust on first use is on (with a loud ``FIRST USE`` notice), otherwise refused.
        """
        _validate_member(tenant, kind, id)
        if presented is not None and not is_fingerprint(_normalise(presented)):
            raise PinMismatchError(tenant, kind, id, None, presented,
                                   f"The service presents '{presented}' as the identity of {_describe(kind, id, tenant)}: not a fingerprint.")
        with self._lock:
            key = (tenant, kind, id)
            pin = self._configured.get(key) or self._stored().get(key)
            if pin is not None:
                if presented is not None and _normalise(presented) != pin.fingerprint:
                    raise PinMismatchError(
                        tenant, kind, id, pin.fingerprint, _normalise(presented),
                        f"{_describe(kind, id, tenant)} presents identity {_normalise(presented)}, but it is pinned to {pin.fingerprint} ({pin.source}). "
                        "Refusing. If the member really rotated its key, check the new fingerprint with it out of band, then `smpc pins remove` and `smpc pins add`.")
                return pin.fingerprint
            if presented is None:
                raise PinMismatchError(tenant, kind, id, None, None, f"{_describe(kind, id, tenant)} has no identity key, so it cannot be pinned.")
            if not self.trust_on_first_use:
                raise PinMismatchError(
                    tenant, kind, id, None, _normalise(presented),
                    f"{_describe(kind, id, tenant)} is not pinned and trust on first use is off; pin it (smpc pins add, or the configuration's pins) "
                    "with the fingerprint it shows you out of band.")
            first = Pin(tenant, kind, id, _normalise(presented), PinSources.FIRST_USE, self._clock())
            self._write(first)
            self._notice(f"FIRST USE: pinned {_describe(kind, id, tenant)} to {first.fingerprint}, as the service presents it. "
                         f"Check this fingerprint with the {kind} out of band; any other key will be refused from now on "
                         f"({self.path if self.path is not None else 'pins kept in memory only'}).")
            return first.fingerprint

    # ---- storage ----

    def _stored(self) -> Dict[Key, Pin]:
        return self._memory if self.path is None else self._read_file()

    def _write(self, pin: Pin) -> None:
        if self.path is None:
            self._memory[_key(pin)] = pin
            return
        stored = self._read_file()  # read again: another process may have pinned meanwhile
        stored[_key(pin)] = pin
        self._write_file(stored.values())

    def _read_file(self) -> Dict[Key, Pin]:
        result: Dict[Key, Pin] = {}
        if self.path is None or not self.path.exists():
            return result
        try:
            parsed = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise PinFileError(f"The pins file {self.path} is not valid JSON ({e}); fix or remove it.") from None
        if not isinstance(parsed, dict):
            raise PinFileError(f"The pins file {self.path} is not a pins file.")
        fields = {str(k).lower(): v for k, v in parsed.items()}  # the .NET reader ignores the case of names
        version = fields.get("version")
        if version != FORMAT_VERSION:
            raise PinFileError(f"The pins file {self.path} has version {version}, this program reads version {FORMAT_VERSION}.")
        for raw in fields.get("pins") or []:
            if not isinstance(raw, dict):
                raise PinFileError(f"The pins file {self.path} holds a bad pin: {raw!r}")
            r = {str(k).lower(): v for k, v in raw.items()}
            try:
                f = _validate(r.get("tenant"), r.get("kind"), r.get("id"), r.get("fingerprint"))
            except ValueError as e:
                raise PinFileError(f"The pins file {self.path} holds a bad pin: {e}") from None
            pin = Pin(r["tenant"], r["kind"], r["id"], f, r.get("source") or PinSources.ADDED, _parse_time(r.get("pinnedat"), str(self.path)))
            if _key(pin) in result:
                raise PinFileError(f"The pins file {self.path} pins {_describe(pin.kind, pin.id, pin.tenant)} twice.")
            result[_key(pin)] = pin
        return result

    def _write_file(self, pins: Iterable[Pin]) -> None:
        assert self.path is not None
        document = {"version": FORMAT_VERSION, "pins": [p.to_json() for p in sorted(pins, key=_order)]}
        write_owner_only(self.path, json.dumps(document, indent=2).encode("utf-8"), narrow_directory=False)


def _key(pin: Pin) -> Key:
    return (pin.tenant, pin.kind, pin.id)
