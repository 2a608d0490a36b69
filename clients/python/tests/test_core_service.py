"""The Python pod refuses what the .NET agent refuses, in sessions created and signed by the .NET modeller (`smpc aggregate`).

Each case runs one real session over three pods: a .NET agent and a Python pod with the same configuration, and an idle
third pod. Both must decline with the same category (the session as served says so) and send no protocol message: the
Python pod's client records every call it makes, and the audit log has no `session.joined` for either. The service-side
cases (a stripped or altered signature) wrap the Python pod's client so that it serves a changed copy of the .NET-signed
session, as a dishonest service would.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from service import World, cli_dll, wait_until
from smpc.errors import NotFoundError
from smpc.identity import IdentityKey
from smpc.pod import InputSpec, Pod, PodConfig, PodIdentityMismatchError, SecureAggregationPolicy

pytestmark = pytest.mark.service


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


# A secure-aggregation statement holds P, the canonical parameters computed by smpc.secagg (helper secagg): until that
# module is merged, a pod cannot verify these sessions at all (it refuses them as `malformed`), so the cases wait for it.
needs_secagg = pytest.mark.skipif(not _has("smpc.secagg.params"), reason="smpc.secagg.params (helper secagg) is not merged yet")

# Calls a pod may make without sending anything for a session: reading, and declining.
READ_OR_DECLINE = {"get_session", "list_pod_sessions", "get_modeller", "get_pod", "who_am_i", "decline_aggregation", "decline_psi",
                   "decline_federated"}


class Recording:
    """The pod's client, recording every method called (and optionally changing what the 'service' serves)."""

    def __init__(self, client: Any, served: Callable[[dict], dict] | None = None) -> None:
        self._client = client
        self._served = served
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls.append(name)
            result = target(*args, **kwargs)
            if name == "get_session" and self._served is not None:
                result = self._served(json.loads(json.dumps(result)))
            return result

        return call


