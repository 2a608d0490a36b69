"""Wire messages of secure aggregation (secure-aggregation.md, "Message formats") and the rules shared by pods and modeller.

Every message starts ``01 ‖ type``; parsers refuse truncation, trailing bytes, wrong versions and types (``Malformed``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..crypto import pairwise_box, sealed_box
from ..crypto.encoding import Reader, be32, text
from ..crypto.errors import (BadSignature, Contradictory, Duplicate, IdentityMismatch, InconsistentShares,
                             InsufficientParties, Malformed, SenderNotAuthenticated, UnknownParty)
from ..crypto.hkdf import hkdf_sha256
from ..crypto.x25519 import check_peer_key, exchange
from .params import SessionParameters

KEY_BUNDLE_LABEL = b"smpc/secagg/keybundle/v3"
SHARE_AD_LABEL = b"smpc/secagg/share/v1"
PAIR_SALT = b"smpc/secagg/pair/v1"
UNMASK_AD_LABEL = b"smpc/secagg/unmask/v1"
UNMASK_SIG_LABEL = b"smpc/secagg/unmask-sig/v1"
SELF_MASK_KIND, MASK_KEY_KIND = 1, 2


def fingerprint(identity_public: bytes) -> str:
    """``sha256:<hex SHA-256 of the Ed25519 public key>``."""
    return "sha256:" + hashlib.sha256(identity_public).hexdigest()


def fingerprint_matches(pinned: str | None, identity_public: bytes) -> bool:
    """Compares a pin (trimmed, lower-cased) with a key's fingerprint in fixed time."""
    if not pinned:
        return False
    return hmac.compare_digest(pinned.strip().lower().encode(), fingerprint(identity_public).encode())


def _header(r: Reader, kind: int, what: str) -> str:
    if r.u8() != 1:
        raise Malformed(f"{what}: unknown version")
    if r.u8() != kind:
        raise Malformed(f"{what}: wrong message type")
    return r.text()


@dataclass(frozen=True)
class KeyBundle:
    """``01 01 ‖ str(session) ‖ BE32 party ‖ C ‖ S ‖ identity key ‖ signature``."""

    session_id: str
    party: int
    seal_key: bytes
    mask_key: bytes
    identity_key: bytes
    signature: bytes

    def to_bytes(self) -> bytes:
        """The wire bytes."""
        return (b"\x01\x01" + text(self.session_id) + be32(self.party) + self.seal_key + self.mask_key
                + self.identity_key + self.signature)

    @classmethod
    def parse(cls, data: bytes) -> "KeyBundle":
        """Parses a bundle (``Malformed`` on any deviation)."""
        r = Reader(data, "key bundle")
        s = _header(r, 1, "key bundle")
        b = cls(s, r.u32(), r.take(32), r.take(32), r.take(32), r.take(64))
        r.end()
        return b

    @staticmethod
    def signed_bytes(p: SessionParameters, party: int, seal_key: bytes, mask_key: bytes) -> bytes:
        """``"smpc/secagg/keybundle/v3" ‖ str(session) ‖ BE32 round ‖ BE32 i ‖ C_i ‖ S_i ‖ SHA-256(P)``."""
        return KEY_BUNDLE_LABEL + text(p.session_id) + be32(p.round) + be32(party) + seal_key + mask_key + p.digest()

    def verify_signature(self, p: SessionParameters) -> bool:
        """True when the signature verifies under the verifier's own parameters."""
        try:
            Ed25519PublicKey.from_public_bytes(self.identity_key).verify(
                self.signature, self.signed_bytes(p, self.party, self.seal_key, self.mask_key))
            return True
        except (InvalidSignature, ValueError):
            return False


@dataclass(frozen=True)
class ShareEnvelope:
    """``01 02 ‖ str(session) ‖ BE32 from ‖ BE32 to ‖ BE32 len ‖ pairwise box``."""

    session_id: str
    sender: int
    recipient: int
    box: bytes

    def to_bytes(self) -> bytes:
        """The wire bytes."""
        return b"\x01\x02" + text(self.session_id) + be32(self.sender) + be32(self.recipient) + be32(len(self.box)) + self.box

    @classmethod
    def parse(cls, data: bytes) -> "ShareEnvelope":
        """Parses an envelope."""
        r = Reader(data, "share envelope")
        s = _header(r, 2, "share envelope")
        sender, recipient, n = r.u32(), r.u32(), r.u32()
        e = cls(s, sender, recipient, r.take(n))
        r.end()
        return e


def _ascending(values: Sequence[int], what: str) -> None:
    if any(b <= a for a, b in zip(values, values[1:])):
        raise Malformed(f"{what} is not strictly ascending")


