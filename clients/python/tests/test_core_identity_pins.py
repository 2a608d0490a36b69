"""Identity key files, the pin store (same file as the .NET CLI), and the pod's verification of a session."""

from __future__ import annotations

import base64
import json
import logging
import os
import pathlib
import shutil
import stat
import subprocess

import pytest

from smpc import statements as st
from smpc.identity import IdentityFileError, IdentityKey, fingerprint, fingerprint_matches, is_fingerprint
from smpc.pins import Pin, PinFileError, PinKinds, PinMismatchError, PinSources, PinStore
from smpc.verify import (ModellerVerifier, SessionMismatchError, UnverifiedReasons, UnverifiedSessionError, VerifiedModeller,
                         require_same, verify_session)

REPO = pathlib.Path(__file__).resolve().parents[3]


def _dotnet_cli() -> pathlib.Path | None:
    for root in (os.environ.get("SMPC_DOTNET_BUILD"), str(REPO)):
        if root:
            cli = pathlib.Path(root) / "Cli" / "bin" / "Debug" / "net10.0" / "smpc"
            if cli.exists():
                return cli
    return None


CLI = _dotnet_cli()
needs_cli = pytest.mark.skipif(CLI is None or shutil.which("dotnet") is None, reason="the .NET CLI is not built (dotnet build Smpc.Orleans.sln)")


# ---- identity ----

def test_identity_file_round_trip_is_owner_only_and_never_overwritten(tmp_path):
    key = IdentityKey.generate()
    path = tmp_path / "keys" / "alice.identity.json"
    key.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert set(stored) == {"privateKey", "publicKey", "fingerprint"}
    assert stored["fingerprint"] == key.fingerprint == fingerprint(key.public_key)
    loaded = IdentityKey.load(path)
    assert loaded.public_key == key.public_key
    assert loaded.sign(b"m") == key.sign(b"m")
    with pytest.raises(FileExistsError):
        IdentityKey.generate().save(path)
    assert IdentityKey.load(path).public_key == key.public_key


def test_identity_file_whose_public_key_is_not_its_own_is_refused(tmp_path):
    a, b = IdentityKey.generate(), IdentityKey.generate()
    path = tmp_path / "k.json"
    a.save(path)
    stored = json.loads(path.read_text())
    stored["publicKey"] = b.public_key_base64
    path.write_text(json.dumps(stored))
    with pytest.raises(IdentityFileError, match="does not belong"):
        IdentityKey.load(path)


def test_fingerprints():
    key = IdentityKey(bytes(32))
    assert is_fingerprint(key.fingerprint)
    assert fingerprint_matches(key.fingerprint.upper().replace("SHA256", "sha256") + " ", key.public_key)
    assert not fingerprint_matches("sha256:" + "0" * 64, key.public_key)
    assert not is_fingerprint("sha256:" + "A" * 64)