def _aggregate(world: World, session_id: str, pods: list[str], *extra: str) -> subprocess.Popen:
    """Starts `smpc aggregate` (the .NET modeller, signing with alice's identity) in the background."""
    member = world.modellers["alice"]
    argv = ["aggregate", session_id, "--tenant", world.tenant, "--modeller", "alice", *sum((["--pod", p] for p in pods), []),
            "--field", "x:3:-10:10", "--operation", "sum", "--input", "x", "--phase-timeout", "120", *extra]
    env = world.cli_env(member.api_key, member.identity.path, world.directory / "pins" / "modeller.json")
    return subprocess.Popen(["dotnet", str(cli_dll()), *argv], env=env, cwd=str(world.directory), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def _python_pod(world: World, pod: str, client: Any, *, values: Any, policy: dict, trust_on_first_use: bool = True,
                modeller_pins: dict | None = None, pins_file: Path | None = None) -> Pod:
    member = world.pods[pod]
    config = PodConfig(
        tenant=world.tenant, pod=pod, identity_key_file=member.identity.path, url=world.url, api_key=member.api_key,
        state_directory=world.directory / "py-pods" / pod / "state", inputs={"x": InputSpec.of(values)},
        policy=SecureAggregationPolicy(modellers=policy.get("modellers", []), min_pods=policy.get("minPods", 3)),
        trust_on_first_use=trust_on_first_use, modeller_pins=modeller_pins or {}, pins_file=pins_file)
    return Pod(config, client=client, long_poll_seconds=2).start()


def _declined(world: World, session_id: str, pods: list[str], process: subprocess.Popen) -> dict:
    """Waits until every pod in `pods` declined the session (as the service serves it); returns pod -> category."""
    def statuses() -> dict | None:
        try:
            session = world.admin.get_session(world.tenant, session_id)
        except NotFoundError:
            if process.poll() is not None:
                raise AssertionError(f"smpc aggregate exited {process.returncode} before creating the session:\n{process.stdout.read().decode()}")
            return None  # the .NET modeller has not created it yet
        rows = {p["pod"]: p for p in (session.get("aggregation") or {}).get("pods") or []}
        if all(rows.get(p, {}).get("status") == "declined" for p in pods):
            return {p: rows[p].get("declineCategory") for p in pods}
        return None

    return wait_until(statuses, 120, f"{', '.join(pods)} to decline session {session_id}", interval=0.25)


def _joined(world: World, session_id: str) -> list:
    entries = world.admin.export_audit_entries(world.tenant, session=session_id)
    return [e for e in entries if e.get("type") == "session.joined"]


def _finish(world: World, process: subprocess.Popen, session_id: str) -> None:
    try:
        world.admin.cancel_session(world.tenant, session_id, "test over")
    except Exception:  # noqa: BLE001 — it may have failed already
        pass
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def _run_case(world: World, session_id: str, *, net_settings: dict, python: Callable[[Recording], Pod], expected: str,
              dotnet: bool = True, served: Callable[[dict], dict] | None = None) -> Recording:
    pods = ["net", "py", "idle"] if dotnet else ["py", "idle", "idle2"]
    if dotnet:
        world.start_dotnet_pod("net", **net_settings)
    recording = Recording(world.client(world.pods["py"]), served)
    pod = python(recording)
    process = _aggregate(world, session_id, pods)
    try:
        categories = _declined(world, session_id, ["net", "py"] if dotnet else ["py"], process)
        assert set(categories.values()) == {expected}, categories
        assert _joined(world, session_id) == []
        assert set(recording.calls) <= READ_OR_DECLINE, recording.calls
        assert "decline_aggregation" in recording.calls
    finally:
        pod.stop()
        _finish(world, process, session_id)
    assert pod.finished(session_id)
    return recording


@pytest.fixture()
def trio(world: World) -> World:
    for pod in ("net", "py", "idle", "idle2"):
        world.add_pod(pod)
    world.add_modeller("alice")
    world.add_modeller("bob")
    return world


VALUES = [1.0, 2.0, 3.0]


@needs_secagg
def test_a_modeller_not_allowed_by_policy_is_declined_as_policy(trio: World) -> None:
    _run_case(trio, "not-allowed", expected="policy",
              net_settings={"inputs": {"x": {"values": VALUES}}, "policy": {"modellers": ["bob"]}},
              python=lambda c: _python_pod(trio, "py", c, values=VALUES, policy={"modellers": ["bob"]}))


@needs_secagg
def test_an_unpinned_modeller_without_trust_on_first_use_is_refused(trio: World) -> None:
    _run_case(trio, "unpinned", expected="unverified-modeller",
              net_settings={"inputs": {"x": {"values": VALUES}}, "trustOnFirstUse": False},
              python=lambda c: _python_pod(trio, "py", c, values=VALUES, policy={}, trust_on_first_use=False))


@needs_secagg
def test_a_changed_modeller_identity_is_a_hard_stop(trio: World, caplog: pytest.LogCaptureFixture) -> None:
    old = IdentityKey.generate().fingerprint  # the key alice had when each pod pinned her
    with caplog.at_level(logging.ERROR, logger="smpc.pod.py"):
        _run_case(trio, "changed-key", expected="unverified-modeller",
                  net_settings={"inputs": {"x": {"values": VALUES}}, "modellerPins": {"alice": old}},
                  python=lambda c: _python_pod(trio, "py", c, values=VALUES, policy={}, modeller_pins={"alice": old}))
    assert any("REFUSED session changed-key: refused, modeller signature pin-mismatch" in r.getMessage() for r in caplog.records)


@needs_secagg
def test_a_changed_modeller_identity_pinned_on_first_use_in_the_shared_pins_file_is_a_hard_stop(trio: World) -> None:
    # The .NET CLI wrote the pin (as after an earlier first use); the Python pod reads the same file and holds alice to it.
    pins = trio.directory / "py-pins.json"
    trio.smpc("pins", "add", "alice", "--tenant", trio.tenant, "--kind", "modeller", "--fingerprint", IdentityKey.generate().fingerprint,
              "--pins-file", str(pins)).check()
    _run_case(trio, "changed-key-file", expected="unverified-modeller", dotnet=False, net_settings={},
              python=lambda c: _python_pod(trio, "py", c, values=VALUES, policy={}, pins_file=pins))


@needs_secagg
def test_a_session_whose_signature_the_service_stripped_is_refused(trio: World, caplog: pytest.LogCaptureFixture) -> None:
    def strip(session: dict) -> dict:
        session["modellerSignature"] = None
        return session

    with caplog.at_level(logging.ERROR, logger="smpc.pod.py"):
        _run_case(trio, "stripped", expected="unverified-modeller", dotnet=False, net_settings={}, served=strip,
                  python=lambda c: _python_pod(trio, "py", c, values=VALUES, policy={}))
    assert any("modeller signature unsigned" in r.getMessage() for r in caplog.records)


@needs_secagg
def test_a_session_the_service_altered_is_refused(trio: World, caplog: pytest.LogCaptureFixture) -> None:
    def lower_threshold(session: dict) -> dict:
        if session.get("aggregation"):
            session["aggregation"]["threshold"] = 3  # the modeller signed the default, 2
        return session

    with caplog.at_level(logging.ERROR, logger="smpc.pod.py"):
        _run_case(trio, "altered", expected="unverified-modeller", dotnet=False, net_settings={}, served=lower_threshold,
                  python=lambda c: _python_pod(trio, "py", c, values=VALUES, policy={}))
    assert any("modeller signature bad-signature" in r.getMessage() for r in caplog.records)


@needs_secagg
def test_nan_input_is_declined_as_not_finite(trio: World) -> None:
    _run_case(trio, "nan", expected="input-not-finite",
              net_settings={"inputs": {"x": {"file": str(_write_npy(trio, "nan.npy", [1.0, np.nan, 3.0]))}}},
              python=lambda c: _python_pod(trio, "py", c, values=np.array([1.0, np.nan, 3.0]), policy={}))


@needs_secagg
def test_out_of_bounds_input_is_declined(trio: World) -> None:
    _run_case(trio, "out-of-bounds", expected="input-out-of-bounds",
              net_settings={"inputs": {"x": {"values": [1.0, 20.0, 3.0]}}},
              python=lambda c: _python_pod(trio, "py", c, values=[1.0, 20.0, 3.0], policy={}))


@needs_secagg
def test_too_few_pods_for_min_pods_is_declined_as_policy(trio: World) -> None:
    _run_case(trio, "too-few", expected="policy",
              net_settings={"inputs": {"x": {"values": VALUES}}, "policy": {"minPods": 4}},
              python=lambda c: _python_pod(trio, "py", c, values=VALUES, policy={"minPods": 4}))


def _write_npy(world: World, name: str, values: list) -> Path:
    path = world.directory / name
    np.save(path, np.asarray(values, dtype="<f8"))
    return path


@needs_secagg
def test_the_python_pod_runner_joins_a_dotnet_signed_session_and_its_ledger_refuses_differencing(trio: World) -> None:
    """The positive control: with nothing to refuse, the runner verifies, admits and runs the party (exact sum with two
    .NET pods); a second session over the same input with one pod more is then refused by its differencing ledger."""
    pytest.importorskip("smpc.secagg.pod")  # the secure-aggregation party (helper secagg)
    trio.add_pod("net2")
    inputs = {"net": [1.5, 2.0, -3.0], "net2": [0.25, 4.0, 1.0], "py": [2.0, -1.0, 0.5]}
    agents = [trio.start_dotnet_pod(pod, inputs={"x": {"values": inputs[pod]}}) for pod in ("net", "net2")]
    recording = Recording(trio.client(trio.pods["py"]))
    pod = _python_pod(trio, "py", recording, values=np.array(inputs["py"]), policy={})
    try:
        out = trio.directory / "sum.json"
        first = _aggregate(trio, "first", ["net", "net2", "py"], "--out", str(out))
        assert first.wait(timeout=240) == 0, first.stdout.read().decode()
        result = json.loads(out.read_text())
        assert result["includedPods"] == ["net", "net2", "py"]
        assert result["values"]["x"] == pytest.approx([sum(v[i] for v in inputs.values()) for i in range(3)], abs=1e-9)
        assert "submit_masked_input" in recording.calls
        for agent in agents:
            agent.stop()  # the .NET pods' own ledgers would refuse the next session too (and end it before the Python pod)
        second = _aggregate(trio, "second", ["net", "net2", "py", "idle"])
        categories = _declined(trio, "second", ["py"], second)
        assert categories == {"py": "policy"}
        _finish(trio, second, "second")
        ledger = json.loads((trio.directory / "py-pods" / "py" / "state" / "differencing-ledger.json").read_text())
        assert [e["session"] for e in ledger] == ["first"] and ledger[0]["included"] == ["net", "net2", "py"]
    finally:
        pod.stop()
    assert pod.finished("first") and pod.finished("second")
    # A restarted pod remembers both: it acts on neither again.
    again = _python_pod(trio, "py", Recording(trio.client(trio.pods["py"])), values=np.array(inputs["py"]), policy={})
    try:
        assert again.finished("first") and again.finished("second")
    finally:
        again.stop()


def test_identity_files_cross_over_sdk_written_runs_the_dotnet_agent_and_dotnet_written_runs_the_python_pod(world: World) -> None:
    from service import Identity, Member

    # An identity written by the SDK: the .NET agent loads it and finds it registered (it starts polling only then).
    key = IdentityKey.generate()
    path = world.directory / "ids" / "sdk.identity.json"
    key.save(path)
    answer = world.admin.register_pod(world.tenant, "sdk", "sdk", key.public_key_base64)
    world.pods["sdk"] = Member("sdk", answer["apiKey"]["apiKey"], Identity(path, None, key.public_key))  # type: ignore[arg-type]
    agent = world.start_dotnet_pod("sdk")
    assert key.fingerprint in agent.output()
    # One written by `smpc identity new`: the Python pod loads it and finds it registered.
    net_path = world.directory / "ids" / "net.identity.json"
    world.smpc("identity", "new", "--out", str(net_path)).check()
    net_key = IdentityKey.load(net_path)
    answer = world.admin.register_pod(world.tenant, "netkey", "netkey", net_key.public_key_base64)
    config = PodConfig(tenant=world.tenant, pod="netkey", identity_key_file=net_path, url=world.url, api_key=answer["apiKey"]["apiKey"],
                       state_directory=world.directory / "py-pods" / "netkey")
    Pod(config, long_poll_seconds=1).start().stop()
    # And a key other than the registered one stops the Python pod before it polls, as it stops the .NET agent.
    wrong = PodConfig(tenant=world.tenant, pod="netkey", identity=IdentityKey.generate(), url=world.url, api_key=answer["apiKey"]["apiKey"],
                      state_directory=world.directory / "py-pods" / "wrong")
    with pytest.raises(PodIdentityMismatchError):
        Pod(wrong, long_poll_seconds=1).start()


def test_python_m_smpc_pod_runs_the_dotnet_agents_configuration_file(world: World) -> None:
    import os
    import signal
    import sys

    member = world.add_pod("cfg")
    modeller = world.add_modeller("alice")
    config = world.agent_config("cfg", inputs={"x": {"values": VALUES}}, policy={"modellers": ["alice"], "minPods": 3})
    sdk = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=sdk, SMPC_POD_KEY=member.api_key)
    command = [sys.executable, "-m", "smpc.pod", "--config", str(config)]
    checked = subprocess.run([*command, "--check"], env=env, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and member.identity.fingerprint in checked.stdout, checked.stderr
    wrong_key = subprocess.run([*command, "--check", "--key", modeller.api_key], env=env, capture_output=True, text=True, timeout=60)
    assert wrong_key.returncode == 4, wrong_key.stderr
    running = subprocess.Popen([*command, "--long-poll-seconds", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines: list[str] = []
        wait_until(lambda: lines.append(running.stdout.readline()) or "polling" in lines[-1] or running.poll() is not None, 60,
                   "the Python pod to poll")
        assert running.poll() is None, "".join(lines) + running.stdout.read()
        running.send_signal(signal.SIGINT)
        assert running.wait(timeout=60) == 0
    finally:
        if running.poll() is None:
            running.kill()
