"""The modeller's own checks, before the pod is involved: it signs what it asks for and refuses a session the service
stores differently (psi.md, signatures.md "The modeller checks its own session"); columns and inputs are parsed
strictly."""

import copy
import importlib.util

import pytest

# Until helper core's smpc.identity / smpc.statements are merged, these tests cannot run (a missing module, not a failure).
if importlib.util.find_spec("smpc.statements") is None or importlib.util.find_spec("smpc.identity") is None:
    pytest.skip("needs smpc.identity and smpc.statements (helper core), not merged yet", allow_module_level=True)

from smpc.identity import IdentityKey, verify_signature
from smpc.psi import modeller as m
from smpc.psi.records import Column
from smpc import statements


class TamperingService:
    """Stores the request, but serves it with one PSI field changed (as a dishonest service could)."""

    def __init__(self, tenant, change):
        self.tenant, self.change = tenant, change
        self.created = None
        self.cancelled = []

    def create_session(self, tenant, request):
        self.created = copy.deepcopy(request)
        psi = copy.deepcopy(request["psi"])
        psi.setdefault("keyBits", None)
        psi.update({"accepted": False, "countedByPod": False, "podSetSize": None, "queryStored": False})
        psi.update(self.change)
        return {"tenant": tenant, "id": request["id"], "modellerId": request["modellerId"], "kind": "psi",
                "podIds": request["podIds"], "phase": "awaiting-pod", "version": 1, "psi": psi,
                "modellerSignature": request["modellerSignature"]}

    def cancel_session(self, tenant, session_id, reason, signature=None):
        self.cancelled.append((session_id, reason, signature))

    def get_session(self, *a, **k):  # pragma: no cover - never reached: the check comes first
        raise AssertionError("the modeller waited on a session it should have refused")


def modeller(service):
    return type("M", (), {"client": service, "tenant": "t1", "modeller_id": "alice", "identity": IdentityKey.generate()})()


@pytest.mark.parametrize("protocol,change", [("rsa-blind", {"keyBits": 2048}), ("ecdh", {"countKey": "A" * 43 + "="}),
                                             ("ecdh", {"modellerSetSize": 99})])
def test_a_session_stored_otherwise_than_signed_is_refused_and_cancelled(protocol, change):
    service = TamperingService("t1", change)
    me = modeller(service)
    mode = "cardinality" if "countKey" in change else "intersection"
    with pytest.raises(m.PsiFailed, match="stores other parameters"):
        m.run(me, "pod-a", [b"r1", b"r2"], columns=[Column("e", "email")], pod_columns=[Column("e", "email")],
              source="s", protocol=protocol, mode=mode, key_bits=3072, session_id="s1")
    (sid, reason, signature), = service.cancelled
    assert sid == "s1" and "stores other parameters" in reason
    assert verify_signature(me.identity.public_key, statements.cancel_statement("t1", "s1", reason), signature)
    # and the request itself carried the signature of its own statement
    own = statements.request_statement("t1", {k: v for k, v in service.created.items() if k != "modellerSignature"})
    import base64
    assert verify_signature(me.identity.public_key, own, base64.b64decode(service.created["modellerSignature"]))


def test_columns_parse_in_every_documented_form():
    want = [Column("email", "email"), Column("phone", "phone", "44")]
    assert m.parse_columns(["email:email", "phone:phone:44"]) == want
    assert m.parse_columns({"email": "email", "phone": ("phone", "44")}) == want
    assert m.parse_columns([{"name": "email", "kind": "email"}, ("phone", "phone", "44")]) == want
    with pytest.raises(ValueError):
        m.parse_columns(["email"])
    with pytest.raises(ValueError):
        m.parse_columns(["x:date"])


def test_sides_must_agree_on_kinds():
    with pytest.raises(ValueError, match="same kinds"):
        m.run(modeller(TamperingService("t1", {})), "p", [], columns=[Column("e", "email")],
              pod_columns=[Column("e", "text")], source="s")
