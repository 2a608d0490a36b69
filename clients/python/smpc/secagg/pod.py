"""A pod's side of a secure-aggregation session against the service: ``run_party(ctx, session, modeller, values, weight)``.

It polls the session and performs each step locally with :class:`smpc.secagg.party.Party`; the input, the masks and the
seeds never leave this process. The party's state is saved before each message is sent (``<state dir>/<session>.party``),
so a restarted pod re-sends exactly what it sent or recomputes the identical masked vector; the file is wiped on every
way out of the session except the pod itself stopping (``KeyboardInterrupt``/``SystemExit``), which keeps it for a resume.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..crypto.errors import Malformed, NonFiniteValue, ProtocolError, ValueOutOfBounds
from ..errors import ProblemError, TransportError
from .messages import KeyBundle, ShareEnvelope, UnmaskRequest, fingerprint
from .params import SessionParameters, protocol_session_id, weighted_layout
from .party import Party, Step
from .state_file import PartyStateFile

log = logging.getLogger("smpc.secagg.pod")

ENDED = ("completed", "failed", "cancelled")
#: Steps a pod can stop after (to model a pod that drops out; tests and drills).
STOP_STEPS = ("key-bundle", "shares", "masked-input")


class SessionChangedError(ProtocolError):
    """The service served a copy of the session that differs from the one the modeller signed and the pod verified."""

    code = "SessionChanged"


class PartyStopped(ProtocolError):
    """The pod is stopping (``ctx.stop_event`` set) in the middle of a session: its state stays so that a restart resumes."""

    code = "PartyStopped"


class _LocalPodRefusal(ProtocolError):
    """Stands in for ``smpc.pod.refusal.PodRefusal`` where the pod package is not installed: same ``category``/``message``."""

    code = "PodRefusal"

    def __init__(self, category: str, message: str) -> None:
        super().__init__(message)
        self.category, self.message = category, message


def _refusal(category: str, message: str) -> Exception:
    """``PodRefusal(category, message)``: the pod declines with ``category``; ``message`` stays in its log."""
    try:
        from ..pod.refusal import PodRefusal
    except ImportError:
        return _LocalPodRefusal(category, message)
    return PodRefusal(category, message)


def _signed_view(session: Mapping[str, Any]) -> tuple:
    """What the modeller's signature covers (and what the pod acts on): compared across every served copy."""
    a = session.get("aggregation") or {}
    return (session.get("tenant"), session.get("id"), session.get("kind"), session.get("parent"), session.get("modellerId"),
            tuple(session.get("podIds") or ()), session.get("modellerSignature"), a.get("protocolSessionId"),
            a.get("threshold"), repr(a.get("fields")), a.get("operation"), a.get("input"), repr(a.get("weight")),
            a.get("modellerPublicKey"))


def resolve_pins(client: Any, tenant: str, pods: Sequence[str], pins: Any, self_pod: str | None = None,
                 self_fingerprint: str | None = None) -> dict[int, str]:
    """Party number → pinned fingerprint for every pod of the session, each through the party's own pin store (kind ``pod``).

    The registry only presents a fingerprint (``GET …/pods/{id}``); the store returns the pin (configured or stored, which
    must equal it), pins it on first use if allowed, or raises. A pod takes its own fingerprint from its own key.
    """
    result = {}
    for i, pod in enumerate(pods, start=1):
        if self_pod is not None and pod == self_pod:
            result[i] = self_fingerprint
            continue
        presented = (client.get_pod(tenant, pod) or {}).get("identityFingerprint")
        result[i] = pins.resolve(tenant, "pod", pod, presented)
    return result


def encode_input(parameters: SessionParameters, session: Mapping[str, Any], values: Any, weight: float | None) -> np.ndarray:
    """Checks and encodes the pod's input before any message; input problems are declines with their category."""
    a = session["aggregation"]
    weighted = weighted_layout(len(session["podIds"]), a)
    try:
        v = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise _refusal("shape-mismatch", "the input is not a numeric vector") from None
    try:
        if weighted is not None:
            if weight is None:
                raise _refusal("input-missing", f"session {session['id']} is a weighted mean: give this pod's weight "
                                                "(inputs.<name>.weight, a number or \"rows\") and its plain x; the pod forms w·x")
            if v.size == weighted.value_length + 1:
                raise _refusal("shape-mismatch", "the input carries one value more than the session's fields: a weighted mean "
                                                 "takes plain x and the weight separately (inputs.<name>.weight), never w·x")
            encoded = weighted.encode(v, weight)
        else:
            encoded = parameters.codec.encode(v)
    except NonFiniteValue as e:
        raise _refusal("input-not-finite", str(e)) from None
    except ValueOutOfBounds as e:
        raise _refusal("input-out-of-bounds", str(e)) from None
    except Malformed as e:
        raise _refusal("shape-mismatch", str(e)) from None
    return parameters.codec.check_encoded(encoded)


