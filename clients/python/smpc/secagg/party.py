"""One pod's side of secure aggregation as a pure state machine (secure-aggregation.md, "The protocol", steps 1–4).

No networking: each step takes messages and returns messages. ``export_state``/``import_state`` implement
"State format (version 2)" so a restarted pod resumes with byte-identical answers.

1. ``create_key_bundle``: X25519 ``(c_i, C_i)`` and ``(s_i, S_i)``; the bundle is signed over ``SHA-256(P)``.
2. ``create_share_envelopes``: checks every bundle (pins, signatures, low-order keys), draws ``b_i``, splits ``b_i`` and
   ``s_i`` t-of-|U1| over GF(2^8) and seals one pair per peer under ``K_{i→j}``.
3. ``create_masked_input``: opens every envelope addressed to it (else ``SenderNotAuthenticated``, nothing uploaded) and
   returns ``y_i = x_i + PRG(b_i) + Σ_{j>i} PRG(s_ij) − Σ_{j<i} PRG(s_ij)``.
4. ``create_unmask_response``: for ``(U2, U3)`` consistent with its own view, its share of ``b_j`` (``j ∈ U3``) or of ``s_j``
   (``j ∈ U2 \\ U3``), signed and sealed to ``M``; never both kinds for one pod.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from enum import IntEnum
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..crypto import pairwise_box, sealed_box, shamir
from ..crypto.encoding import Reader, be32, text
from ..crypto.errors import (Contradictory, DisclosureRefused, Duplicate, IdentityMismatch, InsufficientParties,
                             LowOrderPoint, Malformed, OutOfOrder, UnknownParty)
from ..crypto.hkdf import hkdf_sha256
from ..crypto.x25519 import KeyPair, is_low_order
from .masking import apply_stream, pair_context, self_context
from .messages import (MASK_KEY_KIND, SELF_MASK_KIND, KeyBundle, ShareEnvelope, UnmaskRequest, UnmaskResponse,
                       check_request_shape, decode_share_pair, encode_share_pair, envelope_key, pair_seed,
                       share_associated_data, unmask_associated_data, unmask_body, unmask_signed_bytes, validate_bundles)
from .params import SessionParameters

STATE_MAGIC = b"smpc/secagg/party-state"
STATE_VERSION = 2
STATE_MAC_SALT = b"smpc/secagg/party-state/mac/v1"
INPUT_TAG_LABEL = b"smpc/secagg/input-tag/v1"

S_BUNDLE, S_SEAL, S_MASK, S_PEERS, S_SELF, S_TAG, S_SENDERS, S_SHARES, S_REVEALED, S_ANSWER = (
    0x001, 0x002, 0x004, 0x008, 0x010, 0x020, 0x040, 0x080, 0x100, 0x200)


class Step(IntEnum):
    """A party's progress."""

    CREATED = 0
    KEYS_PUBLISHED = 1
    SHARES_SENT = 2
    MASKED_INPUT_SENT = 3
    RESPONDED = 4


def identity_seed(identity: Any) -> bytes:
    """The 32-byte Ed25519 private seed of an identity object (keys the party-state MAC)."""
    for name in ("private_seed", "seed", "private_key_bytes", "private_bytes"):
        v = getattr(identity, name, None)
        if callable(v):
            v = v()
        if isinstance(v, (bytes, bytearray)) and len(v) == 32:
            return bytes(v)
    key = getattr(identity, "private_key", None) or getattr(identity, "_private", None)
    if key is not None and hasattr(key, "private_bytes"):
        from cryptography.hazmat.primitives import serialization
        return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    raise TypeError("the identity does not expose its Ed25519 private seed, which keys the party state's MAC")


def state_mac_key(p: SessionParameters, party: int, seed: bytes) -> bytes:
    """``HKDF-SHA-256(identity seed, "smpc/secagg/party-state/mac/v1", digest ‖ BE32 i, 32)``."""
    return hkdf_sha256(seed, STATE_MAC_SALT, p.digest() + be32(party), 32)


