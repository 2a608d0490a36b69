"""Typed refusals of PSI (docs/protocols/psi.md): every refusal names its reason."""

from __future__ import annotations

from typing import Any

from ..errors import SmpcError


class PsiError(SmpcError):
    """Base class of every PSI refusal or failure."""


class RecordRefused(PsiError):
    """A record (or one value of it) that cannot be canonicalised; ``reason`` is a stable code of psi.md "Reason codes"."""

    def __init__(self, reason: str, message: str, column: str | None = None) -> None:
        super().__init__(f"{reason}: {message}" if column is None else f"column '{column}': {reason}: {message}")
        self.reason = reason
        self.column = column


class ProtocolViolation(PsiError):
    """A message of the other party that breaks the protocol.

    ``code`` is one of ``malformed``, ``invalid-element``, ``duplicate``, ``policy-refused``, ``out-of-order``,
    ``bad-signature``, ``unsupported-version`` (the C# ``ProtocolError`` values, kebab-cased).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class RsaKeyRefused(PsiError):
    """The pod's RSA key or its certification proof is refused (psi.md "Certified RSA keys").

    ``reason`` is one of ``exponent-not-65537``, ``wrong-modulus-size``, ``even-modulus``, ``small-factor``,
    ``proof-missing``, ``proof-malformed``, ``proof-invalid``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"RSA key refused ({reason}): {message}")
        self.reason = reason


class PsiFailed(PsiError):
    """A PSI session ended without a result: the pod declined, the deadline passed, a check failed, or it was cancelled."""

    def __init__(self, message: str, session: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.session = session


class CountWithheld(PsiFailed):
    """ecdh cardinality: the pod sealed "withheld" because the intersection is below its minimum ``minimum``."""

    def __init__(self, minimum: int, session: dict[str, Any] | None = None) -> None:
        super().__init__(
            f"The pod declined: the intersection is below the pod's minimum of {minimum}, so the count is withheld", session)
        self.minimum = minimum
