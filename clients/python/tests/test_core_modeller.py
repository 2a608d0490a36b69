"""The modeller signs every session it creates and refuses an echo with other parameters."""

from __future__ import annotations

import base64
import json

import pytest

from smpc import statements as st
from smpc.identity import IdentityKey, verify_signature
from smpc.modeller import Modeller, ProtocolModuleMissingError
from smpc.verify import SessionMismatchError

REQUEST = {"id": "s1", "kind": "training", "podIds": ["p1", "p2", "p3"],
           "training": {"trainer": "logistic", "source": "patients", "features": ["age"], "label": "y"}}


class Echo:
    """A service that stores what it is sent (optionally changed) and serves it back."""

    def __init__(self, change=None):
        self.change = change
        self.sent = None
        self.cancelled = None

    def create_session(self, tenant, request):
        self.sent = json.loads(json.dumps(request))
        served = {"tenant": tenant, "id": request["id"], "modellerId": request["modellerId"], "kind": request["kind"],
                  "podIds": request["podIds"], "parent": request.get("parent"), "phase": "running",
                  "federated": {"training": dict(request["training"])}, "modellerSignature": request["modellerSignature"]}
        if self.change:
            self.change(served)
        return served

    def cancel_session(self, tenant, session_id, reason=None, signature=None):
        self.cancelled = (session_id, reason, signature)
        return {}


def test_create_session_signs_the_statement_of_the_request():
    identity = IdentityKey.generate()
    service = Echo()
    served = Modeller(service, "acme", "alice", identity).create_session(REQUEST)
    statement = st.request_statement("acme", dict(REQUEST, modellerId="alice"))
    assert service.sent["modellerId"] == "alice"
    assert verify_signature(identity.public_key, statement, base64.b64decode(service.sent["modellerSignature"]))
    assert served["id"] == "s1"


def test_an_echo_with_other_parameters_is_refused():
    service = Echo(change=lambda s: s["federated"]["training"].update(rounds=50))
    with pytest.raises(SessionMismatchError):
        Modeller(service, "acme", "alice", IdentityKey.generate()).create_session(REQUEST)


def test_cancel_is_signed_over_the_reason_as_sent():
    identity = IdentityKey.generate()
    service = Echo()
    Modeller(service, "acme", "alice", identity).cancel("s1", " wrong pods ")
    sid, reason, signature = service.cancelled
    assert verify_signature(identity.public_key, st.cancel_statement("acme", "s1", " wrong pods "), base64.b64decode(signature))


def test_a_missing_protocol_module_is_named(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "smpc.psi.modeller", None)
    with pytest.raises(ProtocolModuleMissingError, match="smpc.psi.modeller"):
        Modeller(Echo(), "acme", "alice", IdentityKey.generate()).psi([])


def test_connect_loads_the_identity_file_and_the_pins_file(tmp_path):
    key = IdentityKey.generate()
    key.save(tmp_path / "alice.json")
    m = Modeller.connect("http://127.0.0.1:1", "key", "acme", "alice", tmp_path / "alice.json", pins_file=tmp_path / "pins.json")
    assert m.identity.public_key == key.public_key and m.pins.path == tmp_path / "pins.json" and m.modeller_id == "alice"
