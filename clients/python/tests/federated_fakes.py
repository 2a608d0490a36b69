"""An in-memory stand-in for the service's federated routes and for secure aggregation (a plain sum), so the federated
pod and modeller drivers run end to end in milliseconds. The real service and the real secure aggregation are in
test_federated_service.py; this only checks the orchestration (rounds, channel, releases, refusals)."""

from __future__ import annotations

import base64
import copy
import hashlib
import logging
import threading
import types
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from smpc.federated import modeller as fm
from smpc.federated import pod as fp


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


class Identity:
    def __init__(self) -> None:
        self._key = Ed25519PrivateKey.generate()
        self.public_key = self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.fingerprint = "sha256:" + hashlib.sha256(self.public_key).hexdigest()

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


class FakeService:
    """Sessions, member keys, sealed keys, releases and rounds, with long polls; secure aggregation as a plain sum."""

    def __init__(self, tenant: str = "acme") -> None:
        self.tenant = tenant
        self.sessions: dict[str, dict] = {}
        self.releases: dict[tuple[str, str], bytes] = {}
        self.identities: dict[str, Identity] = {}
        self.inputs: dict[str, dict[str, np.ndarray]] = {}
        self.cond = threading.Condition()
        self.tamper_release = None  # a function bytes -> bytes the "service" applies to releases it serves

    def _bump(self, s: dict) -> None:
        s["version"] += 1
        self.cond.notify_all()

    # the client's routes --------------------------------------------------------------------------------------
    def create_session(self, tenant: str, request: dict) -> dict:
        with self.cond:
            kind = request["kind"]
            s = {"tenant": tenant, "id": request["id"], "modellerId": request["modellerId"], "kind": kind,
                 "podIds": list(request["podIds"]), "phase": "running", "version": 1, "parent": request.get("parent")}
            if kind in ("query", "training"):
                s["federated"] = {"query": request.get("query"), "training": request.get("training"), "memberKeys": {},
                                  "sealedKeys": {}, "rounds": [], "broadcasts": [], "metrics": [], "failureReason": None}
            self.sessions[s["id"]] = s
            self.cond.notify_all()
            return copy.deepcopy(s)

    def get_session(self, tenant: str, session_id: str, *, wait_for_version: int | None = None, wait_seconds: int | None = None) -> dict:
        with self.cond:
            s = self.sessions[session_id]
            if wait_for_version is not None:
                self.cond.wait_for(lambda: s["version"] != wait_for_version, timeout=min(wait_seconds or 1, 1))
            return copy.deepcopy(s)

    def get_pod(self, tenant: str, pod: str) -> dict:
        return {"id": pod, "identityPublicKey": b64(self.identities[pod].public_key)}

    def put_member_key(self, tenant: str, sid: str, pod: str, public: bytes, signature: bytes) -> dict:
        with self.cond:
            s = self.sessions[sid]
            s["federated"]["memberKeys"][pod] = {"publicKey": b64(public), "signature": b64(signature)}
            self._bump(s)
            return copy.deepcopy(s)

    def put_sealed_keys(self, tenant: str, sid: str, boxes: dict) -> dict:
        with self.cond:
            s = self.sessions[sid]
            assert all(len(b) == 145 for b in boxes.values())
            s["federated"]["sealedKeys"] = {p: b64(b) for p, b in boxes.items()}
            self._bump(s)
            return copy.deepcopy(s)

    def upload_release(self, tenant: str, sid: str, name: str, release: bytes) -> dict:
        with self.cond:
            self.releases[(sid, name)] = bytes(release)
            s = self.sessions[sid]
            s["federated"]["broadcasts"].append(name)
            self._bump(s)
            return copy.deepcopy(s)

    def download_release(self, tenant: str, sid: str, name: str) -> bytes:
        data = self.releases[(sid, name)]
        return self.tamper_release(data) if self.tamper_release else data

    def decline_federated(self, tenant: str, sid: str, reason: str) -> dict:
        with self.cond:
            s = self.sessions[sid]
            if s["phase"] == "running":
                s["phase"] = "failed"
                s["federated"]["failureReason"] = f"Pod declined: {reason}"
                self._bump(s)
            return copy.deepcopy(s)

    def report_round_metrics(self, tenant: str, sid: str, round: str, values: dict) -> dict:
        with self.cond:
            s = self.sessions[sid]
            s["federated"]["metrics"].append({"round": round, "values": dict(values)})
            self._bump(s)
            return copy.deepcopy(s)

    def finish_federated(self, tenant: str, sid: str, failure_reason: str | None = None) -> dict:
        with self.cond:
            s = self.sessions[sid]
            if s["phase"] == "running":
                s["phase"] = "failed" if failure_reason else "completed"
                s["federated"]["failureReason"] = failure_reason and f"The modeller ended the session: {failure_reason}"
                self._bump(s)
            return copy.deepcopy(s)

    # secure aggregation as a plain sum ---------------------------------------------------------------------------
    def round_runner(self, modeller: Any, sid: str, parent: str, label: str, pods: list, fields: list, timeout: int) -> fm.RoundOutcome:
        with self.cond:
            r = {"tenant": self.tenant, "id": sid, "modellerId": modeller.id, "kind": "secure-aggregation", "podIds": list(pods),
                 "phase": "key-exchange", "version": 1, "parent": parent,
                 "aggregation": {"fields": copy.deepcopy(fields), "operation": "sum", "input": label, "included": None}}
            self.sessions[sid] = r
            self.inputs[sid] = {}
            p = self.sessions[parent]
            p["federated"]["rounds"].append({"round": label, "sessionId": sid, "podIds": list(pods)})
            self._bump(p)
            ok = self.cond.wait_for(lambda: len(self.inputs[sid]) == len(pods) or p["phase"] != "running", timeout=30)
            if not ok or p["phase"] != "running":
                raise RuntimeError(f"round {label} failed")
            total = sum(self.inputs[sid][pod] for pod in pods)
            out, at = {}, 0
            for f in fields:
                out[f["name"]] = total[at:at + f["length"]]
                at += f["length"]
            r["phase"] = "completed"
            r["aggregation"]["included"] = list(range(1, len(pods) + 1))
            self._bump(r)
            return fm.RoundOutcome(out, list(pods))

    def run_party(self, ctx: Any, round_session: dict, modeller: Any, values: np.ndarray) -> None:
        with self.cond:
            self.inputs[round_session["id"]][ctx.pod] = np.asarray(values, dtype=np.float64)
            self.cond.notify_all()


