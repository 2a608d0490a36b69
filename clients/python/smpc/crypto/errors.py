"""Typed refusals of the secure-aggregation protocol and its cryptography (docs/protocols/secure-aggregation.md).

Each refusal names its reason: the class (and ``code``, the protocol's error name) says what was refused, the message says
which field, party or message, and never a private value.
"""

from __future__ import annotations

from ..errors import SmpcError


class ProtocolError(SmpcError):
    """A protocol message, input or parameter was refused; ``code`` is the specification's error name."""

    code = "Protocol"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{self.code}: {message}")
        self.field = field


def _error(name: str, doc: str) -> type[ProtocolError]:
    return type(name, (ProtocolError,), {"code": name, "__doc__": doc, "__module__": __name__})


Malformed = _error("Malformed", "Truncated, trailing, wrongly versioned or otherwise unparsable bytes.")
BadSignature = _error("BadSignature", "A signature does not verify under the verifier's own parameters.")
IdentityMismatch = _error("IdentityMismatch", "A party's identity key is missing from the pins or differs from its pin.")
LowOrderPoint = _error("LowOrderPoint", "An X25519 public key is a low-order point, or a shared secret is all zero.")
DecryptionFailed = _error("DecryptionFailed", "An AES-GCM tag did not verify.")
SenderNotAuthenticated = _error("SenderNotAuthenticated", "An envelope or response is not authenticated to its named sender.")
InsufficientParties = _error("InsufficientParties", "Fewer than t parties remain for a step.")
Contradictory = _error("Contradictory", "A retry differs from what was already answered, or an unexpected owner or kind.")
InconsistentShares = _error("InconsistentShares", "Shares that do not lie on one polynomial, or a share of another party or index.")
OutOfOrder = _error("OutOfOrder", "A step called in the wrong state.")
UnknownParty = _error("UnknownParty", "A message names a party outside the session, or addressed to another party.")
Duplicate = _error("Duplicate", "Two messages of one party where one is expected.")
NonFiniteValue = _error("NonFiniteValue", "NaN or an infinity in an input.")
ValueOutOfBounds = _error("ValueOutOfBounds", "An input value outside its field's declared bounds.")
BoundsExceedFieldRange = _error("BoundsExceedFieldRange", "A sum over n parties could wrap the field.")
InvalidParameters = _error("InvalidParameters", "Session parameters that no party may use.")
DisclosureRefused = _error("DisclosureRefused", "A party refuses to reveal both share kinds of one pod.")

__all__ = [
    "ProtocolError", "Malformed", "BadSignature", "IdentityMismatch", "LowOrderPoint", "DecryptionFailed",
    "SenderNotAuthenticated", "InsufficientParties", "Contradictory", "InconsistentShares", "OutOfOrder", "UnknownParty",
    "Duplicate", "NonFiniteValue", "ValueOutOfBounds", "BoundsExceedFieldRange", "InvalidParameters", "DisclosureRefused",
]