@dataclass(frozen=True)
class UnmaskRequest:
    """``01 04 ‖ str(session) ‖ BE32 |U2| ‖ U2 ‖ BE32 |U3| ‖ U3`` (strictly ascending lists)."""

    session_id: str
    share_senders: tuple[int, ...]
    survivors: tuple[int, ...]

    def to_bytes(self) -> bytes:
        """The wire bytes."""
        return (b"\x01\x04" + text(self.session_id) + be32(len(self.share_senders)) + b"".join(be32(x) for x in self.share_senders)
                + be32(len(self.survivors)) + b"".join(be32(x) for x in self.survivors))

    @classmethod
    def parse(cls, data: bytes) -> "UnmaskRequest":
        """Parses a request; unordered or repeated lists are ``Malformed``."""
        r = Reader(data, "unmask request")
        s = _header(r, 4, "unmask request")
        lists = []
        for what in ("share senders", "survivors"):
            k = r.u32()
            if k > r.remaining() // 4:
                raise Malformed("unmask request is truncated")
            vals = tuple(r.u32() for _ in range(k))
            _ascending(vals, what)
            lists.append(vals)
        r.end()
        return cls(s, lists[0], lists[1])

    def digest(self) -> bytes:
        """``SHA-256(UnmaskRequest bytes)``."""
        return hashlib.sha256(self.to_bytes()).digest()


@dataclass(frozen=True)
class UnmaskResponse:
    """``01 05 ‖ str(session) ‖ BE32 party ‖ BE32 len ‖ sealed box``."""

    session_id: str
    party: int
    box: bytes

    def to_bytes(self) -> bytes:
        """The wire bytes."""
        return b"\x01\x05" + text(self.session_id) + be32(self.party) + be32(len(self.box)) + self.box

    @classmethod
    def parse(cls, data: bytes) -> "UnmaskResponse":
        """Parses a response."""
        r = Reader(data, "unmask response")
        s = _header(r, 5, "unmask response")
        party, n = r.u32(), r.u32()
        m = cls(s, party, r.take(n))
        r.end()
        return m


# --- rules shared by the party and the unmasker -------------------------------------------------------------------

def check_session(p: SessionParameters, session_id: str, what: str) -> None:
    """A message of another session is ``Malformed``."""
    if session_id != p.session_id:
        raise Malformed(f"{what} is for session '{session_id}', expected '{p.session_id}'")


def check_party(p: SessionParameters, party: int) -> None:
    """A party outside 1..n is ``UnknownParty``."""
    if not 1 <= party <= p.n:
        raise UnknownParty(f"party {party} is not in 1..{p.n}")


def validate_bundles(p: SessionParameters, bundles: Iterable[KeyBundle], pins: Mapping[int, str]) -> dict[int, KeyBundle]:
    """Checks every bundle (session, party, duplicates, pin, signature, low-order keys); at least t; ascending by party."""
    result: dict[int, KeyBundle] = {}
    for b in bundles:
        check_session(p, b.session_id, "key bundle")
        check_party(p, b.party)
        if b.party in result:
            raise Duplicate(f"two key bundles for party {b.party}")
        result[b.party] = b
        if not fingerprint_matches(pins.get(b.party), b.identity_key):
            raise IdentityMismatch(f"identity key of party {b.party} does not match a pinned fingerprint")
        if not b.verify_signature(p):
            raise BadSignature(f"key bundle of party {b.party} has no valid signature over this session's parameters "
                               "(forged, replayed from another round, signed under different parameters, or by a peer of an "
                               "older protocol version)")
        check_peer_key(b.seal_key, f"the seal key of party {b.party}")
        check_peer_key(b.mask_key, f"the mask key of party {b.party}")
    if len(result) < p.t:
        raise InsufficientParties(f"{len(result)} key bundles, threshold is {p.t}")
    return dict(sorted(result.items()))


def share_associated_data(p: SessionParameters, sender: int, recipient: int) -> bytes:
    """``"smpc/secagg/share/v1" ‖ str(session) ‖ BE32 round ‖ BE32 from ‖ BE32 to``."""
    return SHARE_AD_LABEL + text(p.session_id) + be32(p.round) + be32(sender) + be32(recipient)


def envelope_key(p: SessionParameters, own_seal_private: bytes, sender: int, recipient: int, sender_public: bytes,
                 recipient_public: bytes, own_is_sender: bool) -> bytes:
    """``K_{i→j}``, from either end."""
    peer = recipient_public if own_is_sender else sender_public
    return pairwise_box.envelope_key(own_seal_private, peer, p.session_id, p.round, sender, recipient, sender_public,
                                     recipient_public)


def encode_share_pair(owner: int, holder: int, self_share: bytes, key_share: bytes) -> bytes:
    """``01 ‖ BE32 owner ‖ BE32 holder ‖ x ‖ b-share ‖ x ‖ key-share`` with ``x = holder``."""
    x = bytes([holder])
    return b"\x01" + be32(owner) + be32(holder) + x + self_share + x + key_share


