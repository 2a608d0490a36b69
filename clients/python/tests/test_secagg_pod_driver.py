"""The pod driver's exit paths without the service: the state file is wiped on every way out but the pod stopping."""

from __future__ import annotations

import base64
import logging
import os
import stat
from types import SimpleNamespace

import pytest

from smpc.crypto.x25519 import KeyPair
from smpc.secagg.pod import SessionChangedError, run_party
from smpc.secagg.state_file import PartyStateFile

from secagg_helpers import TestIdentity


def test_state_file_is_owner_only_replaced_atomically_and_wiped(tmp_path):
    f = PartyStateFile.for_session(tmp_path / "state", "s1")
    f.save(b"secret-1")
    f.save(b"secret-22")
    assert f.load() == b"secret-22"
    assert stat.S_IMODE(os.stat(f.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(f.path.parent).st_mode) == 0o700
    f.temp.write_bytes(b"left over")
    assert f.delete() is True
    assert not f.path.exists() and not f.temp.exists() and f.load() is None
    assert f.delete() is False


class FakeService:
    """Serves one session in key exchange; ``tamper`` changes its signed content after the key bundle arrives."""

    def __init__(self, pods, identities, tamper=None, interrupt=False):
        m = KeyPair(bytes(range(32))).public
        self.session = {"id": "s1", "tenant": "acme", "kind": "secure-aggregation", "modellerId": "alice", "podIds": pods,
                        "phase": "key-exchange", "version": 1, "modellerSignature": "sig",
                        "aggregation": {"protocolSessionId": "acme/s1", "threshold": 2, "operation": "sum", "input": "x",
                                        "fields": [{"name": "x", "length": 2, "min": -1, "max": 1, "precision": 100}],
                                        "modellerPublicKey": base64.b64encode(m).decode(), "keyBundles": [],
                                        "shareSenders": [], "maskedInputs": [], "unmaskResponses": [], "dropped": []}}
        self.identities, self.tamper, self.interrupt, self.bundles = identities, tamper, interrupt, []

    def get_session(self, tenant, sid, wait_for_version=None, wait_seconds=None):
        if self.bundles and self.interrupt:
            raise KeyboardInterrupt
        s = dict(self.session)
        if self.bundles and self.tamper:
            s = self.tamper(s)
        return s

    def get_pod(self, tenant, pod):
        return {"identityFingerprint": self.identities[pod].fingerprint}

    def submit_key_bundle(self, tenant, sid, bundle):
        self.bundles.append(bundle)
        self.session = {**self.session, "version": 2,
                        "aggregation": {**self.session["aggregation"], "keyBundles": [1]}}
        return self.session


class Pins:
    def resolve(self, tenant, kind, id, presented):
        return presented


def context(tmp_path, service, identity):
    return SimpleNamespace(client=service, tenant="acme", pod="p1", identity=identity, pins=Pins(), state_dir=tmp_path,
                           log=logging.getLogger("t"), input_sent=False)


def identities():
    return {f"p{i}": TestIdentity(bytes([i]) * 32) for i in (1, 2, 3)}


def test_service_changing_the_signed_session_stops_the_pod_and_wipes_its_state(tmp_path):
    ids = identities()
    svc = FakeService(list(ids), ids, tamper=lambda s: {**s, "podIds": ["p1", "p3", "p2"]})
    with pytest.raises(SessionChangedError):
        run_party(context(tmp_path, svc, ids["p1"]), svc.session, None, [0.5, -0.5])
    assert len(svc.bundles) == 1
    assert not (tmp_path / "s1.party").exists()


def test_pod_stopping_keeps_its_state_for_a_resume(tmp_path):
    ids = identities()
    svc = FakeService(list(ids), ids, interrupt=True)
    with pytest.raises(KeyboardInterrupt):
        run_party(context(tmp_path, svc, ids["p1"]), svc.session, None, [0.5, -0.5])
    saved = (tmp_path / "s1.party").read_bytes()
    assert saved.startswith(b"smpc/secagg/party-state\x02")


def test_input_out_of_bounds_is_declined_before_any_message(tmp_path):
    ids = identities()
    svc = FakeService(list(ids), ids)
    with pytest.raises(Exception) as e:
        run_party(context(tmp_path, svc, ids["p1"]), svc.session, None, [0.5, -1.5])
    assert getattr(e.value, "category", None) == "input-out-of-bounds"
    assert svc.bundles == [] and not (tmp_path / "s1.party").exists()


def test_protocol_session_id_other_than_tenant_slash_id_is_refused(tmp_path):
    ids = identities()
    svc = FakeService(list(ids), ids)
    svc.session["aggregation"]["protocolSessionId"] = "other/s1"
    with pytest.raises(Exception) as e:
        run_party(context(tmp_path, svc, ids["p1"]), svc.session, None, [0.5, -0.5])
    assert getattr(e.value, "category", None) == "unverified-modeller" and svc.bundles == []


def test_stop_event_mid_session_keeps_the_state_and_says_so(tmp_path):
    import threading
    from smpc.secagg.pod import PartyStopped

    ids = identities()
    svc = FakeService(list(ids), ids)
    ctx = context(tmp_path, svc, ids["p1"])
    ctx.stop_event = threading.Event()
    submit = svc.submit_key_bundle

    def submit_then_stop(*args):
        ctx.stop_event.set()
        return submit(*args)

    svc.submit_key_bundle = submit_then_stop
    with pytest.raises(PartyStopped):
        run_party(ctx, svc.session, None, [0.5, -0.5])
    assert (tmp_path / "s1.party").exists()
