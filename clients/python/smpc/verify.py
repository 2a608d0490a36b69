"""A pod's check of a session's modeller signature before its first protocol step (signatures.md, "Pods verify").

1. recompute the statement from the session as served (``malformed`` if it cannot be);
2. require ``modellerSignature`` (``unsigned``);
3. read the modeller's identity key from the registry (``no-identity``) and compute its fingerprint here — the
   registry's own fingerprint field is not trusted;
4. resolve it through the pin store (configured or hand-added pins win; first use pinned loudly when allowed; a changed
   key is ``pin-mismatch``);
5. verify the Ed25519 signature with the pinned key (``bad-signature``).

Once a session verified, every later copy must give the identical statement byte for byte (``changed``).
The modeller's own check of the service's echo is :func:`require_same`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import threading
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from .errors import SmpcError
from .identity import fingerprint as compute_fingerprint, fingerprint_matches, verify_signature
from .pins import PinKinds, PinMismatchError, PinStore
from .statements import StatementError, cancel_statement, served_statement

__all__ = [
    "UnverifiedReasons",
    "UnverifiedSessionError",
    "SessionMismatchError",
    "VerifiedModeller",
    "ModellerVerifier",
    "verify_session",
    "require_same",
]


class UnverifiedReasons:
    """Why a pod refuses a session's modeller signature (the constants of .NET ``UnverifiedReasons``)."""

    UNSIGNED = "unsigned"
    NO_IDENTITY = "no-identity"
    PIN_MISMATCH = "pin-mismatch"
    BAD_SIGNATURE = "bad-signature"
    CHANGED = "changed"
    MALFORMED = "malformed"
    ALL = (UNSIGNED, NO_IDENTITY, PIN_MISMATCH, BAD_SIGNATURE, CHANGED, MALFORMED)