def input_tag(self_seed: bytes, encoded: np.ndarray) -> bytes:
    """``HMAC-SHA-256(b_i, "smpc/secagg/input-tag/v1" ‖ LE64 elements)``."""
    return hmac.new(self_seed, INPUT_TAG_LABEL + np.ascontiguousarray(encoded, dtype="<u8").tobytes(), hashlib.sha256).digest()


class Party:
    """Party ``i`` of one session: holds its keys, ``b_i`` and the shares it holds; never networked."""

    def __init__(self, parameters: SessionParameters, party: int, identity: Any, pins: Mapping[int, str],
                 random: Callable[[int], bytes] = os.urandom) -> None:
        if pins is None:
            raise IdentityMismatch("pins are required: a map party → fingerprint")
        if not 1 <= party <= parameters.n:
            raise UnknownParty(f"party {party} is not in 1..{parameters.n}")
        if is_low_order(parameters.modeller_public_key):
            raise LowOrderPoint("the session's modeller key M is a low-order point")
        self.p, self.party, self.identity, self.pins, self.random = parameters, party, identity, dict(pins), random
        self.state = Step.CREATED
        self.bundle: KeyBundle | None = None
        self._seal: KeyPair | None = None
        self._mask: KeyPair | None = None
        self.bundles: dict[int, KeyBundle] | None = None
        self.sent_envelopes: list[ShareEnvelope] | None = None
        self._self_seed: bytes | None = None
        self._input_tag: bytes | None = None
        self.share_senders: tuple[int, ...] | None = None
        self._held: dict[int, tuple[bytes, bytes]] = {}
        self._revealed_self: set[int] = set()
        self._revealed_key: set[int] = set()
        self._answered: tuple[UnmaskRequest, UnmaskResponse] | None = None

    @property
    def identity_public(self) -> bytes:
        """The party's Ed25519 identity public key."""
        return bytes(self.identity.public_key)

    @property
    def masked_input_confirmed(self) -> bool:
        """True once ``b_i``/``s_i`` are wiped after the upload (the vector can no longer be recomputed)."""
        return self.state >= Step.MASKED_INPUT_SENT and self._self_seed is None

    # -- step 1 -----------------------------------------------------------------------------------------------------
    def create_key_bundle(self) -> KeyBundle:
        """Step 1: the signed key bundle (the same bundle again on retry)."""
        if self.bundle is not None:
            return self.bundle
        self._seal = KeyPair.generate(self.random)
        self._mask = KeyPair.generate(self.random)
        sig = self.identity.sign(KeyBundle.signed_bytes(self.p, self.party, self._seal.public, self._mask.public))
        self.bundle = KeyBundle(self.p.session_id, self.party, self._seal.public, self._mask.public, self.identity_public, bytes(sig))
        self.state = Step.KEYS_PUBLISHED
        return self.bundle

    # -- step 2 -----------------------------------------------------------------------------------------------------
    def create_share_envelopes(self, all_bundles: Sequence[KeyBundle]) -> list[ShareEnvelope]:
        """Step 2: checks all bundles and returns one sealed share envelope per other party (identical on retry)."""
        if self.state == Step.SHARES_SENT and self.sent_envelopes is not None:
            again = validate_bundles(self.p, all_bundles, self.pins)
            if {k: v.to_bytes() for k, v in again.items()} != {k: v.to_bytes() for k, v in self.bundles.items()}:
                raise Contradictory("a different set of key bundles was already answered")
            return self.sent_envelopes
        self._require(Step.KEYS_PUBLISHED, "share envelopes")
        validated = validate_bundles(self.p, all_bundles, self.pins)
        own = validated.get(self.party)
        if own is None or own.to_bytes() != self.bundle.to_bytes():
            raise Contradictory(f"the bundle set does not contain party {self.party}'s own bundle unchanged")
        holders = list(validated.keys())
        seed = self.random(32)
        self_shares = shamir.split(seed, self.p.t, holders, self.random)
        key_shares = shamir.split(self._mask.private, self.p.t, holders, self.random)
        envelopes = []
        own_index = holders.index(self.party)
        for h, holder in enumerate(holders):
            if holder == self.party:
                continue
            plain = encode_share_pair(self.party, holder, self_shares[h], key_shares[h])
            key = envelope_key(self.p, self._seal.private, self.party, holder, self._seal.public, validated[holder].seal_key, True)
            box = pairwise_box.seal(key, plain, share_associated_data(self.p, self.party, holder), self.random)
            envelopes.append(ShareEnvelope(self.p.session_id, self.party, holder, box))
        self._self_seed = seed
        self._held = {self.party: (self_shares[own_index], key_shares[own_index])}
        self.bundles = validated
        self.sent_envelopes = envelopes
        self.state = Step.SHARES_SENT
        return envelopes

    # -- step 3 -----------------------------------------------------------------------------------------------------
    def create_masked_input(self, received: Sequence[ShareEnvelope], values: Sequence[float] | np.ndarray) -> np.ndarray:
        """Step 3: opens the received envelopes, encodes ``values`` and masks them."""
        self._require_masking()
        return self.create_masked_input_from_encoded(received, self.p.codec.encode(values))

    def create_masked_input_from_encoded(self, received: Sequence[ShareEnvelope], encoded: np.ndarray) -> np.ndarray:
        """Step 3 for an already encoded vector (checked: canonical, within each field's scaled range)."""
        self._require_masking()
        encoded = self.p.codec.check_encoded(np.asarray(encoded))
        if self.state == Step.MASKED_INPUT_SENT:
            senders = self._check_envelope_senders(received)
            if senders != self.share_senders:
                raise Contradictory(f"envelopes from {list(senders)} differ from those party {self.party} already masked "
                                    f"with {list(self.share_senders)}")
            if not hmac.compare_digest(input_tag(self._self_seed, encoded), self._input_tag):
                raise Contradictory(f"party {self.party} already masked a different input; masking another with the same "
                                    "masks would reveal the difference")
            return self._mask_vector(encoded, senders)
        self._check_envelope_senders(received)
        opened: dict[int, tuple[bytes, bytes]] = {}
        for e in received:
            sender_bundle = self.bundles[e.sender]
            key = envelope_key(self.p, self._seal.private, e.sender, self.party, sender_bundle.seal_key, self._seal.public, False)
            plain = pairwise_box.open_box(key, e.box, share_associated_data(self.p, e.sender, self.party), e.sender, self.party)
            opened[e.sender] = decode_share_pair(plain, e.sender, self.party)
        senders = tuple(sorted(set(opened) | {self.party}))
        if len(senders) < self.p.t:
            raise InsufficientParties(f"shares from {len(senders)} parties (including self), threshold is {self.p.t}")
        masked = self._mask_vector(encoded, senders)
        self._input_tag = input_tag(self._self_seed, encoded)
        self._held.update(opened)
        self._seal = None  # c_i only opened the envelopes
        self.share_senders = senders
        self.state = Step.MASKED_INPUT_SENT
        return masked

    def _check_envelope_senders(self, received: Sequence[ShareEnvelope]) -> tuple[int, ...]:
        seen: set[int] = set()
        for e in received:
            if e.session_id != self.p.session_id:
                raise Malformed(f"share envelope is for session '{e.session_id}', expected '{self.p.session_id}'")
            if e.recipient != self.party:
                raise UnknownParty(f"envelope addressed to {e.recipient} delivered to party {self.party}")
            if e.sender not in self.bundles or e.sender == self.party:
                raise UnknownParty(f"envelope from party {e.sender}, which published no key bundle")
            if e.sender in seen:
                raise Duplicate(f"two envelopes from party {e.sender}")
            seen.add(e.sender)
        return tuple(sorted(seen | {self.party}))

    def _mask_vector(self, encoded: np.ndarray, senders: Sequence[int]) -> np.ndarray:
        y = np.array(encoded, dtype=np.uint64, copy=True)
        apply_stream(y, self.p, self._self_seed, self_context(self.p, self.party), +1)
        own = self.bundles[self.party].mask_key
        for j in senders:
            if j == self.party:
                continue
            seed = pair_seed(self.p, self._mask.private, self.party, j, own, self.bundles[j].mask_key)
            apply_stream(y, self.p, seed, pair_context(self.p, self.party, j), +1 if j > self.party else -1)
        return y

    def confirm_masked_input_accepted(self) -> None:
        """The service holds the masked vector: wipes ``b_i`` and ``s_i`` (idempotent)."""
        if self.state < Step.MASKED_INPUT_SENT:
            raise OutOfOrder(f"party {self.party} has no masked input to confirm in state {self.state.name}")
        self._wipe_masking_secrets()

    def _wipe_masking_secrets(self) -> None:
        self._self_seed = None
        self._input_tag = None
        self._mask = None

    # -- step 4 -----------------------------------------------------------------------------------------------------
    def create_unmask_response(self, request: UnmaskRequest) -> UnmaskResponse:
        """Step 4: the signed, sealed shares for ``(U2, U3)``; the identical response to the same request, ``Contradictory`` to another."""
        if self._answered is not None:
            if request.to_bytes() == self._answered[0].to_bytes():
                return self._answered[1]
            raise Contradictory("a different survivor list was already answered; refusing to contradict it")
        self._require(Step.MASKED_INPUT_SENT, "unmask response")
        check_request_shape(self.p, request)
        if tuple(request.share_senders) != self.share_senders:
            raise Contradictory(f"request's share senders {list(request.share_senders)} differ from the envelopes party "
                                f"{self.party} received {list(self.share_senders)}")
        if self.party not in request.survivors:
            raise UnknownParty(f"party {self.party} is not a survivor and is not asked to respond")
        self._wipe_masking_secrets()  # a valid request fixes U3: the masked input can no longer be needed
        survivors = set(request.survivors)
        entries = []
        for j in request.share_senders:
            b_share, k_share = self._held[j]
            if j in survivors:
                if j in self._revealed_key:
                    raise DisclosureRefused(f"refusing to reveal both the self-mask and the mask-key share of party {j}")
                entries.append((j, SELF_MASK_KIND, b_share))
            else:
                if j in self._revealed_self:
                    raise DisclosureRefused(f"refusing to reveal both the self-mask and the mask-key share of party {j}")
                entries.append((j, MASK_KEY_KIND, k_share))
        body = unmask_body(self.party, entries)
        sig = bytes(self.identity.sign(unmask_signed_bytes(self.p, request, body)))
        box = sealed_box.seal(self.p.modeller_public_key, body + sig, unmask_associated_data(self.p, self.party, request), self.random)
        response = UnmaskResponse(self.p.session_id, self.party, box)
        self._revealed_self = {j for j, k, _ in entries if k == SELF_MASK_KIND}
        self._revealed_key = {j for j, k, _ in entries if k == MASK_KEY_KIND}
        self._answered = (request, response)
        self._held = {}
        self.state = Step.RESPONDED
        return response

    # -- state ------------------------------------------------------------------------------------------------------
    def _sections(self) -> int:
        s = self.state
        if s == Step.CREATED:
            return 0
        if s == Step.KEYS_PUBLISHED:
            return 0x007
        if s == Step.SHARES_SENT:
            return 0x09F
        if s == Step.MASKED_INPUT_SENT:
            return 0x1C9 if self.masked_input_confirmed else 0x1FD
        return 0x349

    def export_state(self) -> bytes:
        """A deterministic, MAC-authenticated snapshot (State format version 2). It holds secrets in the clear."""
        sec = self._sections()
        out = [STATE_MAGIC, bytes([STATE_VERSION]), text(self.p.session_id), self.p.digest(), be32(self.party),
               self.identity_public, bytes([int(self.state)]), be32(sec)]
        lp = lambda b: be32(len(b)) + b  # noqa: E731
        if sec & S_BUNDLE:
            out.append(lp(self.bundle.to_bytes()))
        if sec & S_SEAL:
            out.append(self._seal.private)
        if sec & S_MASK:
            out.append(self._mask.private)
        if sec & S_PEERS:
            out.append(be32(len(self.bundles)))
            out += [lp(b.to_bytes()) for b in self.bundles.values()]
            out.append(be32(len(self.sent_envelopes)))
            out += [lp(e.to_bytes()) for e in self.sent_envelopes]
        if sec & S_SELF:
            out.append(self._self_seed)
        if sec & S_TAG:
            out.append(self._input_tag)
        if sec & S_SENDERS:
            out.append(be32(len(self.share_senders)) + b"".join(be32(x) for x in self.share_senders))
        if sec & S_SHARES:
            out.append(be32(len(self._held)))
            out += [be32(o) + self._held[o][0] + self._held[o][1] for o in sorted(self._held)]
        if sec & S_REVEALED:
            for group in (sorted(self._revealed_self), sorted(self._revealed_key)):
                out.append(be32(len(group)) + b"".join(be32(x) for x in group))
        if sec & S_ANSWER:
            out += [lp(self._answered[0].to_bytes()), lp(self._answered[1].to_bytes())]
        body = b"".join(out)
        mac = hmac.new(state_mac_key(self.p, self.party, identity_seed(self.identity)), body, hashlib.sha256).digest()
        return body + mac

    @classmethod
    def import_state(cls, parameters: SessionParameters, party: int, identity: Any, pins: Mapping[int, str], state: bytes,
                     random: Callable[[int], bytes] = os.urandom) -> "Party":
        """Restores a party saved by :meth:`export_state`; refusals in the order the specification gives."""
        state = bytes(state)
        if len(state) < 32:
            raise Malformed("party state is shorter than its MAC")
        r = Reader(state[:-32], "party state")
        if r.take(len(STATE_MAGIC)) != STATE_MAGIC:
            raise Malformed("not a party state (wrong magic)")
        version = r.u8()
        if version != STATE_VERSION:
            raise Malformed(f"party state version {version} is not supported (version 1 holds unauthenticated envelopes): "
                            "delete the file and let the session count the pod as dropped")
        if r.text() != parameters.session_id or r.take(32) != parameters.digest():
            raise Malformed("party state belongs to another session or other parameters")
        saved_party = r.u32()
        saved_identity = r.take(32)
        step_byte = r.u8()
        sec = r.u32()
        if saved_party != party:
            raise UnknownParty(f"party state is party {saved_party}'s, not party {party}'s")
        me = cls(parameters, party, identity, pins, random)
        if saved_identity != me.identity_public:
            raise IdentityMismatch("party state was saved under another identity key")
        mac = hmac.new(state_mac_key(parameters, party, identity_seed(identity)), state[:-32], hashlib.sha256).digest()
        if not hmac.compare_digest(mac, state[-32:]):
            raise Malformed("party state MAC does not verify (corrupted, truncated or edited)")
        if step_byte > 4:
            raise Malformed("party state has an unknown step")
        me.state = Step(step_byte)
        try:
            me._read_sections(r, sec)
        except Malformed:
            raise
        except Exception as e:  # any inconsistency in an authenticated but impossible state
            raise Malformed(f"party state is inconsistent: {e}") from None
        if sec != me._sections():
            raise Malformed("party state sections do not fit its step")
        return me

    def _read_sections(self, r: Reader, sec: int) -> None:
        allowed = {0: {0}, 1: {0x007}, 2: {0x09F}, 3: {0x1FD, 0x1C9}, 4: {0x349}}[int(self.state)]
        if sec not in allowed:
            raise Malformed("party state sections do not fit its step")
        lp = lambda: r.take(r.u32())  # noqa: E731
        if sec & S_BUNDLE:
            self.bundle = KeyBundle.parse(lp())
        if sec & S_SEAL:
            self._seal = KeyPair(r.take(32))
        if sec & S_MASK:
            self._mask = KeyPair(r.take(32))
        if sec & S_PEERS:
            bundles = [KeyBundle.parse(lp()) for _ in range(r.u32())]
            self.bundles = validate_bundles(self.p, bundles, self.pins)
            if [b.party for b in bundles] != list(self.bundles):
                raise Malformed("stored bundles are not in ascending party order")
            self.sent_envelopes = [ShareEnvelope.parse(lp()) for _ in range(r.u32())]
        if sec & S_SELF:
            self._self_seed = r.take(32)
        if sec & S_TAG:
            self._input_tag = r.take(32)
        if sec & S_SENDERS:
            self.share_senders = tuple(r.u32() for _ in range(r.u32()))
        if sec & S_SHARES:
            held = {}
            for _ in range(r.u32()):
                owner = r.u32()
                held[owner] = (r.take(32), r.take(32))
            self._held = held
        if sec & S_REVEALED:
            self._revealed_self = {r.u32() for _ in range(r.u32())}
            self._revealed_key = {r.u32() for _ in range(r.u32())}
        if sec & S_ANSWER:
            self._answered = (UnmaskRequest.parse(lp()), UnmaskResponse.parse(lp()))
        r.end()
        self._check_consistent()

    def _check_consistent(self) -> None:
        b = self.bundle
        if b is not None:
            if b.party != self.party or b.identity_key != self.identity_public or not b.verify_signature(self.p):
                raise Malformed("own bundle is not signed by this identity over these parameters")
            if self._seal is not None and self._seal.public != b.seal_key:
                raise Malformed("seal private key does not match the bundle")
            if self._mask is not None and self._mask.public != b.mask_key:
                raise Malformed("mask private key does not match the bundle")
        if self.bundles is not None:
            if self.bundles.get(self.party) is None or self.bundles[self.party].to_bytes() != b.to_bytes():
                raise Malformed("stored bundles do not hold the own bundle")
            others = sorted(k for k in self.bundles if k != self.party)
            if sorted(e.recipient for e in self.sent_envelopes) != others or any(
                    e.sender != self.party or e.session_id != self.p.session_id for e in self.sent_envelopes):
                raise Malformed("stored envelopes do not cover U1 \\ {i}")
        if self.share_senders is not None:
            s = self.share_senders
            if list(s) != sorted(set(s)) or self.party not in s or not set(s) <= set(self.bundles):
                raise Malformed("stored share senders are inconsistent")
            if self.state == Step.MASKED_INPUT_SENT and sorted(self._held) != list(s):
                raise Malformed("held shares do not match U2")
        elif self.state == Step.SHARES_SENT and list(self._held) != [self.party]:
            raise Malformed("held shares are not the own shares")
        if self._answered is not None:
            req = self._answered[0]
            if tuple(req.share_senders) != self.share_senders or self._answered[1].party != self.party:
                raise Malformed("stored answer does not fit this party")

    # -- helpers ----------------------------------------------------------------------------------------------------
    def _require(self, expected: Step, what: str) -> None:
        if self.state != expected:
            raise OutOfOrder(f"party {self.party} cannot produce the {what} in state {self.state.name} (expected {expected.name})")

    def _require_masking(self) -> None:
        if self.state == Step.MASKED_INPUT_SENT and not self.masked_input_confirmed:
            return
        if self.state == Step.MASKED_INPUT_SENT:
            raise OutOfOrder(f"party {self.party}'s masked input is confirmed: it cannot be recomputed")
        self._require(Step.SHARES_SENT, "masked input")