@needs_cli
def test_a_dotnet_identity_file_loads_and_a_python_one_is_read_by_dotnet(tmp_path):
    out = subprocess.run([str(CLI), "identity", "new", "--out", str(tmp_path / "net.json")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    key = IdentityKey.load(tmp_path / "net.json")
    assert key.fingerprint in out.stdout
    assert json.loads((tmp_path / "net.json").read_text())["fingerprint"] == key.fingerprint
    # The .NET reader needs the same three keys (the service tests run .NET modellers and agents on SDK-written key files).
    mine = IdentityKey.generate()
    mine.save(tmp_path / "py.json")
    assert json.loads((tmp_path / "py.json").read_text()).keys() == json.loads((tmp_path / "net.json").read_text()).keys()


# ---- pins ----

FP_A = "sha256:" + "a" * 64
FP_B = "sha256:" + "b" * 64


def test_first_use_pins_loudly_and_a_changed_key_is_a_hard_stop(tmp_path, caplog):
    store = PinStore(tmp_path / "pins.json")
    with caplog.at_level(logging.WARNING, logger="smpc.pins"):
        assert store.resolve("acme", PinKinds.MODELLER, "alice", FP_A) == FP_A
    assert any("FIRST USE: pinned modeller 'alice' of tenant 'acme'" in r.getMessage() for r in caplog.records)
    assert stat.S_IMODE((tmp_path / "pins.json").stat().st_mode) == 0o600
    again = PinStore(tmp_path / "pins.json")  # a new process reads the pin back
    assert again.resolve("acme", PinKinds.MODELLER, "alice", FP_A.upper().replace("SHA256", "sha256")) == FP_A
    with pytest.raises(PinMismatchError) as e:
        again.resolve("acme", PinKinds.MODELLER, "alice", FP_B)
    assert (e.value.pinned, e.value.presented) == (FP_A, FP_B)
    # pods and modellers are separate namespaces
    assert again.resolve("acme", PinKinds.POD, "alice", FP_B) == FP_B


def test_without_trust_on_first_use_an_unpinned_member_is_refused(tmp_path):
    store = PinStore(tmp_path / "pins.json", trust_on_first_use=False)
    with pytest.raises(PinMismatchError, match="trust on first use is off"):
        store.resolve("acme", PinKinds.MODELLER, "alice", FP_A)
    assert not (tmp_path / "pins.json").exists()
    store.add("acme", PinKinds.MODELLER, "alice", FP_A)
    assert store.resolve("acme", PinKinds.MODELLER, "alice", FP_A) == FP_A


def test_configured_pins_win_and_cannot_be_removed(tmp_path):
    store = PinStore(tmp_path / "pins.json", [Pin("acme", PinKinds.MODELLER, "alice", FP_B)])
    with pytest.raises(PinMismatchError):
        store.resolve("acme", PinKinds.MODELLER, "alice", FP_A)
    with pytest.raises(ValueError):
        store.remove("acme", PinKinds.MODELLER, "alice")
    with pytest.raises(ValueError):
        PinStore(None, [Pin("acme", "pod", "p", FP_A), Pin("acme", "pod", "p", FP_B)])


def test_add_same_is_a_no_op_another_is_refused_until_removed(tmp_path):
    store = PinStore(tmp_path / "pins.json")
    first = store.add("acme", "pod", "p1", FP_A)
    assert store.add("acme", "pod", "p1", FP_A) == first
    with pytest.raises(PinMismatchError):
        store.add("acme", "pod", "p1", FP_B)
    assert store.remove("acme", "pod", "p1")
    assert not store.remove("acme", "pod", "p1")
    store.add("acme", "pod", "p1", FP_B)
    assert [p.fingerprint for p in store.list()] == [FP_B]


def test_pins_file_format_is_the_dotnet_one(tmp_path):
    store = PinStore(tmp_path / "pins.json")
    store.add("acme", "pod", "p1", FP_A)
    doc = json.loads((tmp_path / "pins.json").read_text())
    assert doc["version"] == 1
    assert doc["pins"][0].keys() == {"tenant", "kind", "id", "fingerprint", "source", "pinnedAt"}
    assert doc["pins"][0]["source"] == PinSources.ADDED
    # a .NET-written time with 7 fractional digits and an offset reads back
    doc["pins"][0]["pinnedAt"] = "2026-12-06T14:36:40.1234567+00:00"
    (tmp_path / "pins.json").write_text(json.dumps(doc))
    assert PinStore(tmp_path / "pins.json").find("acme", "pod", "p1").pinned_at.year == 2026


@pytest.mark.parametrize("content", ["{", '{"version": 2, "pins": []}', json.dumps({"version": 1, "pins": [{"tenant": "a", "kind": "pod", "id": "p", "fingerprint": "x", "source": "added", "pinnedAt": "2026-01-01T00:00:00+00:00"}]}),
                                     json.dumps({"version": 1, "pins": [{"tenant": "a", "kind": "pod", "id": "p", "fingerprint": FP_A, "source": "added", "pinnedAt": "2026-01-01T00:00:00+00:00"}] * 2})])
def test_a_damaged_pins_file_is_reported_at_once(tmp_path, content):
    (tmp_path / "pins.json").write_text(content)
    with pytest.raises(PinFileError):
        PinStore(tmp_path / "pins.json")


@needs_cli
def test_the_dotnet_cli_and_the_sdk_share_a_pins_file(tmp_path):
    path = tmp_path / "pins.json"
    PinStore(path).add("acme", "modeller", "alice", FP_A)
    out = subprocess.run([str(CLI), "pins", "list", "--pins-file", str(path), "-o", "json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert FP_A in out.stdout and "alice" in out.stdout
    out = subprocess.run([str(CLI), "pins", "add", "p1", "--tenant", "acme", "--kind", "pod", "--fingerprint", FP_B, "--pins-file", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    store = PinStore(path)
    assert store.find("acme", "pod", "p1").fingerprint == FP_B
    assert store.find("acme", "modeller", "alice").fingerprint == FP_A
    # .NET refuses another fingerprint for a pin the SDK wrote (exit code 8)
    out = subprocess.run([str(CLI), "pins", "add", "alice", "--tenant", "acme", "--kind", "modeller", "--fingerprint", FP_B, "--pins-file", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 8, (out.returncode, out.stderr)


# ---- verification ----

class FakeRegistry:
    """The one route verification uses: get_modeller."""

    def __init__(self, keys: dict):
        self.keys = keys
        self.calls = 0

    def get_modeller(self, tenant, modeller_id):
        self.calls += 1
        key = self.keys.get(modeller_id)
        return {"tenant": tenant, "id": modeller_id, "identityPublicKey": None if key is None else base64.b64encode(key).decode()}


def _psi_session(identity: IdentityKey | None, **changes) -> dict:
    session = {"tenant": "acme", "id": "s1", "modellerId": "alice", "kind": "psi", "podIds": ["bank"], "parent": None, "phase": "awaiting-pod",
               "psi": {"protocol": "ecdh", "mode": "intersection", "modellerColumns": [{"name": "e", "kind": "email"}],
                       "podColumns": [{"name": "e", "kind": "email"}], "source": "c", "modellerSetSize": 10, "keyBits": None,
                       "timeoutSeconds": 3600, "version": "ecdh-oprf-v1", "countKey": None}}
    if identity is not None:
        session["modellerSignature"] = identity.sign_base64(st.served_statement(session))
    session.update(changes)
    return session


def _reason(fn) -> str:
    with pytest.raises(UnverifiedSessionError) as e:
        fn()
    return e.value.reason


def test_verify_accepts_a_signed_session_and_pins_the_modeller(tmp_path):
    alice = IdentityKey.generate()
    pins = PinStore(tmp_path / "pins.json")
    v = ModellerVerifier(FakeRegistry({"alice": alice.public_key}), pins)
    m = v.verify(_psi_session(alice))
    assert (m.id, m.fingerprint, m.identity_key) == ("alice", alice.fingerprint, alice.public_key)
    assert pins.find("acme", "modeller", "alice").source == PinSources.FIRST_USE


def test_verify_refusals_name_their_reason(tmp_path):
    alice, mallory = IdentityKey.generate(), IdentityKey.generate()
    registry = FakeRegistry({"alice": alice.public_key})
    pins = PinStore(tmp_path / "pins.json")
    assert _reason(lambda: verify_session(_psi_session(None), pins, registry)) == UnverifiedReasons.UNSIGNED
    assert _reason(lambda: verify_session(_psi_session(alice, modellerSignature="%%"), pins, registry)) == UnverifiedReasons.BAD_SIGNATURE
    assert _reason(lambda: verify_session(_psi_session(mallory), pins, registry)) == UnverifiedReasons.BAD_SIGNATURE
    changed = _psi_session(alice)
    changed["podIds"] = ["bank", "other"]
    assert _reason(lambda: verify_session(changed, pins, registry)) == UnverifiedReasons.BAD_SIGNATURE
    assert _reason(lambda: verify_session(_psi_session(alice, psi=None), pins, registry)) == UnverifiedReasons.MALFORMED
    assert _reason(lambda: verify_session(_psi_session(alice, modellerId="bob"), pins, registry)) == UnverifiedReasons.NO_IDENTITY
    # the registry now presents mallory's key for alice, who is pinned: a hard stop
    verify_session(_psi_session(alice), pins, registry)
    registry.keys["alice"] = mallory.public_key
    assert _reason(lambda: verify_session(_psi_session(mallory), pins, registry)) == UnverifiedReasons.PIN_MISMATCH
    no_tofu = PinStore(tmp_path / "other.json", trust_on_first_use=False)
    assert _reason(lambda: verify_session(_psi_session(mallory), no_tofu, registry)) == UnverifiedReasons.PIN_MISMATCH


def test_a_later_copy_must_be_the_same_statement(tmp_path):
    alice = IdentityKey.generate()
    v = ModellerVerifier(FakeRegistry({"alice": alice.public_key}), PinStore(None))
    session = _psi_session(alice)
    v.verify(session)
    v.verify(dict(session, phase="running"))  # phases and progress are not signed
    later = json.loads(json.dumps(session))
    later["psi"]["modellerSetSize"] = 11
    assert _reason(lambda: v.verify(later)) == UnverifiedReasons.CHANGED


def test_cancelled_by_modeller_checks_the_cancel_signature(tmp_path):
    alice = IdentityKey.generate()
    v = ModellerVerifier(FakeRegistry({"alice": alice.public_key}), PinStore(None))
    session = _psi_session(alice)
    v.verify(session)
    cancel = {"role": "Modeller", "by": "alice", "reason": "oops", "signedReason": " oops ",
              "signature": alice.sign_base64(st.cancel_statement("acme", "s1", " oops "))}
    assert v.cancelled_by_modeller(dict(session, phase="cancelled", cancellation=cancel))
    assert not v.cancelled_by_modeller(dict(session, phase="cancelled", cancellation=dict(cancel, signedReason="oops")))
    assert not v.cancelled_by_modeller(dict(session, phase="cancelled", cancellation=dict(cancel, signature=None)))


def test_allow_lists_match_verified_ids_and_fingerprints():
    m = VerifiedModeller("acme", "alice", FP_A)
    assert m.is_allowed_by([]) and m.is_allowed_by(None)
    assert m.is_allowed_by(["bob", "alice"])
    assert m.is_allowed_by([FP_A.upper().replace("SHA256", "sha256")])
    assert not m.is_allowed_by(["Alice", FP_B])


def test_require_same_refuses_an_echo_with_other_parameters():
    session = _psi_session(None)
    signed = st.served_statement(session)
    require_same(signed, session)
    with pytest.raises(SessionMismatchError):
        require_same(signed, dict(session, podIds=["bank", "x"]))