class UnverifiedSessionError(SmpcError):
    """The session's modeller signature does not hold for this pod: it sends nothing for the session but a decline."""

    def __init__(self, reason: str, message: str, session: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.session = session


class SessionMismatchError(SmpcError):
    """The service stores other parameters than the modeller asked for and signed (its echo gives another statement)."""


@dataclasses.dataclass(frozen=True)
class VerifiedModeller:
    """A modeller whose signature of a session verified against its pinned identity."""

    tenant: str
    id: str
    fingerprint: str
    identity_key: bytes = b""

    def is_allowed_by(self, entries: Optional[Iterable[str]]) -> bool:
        """
        Whether an allow-list admits this modeller: an empty (or missing) list admits every verified modeller; an entry
        is a fingerprint ``sha256:…`` (matched against the pinned key) or a modeller id (matched because its key is pinned
        and its signature, which names the id, verified).
        """
        entries = list(entries or [])
        if not entries:
            return True
        for e in entries:
            if e.strip().lower().startswith("sha256:"):
                if e.strip().lower() == self.fingerprint.lower():
                    return True
            elif e == self.id:
                return True
        return False


def _refuse(session: Mapping[str, Any], reason: str, detail: str) -> UnverifiedSessionError:
    return UnverifiedSessionError(reason, f"session {session.get('id')}: refused, modeller signature {reason}: {detail}", session)


class ModellerVerifier:
    """
    Verifies sessions for one pod (or one modeller's pins) and remembers each verified statement, so that a later copy
    the service serves must be the same byte for byte. Thread-safe.
    """

    def __init__(self, client: Any, pins: PinStore) -> None:
        self.client = client
        self.pins = pins
        self._verified: Dict[Tuple[str, str], Tuple[bytes, VerifiedModeller]] = {}
        self._lock = threading.Lock()

    def verify(self, session: Mapping[str, Any]) -> VerifiedModeller:
        """Verifies ``session`` (a ``SessionResponse`` dict); raises :class:`UnverifiedSessionError` naming the reason."""
        try:
            statement = served_statement(session)
        except (StatementError, ValueError, TypeError, KeyError, AttributeError) as e:
            raise _refuse(session, UnverifiedReasons.MALFORMED, f"its parameters as served are not a valid statement ({e})") from None
        key = (session.get("tenant"), session.get("id"))
        with self._lock:
            known = self._verified.get(key)
        if known is not None:
            if known[0] != statement:
                raise _refuse(session, UnverifiedReasons.CHANGED,
                              "the service now serves other parameters than the ones the modeller signed and this pod verified")
            return known[1]
        modeller = verify_session(session, self.pins, self.client, statement=statement)
        with self._lock:
            self._verified.setdefault(key, (statement, modeller))
            return self._verified[key][1]

    def verified(self, tenant: str, session_id: str) -> Optional[VerifiedModeller]:
        """The modeller this verifier verified for a session, or None."""
        with self._lock:
            known = self._verified.get((tenant, session_id))
            return None if known is None else known[1]

    def cancelled_by_modeller(self, session: Mapping[str, Any]) -> bool:
        """
        Whether a cancelled session's cancel carries a valid signature of the modeller this pod verified for it (the cancel
        statement over the reason exactly as signed). False: the service or the tenant admin ended it.
        """
        c = session.get("cancellation") or {}
        encoded = c.get("signature")
        with self._lock:
            known = self._verified.get((session.get("tenant"), session.get("id")))
        if not encoded or known is None or c.get("by") != known[1].id:
            return False
        try:
            signature = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return False
        return verify_signature(known[1].identity_key, cancel_statement(session["tenant"], session["id"], c.get("signedReason")), signature)

    def forget(self, tenant: str, session_id: str) -> None:
        """Drops what is remembered of a finished session."""
        with self._lock:
            self._verified.pop((tenant, session_id), None)


def verify_session(session: Mapping[str, Any], pins: PinStore, client: Any, *, statement: Optional[bytes] = None) -> VerifiedModeller:
    """
    One verification of ``session`` against the modeller's pinned identity (steps 1–5 above); raises
    :class:`UnverifiedSessionError`. ``client`` needs ``get_modeller(tenant, modeller_id) -> dict``.
    """
    if statement is None:
        try:
            statement = served_statement(session)
        except (StatementError, ValueError, TypeError, KeyError, AttributeError) as e:
            raise _refuse(session, UnverifiedReasons.MALFORMED, f"its parameters as served are not a valid statement ({e})") from None
    tenant, modeller_id = session.get("tenant"), session.get("modellerId")
    encoded = session.get("modellerSignature")
    if not encoded:
        raise _refuse(session, UnverifiedReasons.UNSIGNED, f"it carries no signature of modeller {modeller_id}")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _refuse(session, UnverifiedReasons.BAD_SIGNATURE, "its modeller signature is not base64") from None
    member = client.get_modeller(tenant, modeller_id)
    presented = (member or {}).get("identityPublicKey")
    if not presented:
        raise _refuse(session, UnverifiedReasons.NO_IDENTITY,
                      f"modeller {modeller_id} has no identity key (register it with one: smpc modeller add --identity-public-key)")
    try:
        public_key = base64.b64decode(presented, validate=True)
    except (binascii.Error, ValueError):
        raise _refuse(session, UnverifiedReasons.NO_IDENTITY, f"the registry's identity key of modeller {modeller_id} is not base64") from None
    try:
        # The fingerprint is computed here from the key itself: the registry's fingerprint field is not trusted.
        pinned = pins.resolve(tenant, PinKinds.MODELLER, modeller_id, compute_fingerprint(public_key))
    except PinMismatchError as e:
        raise _refuse(session, UnverifiedReasons.PIN_MISMATCH, str(e)) from None
    if not fingerprint_matches(pinned, public_key):
        raise _refuse(session, UnverifiedReasons.PIN_MISMATCH, f"modeller {modeller_id}'s key does not match its pin {pinned}")
    if not verify_signature(public_key, statement, signature):
        raise _refuse(session, UnverifiedReasons.BAD_SIGNATURE,
                      f"the signature does not verify with modeller {modeller_id}'s pinned identity {pinned} over the session as served "
                      "(the service changed it, or the modeller did not sign it)")
    return VerifiedModeller(tenant, modeller_id, pinned, bytes(public_key))


def require_same(request_statement: bytes, served: Mapping[str, Any]) -> None:
    """
    The modeller's echo check: the session the service answers with must give the very statement the modeller signed;
    raises :class:`SessionMismatchError` otherwise.
    """
    try:
        echo = served_statement(served)
    except (StatementError, ValueError, TypeError, KeyError, AttributeError) as e:
        raise SessionMismatchError(f"session {served.get('id')}: the service's answer is not a valid session ({e})") from None
    if echo != request_statement:
        raise SessionMismatchError(
            f"session {served.get('id')}: the service stores other parameters than the modeller asked for and signed; refusing the session")