class Verified(types.SimpleNamespace):
    def is_allowed_by(self, entries):
        return not entries or self.id in entries or self.fingerprint in entries


class FakeModeller:
    def __init__(self, service: FakeService, modeller_id: str = "alice") -> None:
        self.client, self.tenant, self.id = service, service.tenant, modeller_id
        self.identity = Identity()
        self.pins = types.SimpleNamespace(resolve=lambda tenant, kind, pod, presented: presented)
        self.verified = Verified(id=modeller_id, tenant=service.tenant, fingerprint=self.identity.fingerprint,
                                 identity_key=self.identity.public_key)

    def create_session(self, request: dict) -> dict:
        return self.client.create_session(self.tenant, request)

    def cancel(self, session_id: str, reason: str | None = None) -> None:
        pass


def pod_context(service: FakeService, pod: str, state_dir: Path, **config: Any) -> types.SimpleNamespace:
    identity = service.identities.setdefault(pod, Identity())
    settings = {"sources": {}, "query": {}, "training": {}, "fit_clients": {}, "base_directory": "."}
    settings.update(config)
    return types.SimpleNamespace(client=service, tenant=service.tenant, pod=pod, identity=identity, pins=None,
                                 config=types.SimpleNamespace(**settings), state_dir=state_dir,
                                 log=logging.getLogger(f"test.pod.{pod}"))


def serve_in_thread(service: FakeService, ctx: Any, session_id: str, modeller: FakeModeller, errors: list) -> threading.Thread:
    """A stand-in for the pod runner: serves the parent ``session_id`` and dispatches each of its rounds naming this pod
    to ``serve`` in its own thread (the real runner verifies them first); returns once the parent's handler returned."""

    def handle(session: dict) -> None:
        try:
            fp.serve(ctx, session, modeller.verified, run_party=service.run_party)
        except Exception as e:  # reported to the test
            errors.append(e)

    def run() -> None:
        with service.cond:
            service.cond.wait_for(lambda: session_id in service.sessions, timeout=10)
        parent = threading.Thread(target=handle, args=(service.get_session(service.tenant, session_id),), daemon=True)
        parent.start()
        dispatched: set[str] = set()
        rounds: list[threading.Thread] = []
        while parent.is_alive() or any(t.is_alive() for t in rounds):
            with service.cond:
                todo = [copy.deepcopy(s) for s in service.sessions.values()
                        if s.get("parent") == session_id and ctx.pod in s["podIds"] and s["id"] not in dispatched]
                if not todo:
                    service.cond.wait(0.2)
            for s in todo:
                dispatched.add(s["id"])
                t = threading.Thread(target=handle, args=(s,), daemon=True)
                t.start()
                rounds.append(t)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t
