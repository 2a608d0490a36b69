"""The pod runner's dispatch against an in-memory service: verification first, declines by kind, missing handlers."""

from __future__ import annotations

import base64
import sys
import threading
import time
import types

import numpy as np
import pytest

from smpc import statements as st
from smpc.identity import IdentityKey
from smpc.pod import Pod, PodConfig, PodIdentityMismatchError, PodRefusal
from smpc.verify import VerifiedModeller

ALICE, BOB, POD = IdentityKey.generate(), IdentityKey.generate(), IdentityKey.generate()


class FakeService:
    """Just the routes the runner uses, recording every decline."""

    def __init__(self, sessions: dict, pod_fingerprint: str | None = None):
        self.sessions = sessions
        self.pod_fingerprint = pod_fingerprint or POD.fingerprint
        self.declines: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()

    def get_pod(self, tenant, pod):
        return {"identityFingerprint": self.pod_fingerprint}

    def get_modeller(self, tenant, modeller):
        key = {"alice": ALICE, "bob": BOB}[modeller]
        return {"identityPublicKey": base64.b64encode(key.public_key).decode()}

    def list_pod_sessions(self, tenant, pod, after=None, wait_seconds=None):
        return [] if after is not None else list(self.sessions)

    def get_session(self, tenant, session_id, **_):
        return self.sessions[session_id]

    def _decline(self, kind, session_id, what):
        with self.lock:
            self.declines.append((kind, session_id, what))

    def decline_aggregation(self, tenant, session_id, category):
        self._decline("aggregation", session_id, category)

    def decline_psi(self, tenant, session_id, reason):
        self._decline("psi", session_id, reason)

    def decline_federated(self, tenant, session_id, reason):
        self._decline("federated", session_id, reason)


def _signed(session: dict, key: IdentityKey | None) -> dict:
    if key is not None:
        session["modellerSignature"] = key.sign_base64(st.served_statement(session))
    return session


def _psi(sid: str, key: IdentityKey | None = ALICE, modeller: str = "alice") -> dict:
    return _signed({"tenant": "acme", "id": sid, "modellerId": modeller, "kind": "psi", "podIds": ["p1"], "phase": "awaiting-pod", "parent": None,
                    "psi": {"protocol": "ecdh", "mode": "intersection", "modellerColumns": [{"name": "e", "kind": "email"}],
                            "podColumns": [{"name": "e", "kind": "email"}], "source": "s", "modellerSetSize": 3, "timeoutSeconds": 3600,
                            "version": "ecdh-oprf-v1"}}, key)


def _training(sid: str, modeller: str = "alice", key: IdentityKey = ALICE) -> dict:
    return _signed({"tenant": "acme", "id": sid, "modellerId": modeller, "kind": "training", "podIds": ["p1", "p2", "p3"], "phase": "running",
                    "parent": None, "federated": {"training": {"trainer": "logistic", "source": "s", "features": ["a"], "label": "y"}}}, key)


def _run(tmp_path, service: FakeService, monkeypatch, handlers: dict) -> Pod:
    for name, module in handlers.items():
        monkeypatch.setitem(sys.modules, name, module)
    config = PodConfig(tenant="acme", pod="p1", identity=POD, state_directory=tmp_path / "state", poll_seconds=0.01,
                       inputs={"x": np.array([1.0, 2.0])})
    pod = Pod(config, client=service, long_poll_seconds=0)
    deadline = time.monotonic() + 30
    pod.run(until=lambda: all(pod.finished(s) for s in service.sessions) or time.monotonic() > deadline)
    assert all(pod.finished(s) for s in service.sessions), "the runner did not finish every session"
    return pod


def _module(**functions) -> types.ModuleType:
    m = types.ModuleType("fake")
    for k, v in functions.items():
        setattr(m, k, v)
    return m


def test_verified_sessions_reach_their_handler_and_refusals_are_declined_by_kind(tmp_path, monkeypatch):
    served = []

    def psi_serve(ctx, session, modeller):
        assert isinstance(modeller, VerifiedModeller) and modeller.identity_key == ALICE.public_key
        assert ctx.session_id == session["id"] and ctx.pod == "p1" and ctx.state_dir == tmp_path / "state"
        served.append(session["id"])
        if session["id"] == "no":
            raise PodRefusal(None, "this pod does not serve that source")

    service = FakeService({"ok": _psi("ok"), "no": _psi("no"), "unsigned": _psi("unsigned", key=None), "forged": _psi("forged", key=BOB)})
    _run(tmp_path, service, monkeypatch, {"smpc.psi.pod": _module(serve=psi_serve)})
    assert sorted(served) == ["no", "ok"]
    assert sorted(service.declines) == [
        ("psi", "forged", "the modeller's signature of the session is not valid for this pod (bad-signature)"),
        ("psi", "no", "this pod does not serve that source"),
        ("psi", "unsigned", "the modeller's signature of the session is not valid for this pod (unsigned)"),
    ]


def test_a_round_signed_by_another_modeller_than_its_parents_is_refused(tmp_path, monkeypatch):
    pytest.importorskip("smpc.secagg.params")  # a round's statement needs P (helper secagg)
    parent = _training("train")
    rnd = _signed({"tenant": "acme", "id": "train-r1", "modellerId": "bob", "kind": "secure-aggregation", "podIds": ["p1", "p2", "p3"],
                   "phase": "key-exchange", "parent": "train",
                   "aggregation": {"protocolSessionId": "acme/train-r1", "threshold": 2, "operation": "sum", "input": "r1", "weight": None,
                                   "fields": [{"name": "theta", "length": 2, "min": -1, "max": 1, "precision": 1000}],
                                   "modellerPublicKey": base64.b64encode(bytes(range(32))).decode()}}, BOB)
    called = []
    service = FakeService({"train": parent, "train-r1": rnd})
    _run(tmp_path, service, monkeypatch, {"smpc.federated.pod": _module(serve=lambda ctx, s, m: called.append(s["id"]))})
    assert called == ["train"]  # the parent only
    assert ("aggregation", "train-r1", "unverified-modeller") in service.declines


def test_a_missing_handler_declines_that_session_and_the_pod_keeps_running(tmp_path, monkeypatch):
    service = FakeService({"t1": _training("t1"), "p": _psi("p")})
    _run(tmp_path, service, monkeypatch, {"smpc.federated.pod": None, "smpc.psi.pod": _module(serve=lambda ctx, s, m: None)})
    assert service.declines == [("federated", "t1", "the pod agent failed: HandlerMissingError")]


def test_the_pod_refuses_to_start_with_another_identity_than_registered(tmp_path):
    service = FakeService({}, pod_fingerprint=BOB.fingerprint)
    config = PodConfig(tenant="acme", pod="p1", identity=POD, state_directory=tmp_path / "state")
    with pytest.raises(PodIdentityMismatchError):
        Pod(config, client=service).run()


def test_a_session_whose_first_look_hits_an_unavailable_service_is_tried_again(tmp_path, monkeypatch):
    from smpc.errors import TransportError

    class Flaky(FakeService):
        failures = 2

        def get_session(self, tenant, session_id, **kw):
            if self.failures:
                self.failures -= 1
                raise TransportError("the service is restarting")
            return super().get_session(tenant, session_id, **kw)

    served = []
    service = Flaky({"p": _psi("p")})
    _run(tmp_path, service, monkeypatch, {"smpc.psi.pod": _module(serve=lambda ctx, s, m: served.append(s["id"]))})
    assert served == ["p"] and service.failures == 0