def run_party(ctx: Any, session: Mapping[str, Any], modeller: Any, values: Any, weight: float | None = None, *,
              stop_after: str | None = None, random: Callable[[int], bytes] = os.urandom, long_poll_seconds: int = 20,
              before_unmask: Callable[[Mapping[str, Any], UnmaskRequest], str | None] | None = None,
              encoded: np.ndarray | None = None) -> dict:
    """Runs this pod's part of a secure aggregation until the session ends for it; returns the session's last state.

    ``ctx`` is a :class:`smpc.pod.context.PodContext` (``client``, ``tenant``, ``pod``, ``identity``, ``pins``, ``state_dir``,
    ``log``); ``session`` the session as served (already verified against ``modeller``'s signature by the caller);
    ``values`` the plain input x (``weight`` this pod's weight for a weighted mean). ``before_unmask(session, request)``
    (or ``ctx.before_unmask``) may return a reason to refuse answering the unmask request (the differencing guard): that
    raises ``PodRefusal('policy', reason)``. Input problems raise ``PodRefusal`` with their category before any message;
    other failures propagate (the caller declines ``internal``). ``ctx.input_sent`` is set True once the masked vector may
    have reached the service. ``encoded`` (instead of ``values``): an already encoded ``uint64`` vector, e.g. exact integer
    counts; it must be canonical with every element in its field's scaled range, else ``input-out-of-bounds``.
    ``modeller`` (the verified modeller) is not used beyond the caller's check; every later copy of the session must carry
    the same signed content as ``session`` (else :class:`SessionChangedError`).
    """
    if stop_after is not None and stop_after not in STOP_STEPS:
        raise ValueError(f"stop_after must be one of {STOP_STEPS}")
    runner = _Runner(ctx, session, modeller, values, weight, stop_after, random, long_poll_seconds,
                     before_unmask or getattr(ctx, "before_unmask", None), encoded)
    return runner.run()