def decode_share_pair(data: bytes, owner: int, holder: int) -> tuple[bytes, bytes]:
    """The two shares of a share pair, after checking owner, holder and index."""
    r = Reader(data, "share pair")
    if r.u8() != 1:
        raise Malformed("share pair: unknown version")
    o, h, x1, b, x2, k = r.u32(), r.u32(), r.u8(), r.take(32), r.u8(), r.take(32)
    r.end()
    if o != owner or h != holder or x1 != holder or x2 != holder:
        raise InconsistentShares(f"envelope from party {owner} to party {holder} carries shares of another owner, holder or index")
    return b, k


def pair_seed(p: SessionParameters, own_mask_private: bytes, i: int, j: int, mask_i: bytes, mask_j: bytes) -> bytes:
    """``s_ij = HKDF(X25519(s_i, S_j), "smpc/secagg/pair/v1", str(session) ‖ BE32 round ‖ BE32 min ‖ BE32 max ‖ S_min ‖ S_max, 32)``."""
    z = exchange(own_mask_private, mask_j, f"the mask key of party {j}")
    lo, hi = (mask_i, mask_j) if i < j else (mask_j, mask_i)
    info = text(p.session_id) + be32(p.round) + be32(min(i, j)) + be32(max(i, j)) + lo + hi
    return hkdf_sha256(z, PAIR_SALT, info, 32)


def unmask_associated_data(p: SessionParameters, party: int, request: UnmaskRequest) -> bytes:
    """``"smpc/secagg/unmask/v1" ‖ str(session) ‖ BE32 round ‖ BE32 party ‖ SHA-256(UnmaskRequest bytes)``."""
    return UNMASK_AD_LABEL + text(p.session_id) + be32(p.round) + be32(party) + request.digest()


def unmask_body(party: int, entries: Sequence[tuple[int, int, bytes]]) -> bytes:
    """``02 ‖ BE32 party ‖ BE32 count ‖ count × (BE32 owner ‖ kind ‖ x ‖ share)`` with ``x = party``."""
    return (b"\x02" + be32(party) + be32(len(entries))
            + b"".join(be32(o) + bytes([k, party]) + s for o, k, s in entries))


def unmask_signed_bytes(p: SessionParameters, request: UnmaskRequest, body: bytes) -> bytes:
    """``"smpc/secagg/unmask-sig/v1" ‖ SHA-256(P) ‖ SHA-256(request) ‖ body``."""
    return UNMASK_SIG_LABEL + p.digest() + request.digest() + body


def open_unmask_response(p: SessionParameters, modeller_private: bytes, request: UnmaskRequest, response: UnmaskResponse,
                         identity_key: bytes) -> list[tuple[int, int, bytes]]:
    """Opens, verifies the signature under the responder's pinned identity, then parses the entries ``(owner, kind, share)``."""
    check_session(p, response.session_id, "unmask response")
    check_party(p, response.party)
    try:
        plain = sealed_box.open_box(modeller_private, response.box, unmask_associated_data(p, response.party, request))
    except Exception as e:  # DecryptionFailed, LowOrderPoint: not from this party for this request
        raise SenderNotAuthenticated(f"unmask response of party {response.party} does not open for this request ({e})") from None
    if len(plain) < 64:
        raise Malformed(f"unmask response of party {response.party} is shorter than a signature")
    body, sig = plain[:-64], plain[-64:]
    try:
        Ed25519PublicKey.from_public_bytes(identity_key).verify(sig, unmask_signed_bytes(p, request, body))
    except (InvalidSignature, ValueError):
        raise SenderNotAuthenticated(f"unmask response of party {response.party} is not signed by its pinned identity") from None
    r = Reader(body, "unmask response body")
    if r.u8() != 2:
        raise Malformed("unmask response: unknown plaintext version")
    party, count = r.u32(), r.u32()
    if party != response.party:
        raise InconsistentShares(f"unmask response of party {response.party} names party {party}")
    if count > r.remaining() // 38:
        raise Malformed("unmask response body is truncated")
    entries = []
    for _ in range(count):
        owner, kind, x, share = r.u32(), r.u8(), r.u8(), r.take(32)
        if entries and owner <= entries[-1][0]:
            raise Malformed("unmask response owners are not strictly ascending")
        if x != party:
            raise InconsistentShares(f"unmask response of party {party} carries a share at another index")
        entries.append((owner, kind, share))
    r.end()
    return entries


def check_request_shape(p: SessionParameters, request: UnmaskRequest) -> None:
    """``U3 ⊆ U2`` within 1..n and ``|U3| ≥ t``."""
    check_session(p, request.session_id, "unmask request")
    for x in request.share_senders:
        check_party(p, x)
    if not set(request.survivors) <= set(request.share_senders):
        raise Contradictory("survivors are not a subset of the share senders")
    if len(request.survivors) < p.t:
        raise InsufficientParties(f"{len(request.survivors)} survivors, threshold is {p.t}")