class _Runner:
    def __init__(self, ctx: Any, session: Mapping[str, Any], modeller: Any, values: Any, weight: float | None,
                 stop_after: str | None, random: Callable[[int], bytes], long_poll_seconds: int,
                 before_unmask: Callable | None, encoded: np.ndarray | None = None) -> None:
        self.ctx, self.client, self.tenant, self.pod = ctx, ctx.client, ctx.tenant, ctx.pod
        self.identity, self.modeller = ctx.identity, modeller
        self.log = getattr(ctx, "log", None) or log
        self.session_id = session["id"]
        self.first = dict(session)
        self.view = _signed_view(session)
        self.stop_after, self.random, self.long_poll = stop_after, random, long_poll_seconds
        self.before_unmask = before_unmask
        pods = list(session["podIds"])
        if self.pod not in pods:
            raise _refusal("policy", f"pod {self.pod} is not a party of session {self.session_id}")
        self.me = pods.index(self.pod) + 1
        a = session.get("aggregation") or {}
        if a.get("protocolSessionId") != protocol_session_id(self.tenant, self.session_id):
            raise _refusal("unverified-modeller", "the session's protocol session id is not '{tenant}/{session id}'")
        self.parameters = SessionParameters.from_session(session)
        if encoded is not None:
            try:
                self.encoded = self.parameters.codec.check_encoded(np.asarray(encoded))
            except ValueOutOfBounds as e:
                raise _refusal("input-out-of-bounds", str(e)) from None
            except Malformed as e:
                raise _refusal("shape-mismatch", str(e)) from None
        else:
            self.encoded = encode_input(self.parameters, session, values, weight)
        self.state_file = PartyStateFile.for_session(ctx.state_dir, self.session_id)
        self.party: Party | None = None
        self.done: str | None = None

    def _set_input_sent(self) -> None:
        try:
            self.ctx.input_sent = True
        except AttributeError:
            pass

    def _stopping(self) -> bool:
        event = getattr(self.ctx, "stop_event", None)
        return event is not None and event.is_set()

    def run(self) -> dict:
        try:
            return self._loop()
        except (KeyboardInterrupt, SystemExit, PartyStopped):
            raise  # the pod itself stops: the state stays so that a restart resumes
        except BaseException:
            if not self._stopping():
                self.state_file.delete()  # the pod leaves the session (its caller declines): nothing of it may outlive this
            raise

    def _save(self) -> None:
        self.state_file.save(self.party.export_state())

    def _get(self, known_version: int | None) -> dict:
        if known_version is None:
            return self.client.get_session(self.tenant, self.session_id)
        return self.client.get_session(self.tenant, self.session_id, wait_for_version=known_version,
                                       wait_seconds=self.long_poll)

    def _loop(self) -> dict:
        idle_at: int | None = None
        backoff = 0.0
        verify = getattr(self.ctx, "verify", None)
        while True:
            if self._stopping():
                raise PartyStopped(f"pod {self.pod} is stopping; its part of session {self.session_id} resumes on restart")
            if backoff:
                time.sleep(backoff)
            try:
                session = self._get(idle_at)
            except TransportError:
                backoff = min(max(backoff * 2, 0.2), 5.0)
                continue
            backoff = 0.0
            a = session.get("aggregation") or {}
            if session.get("phase") in ENDED or self.me in (a.get("dropped") or []):
                self.state_file.delete()
                return session
            if _signed_view(session) != self.view:
                raise SessionChangedError(f"the service served session {self.session_id} with other signed content than "
                                          "the copy the pod verified")
            if callable(verify):
                verify(session)  # the pod runner's verifier: the same signed statement on every copy acted on
            try:
                if self.party is None:
                    self.party = self._open_party(session)
                    if self.party is None:
                        return session  # joined too late: the service moved on without this pod
                if self.party.state >= Step.MASKED_INPUT_SENT:
                    self._set_input_sent()
                acted = self._step(session, a)
            except TransportError:
                backoff = min(max(backoff * 2, 0.2), 5.0)
                continue
            except ProblemError as e:
                if e.status != 409:
                    raise
                now = self.client.get_session(self.tenant, self.session_id)
                if now.get("phase") not in ENDED and self.me not in ((now.get("aggregation") or {}).get("dropped") or []):
                    raise
                self.state_file.delete()
                return now
            if acted == "unmask":
                self.state_file.delete()  # the pod's part is over; nothing secret needs keeping
                return self.client.get_session(self.tenant, self.session_id)
            if acted is not None:
                self.done = acted
                if self.stop_after == acted:
                    return session
            idle_at = session["version"] if acted is None else None

    def _open_party(self, session: Mapping[str, Any]) -> Party | None:
        pins = resolve_pins(self.client, self.tenant, session["podIds"], self.ctx.pins, self.pod,
                            fingerprint(self.identity.public_key))
        saved = self.state_file.load()
        if saved is not None:
            return Party.import_state(self.parameters, self.me, self.identity, pins, saved, self.random)
        if session.get("phase") != "key-exchange":
            return None
        return Party(self.parameters, self.me, self.identity, pins, self.random)

    def _step(self, session: Mapping[str, Any], a: Mapping[str, Any]) -> str | None:
        party, phase, me = self.party, session.get("phase"), self.me
        c, t, s = self.client, self.tenant, self.session_id
        if party.state == Step.CREATED and phase == "key-exchange":
            bundle = party.create_key_bundle()
            self._save()
            c.submit_key_bundle(t, s, bundle.to_bytes())
            return "key-bundle"
        if party.state == Step.KEYS_PUBLISHED and me not in a.get("keyBundles", []) and phase == "key-exchange":
            c.submit_key_bundle(t, s, party.bundle.to_bytes())  # resumed: the same bundle again
            return "key-bundle"
        if party.state == Step.KEYS_PUBLISHED and phase == "share-exchange":
            bundles = [KeyBundle.parse(b) for b in c.get_key_bundles(t, s)]
            envelopes = party.create_share_envelopes(bundles)
            self._save()
            c.submit_share_envelopes(t, s, [e.to_bytes() for e in envelopes])
            return "shares"
        if party.state == Step.SHARES_SENT and me not in a.get("shareSenders", []) and phase == "share-exchange":
            c.submit_share_envelopes(t, s, [e.to_bytes() for e in party.sent_envelopes])
            return "shares"
        if (party.state in (Step.SHARES_SENT, Step.MASKED_INPUT_SENT) and phase == "masked-input"
                and not party.masked_input_confirmed):
            if me in a.get("maskedInputs", []):
                self._set_input_sent()
                party.confirm_masked_input_accepted()
                self._save()
                return "masked-input"
            received = [ShareEnvelope.parse(e) for e in c.get_share_envelopes(t, s)]
            masked = party.create_masked_input_from_encoded(received, self.encoded)  # identical on a resumed retry
            self._save()
            self._set_input_sent()  # from here the vector may reach the service even if the answer is lost
            c.submit_masked_input(t, s, masked, party=me)
            party.confirm_masked_input_accepted()
            self._save()
            return "masked-input"
        if (party.state in (Step.MASKED_INPUT_SENT, Step.RESPONDED) and phase == "unmasking"
                and me in a.get("maskedInputs", []) and me not in a.get("unmaskResponses", [])):
            request = UnmaskRequest.parse(c.get_unmask_request(t, s))
            if party.state != Step.RESPONDED and self.before_unmask is not None:
                reason = self.before_unmask(session, request)
                if reason:
                    raise _refusal("policy", reason)
            response = party.create_unmask_response(request)  # identical when resumed after answering
            self._save()
            c.submit_unmask_response(t, s, response.to_bytes())
            return "unmask"
        return None
