"""ECDH PSI (ecdh-oprf-v1) end to end on the real service, mixing Python and .NET parties, both modes.

Each test plants a known intersection: the modeller's rows include pod records spelt differently (case, ``+tag``,
spaces), repeated records and rows that cannot match; the expected answer is computed here from the plan, and the
.NET modeller's answer on the same data must agree with the Python one.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from service import Member, World, poll_session


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


# The session flow is helper psi's (smpc.psi.modeller, smpc.psi.pod): until it is merged these cases skip by name, so
# the branch and main stay green in any merge order.
pytestmark = pytest.mark.skipif(not (_has("smpc.psi.modeller") and _has("smpc.psi.pod")),
                                reason="smpc.psi.modeller / smpc.psi.pod (helper psi) are not merged yet")

POD_ROWS = 300
PLANTED = [0, 7, 42, 99, 150, 299]  # pod rows the modeller has, spelt its own way


def _pod_email(i: int) -> str:
    return f"person{i:04d}@example.org"


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _data(world: World) -> tuple[Path, Path, set[str]]:
    """The pod's CSV, the modeller's CSV and the modeller e-mail spellings that match."""
    pod_csv = _write_csv(world.directory / "pod.csv", ["id", "email"],
                         [[str(i), _pod_email(i)] for i in range(POD_ROWS)])
    rows: list[list[str]] = []
    expected: set[str] = set()
    for n, i in enumerate(PLANTED):
        spelt = [f"Person{i:04d}@Example.ORG", f" person{i:04d}+crm@example.org ", _pod_email(i)][n % 3]
        rows.append([f"m{n}", spelt])
        expected.add(spelt)
    rows += [[f"x{j}", f"stranger{j}@example.net"] for j in range(20)]
    rows.append(["dup", _pod_email(PLANTED[0])])  # the same record again (intersection: a row of its own)
    expected.add(_pod_email(PLANTED[0]))
    rows.append(["bad", "not-an-email"])          # skipped (email-invalid), never matched
    mod_csv = _write_csv(world.directory / "modeller.csv", ["key", "email"], rows)
    return pod_csv, mod_csv, expected


def _modeller(world: World, member: Member):
    from smpc.modeller import Modeller

    return Modeller.connect(world.url, member.api_key, world.tenant, member.id, member.identity.path)


def _python_pod(world: World, member: Member, **settings):
    from smpc.pod import Pod, PodConfig

    path = world.agent_config(member, **settings)
    return Pod(PodConfig.load(path, api_key=member.api_key)).start()


def _dotnet_psi(world: World, member: Member, session: str, mod_csv: Path, mode: str) -> tuple[object, Path]:
    out = world.directory / f"{session}-matches.csv"
    result = world.as_modeller(member, "psi", session, "--pod", "pod-a", "--csv", str(mod_csv), "--columns", "email:email",
                               "--pod-source", "customers", "--protocol", "ecdh", "--mode", mode, "--out", str(out),
                               timeout=300)
    return result, out


def _emails(path: Path) -> set[str]:
    with path.open(newline="") as f:
        return {row["email"] for row in csv.DictReader(f)}


def _psi_policy(**extra):
    return {"modellers": ["alice"], "protocols": ["ecdh"], **extra}


@pytest.fixture()
def setup(world: World):
    world.add_pod("pod-a")
    alice = world.add_modeller("alice")
    pod_csv, mod_csv, expected = _data(world)
    return world, alice, pod_csv, mod_csv, expected


def test_python_modeller_with_dotnet_pod_both_modes_agree_with_the_dotnet_modeller(setup):
    world, alice, pod_csv, mod_csv, expected = setup
    world.start_dotnet_pod("pod-a", sources={"customers": {"kind": "csv", "path": str(pod_csv)}}, psi=_psi_policy())
    modeller = _modeller(world, alice)

    rows = modeller.psi("pod-a", str(mod_csv), ["email:email"], protocol="ecdh", mode="intersection",
                        source="customers", session_id="py-ecdh-int")
    assert {r["email"] for r in rows} == expected
    assert len(rows) == len(PLANTED) + 1  # the repeated record is a row of its own
    session = world.client(alice).get_session(world.tenant, "py-ecdh-int")
    assert session["phase"] == "completed"
    assert session["psi"]["version"] == "ecdh-oprf-v1" and session["psi"]["podSetSize"] == POD_ROWS

    count = modeller.psi("pod-a", str(mod_csv), ["email:email"], protocol="ecdh", mode="cardinality",
                         source="customers", session_id="py-ecdh-card")
    assert count == len(PLANTED)  # distinct records: the repeat counts once
    card = world.client(alice).get_session(world.tenant, "py-ecdh-card")
    assert card["phase"] == "completed" and card["psi"]["reportedCount"] == len(PLANTED)
    assert card["psi"].get("sealedCount")  # the pod counted and sealed it; the service holds only the box

    # The .NET modeller on the same data against the same pod gets the same answers.
    result, out = _dotnet_psi(world, alice, "net-ecdh-int", mod_csv, "intersection")
    result.check()
    assert _emails(out) == expected
    _dotnet_psi(world, alice, "net-ecdh-card", mod_csv, "cardinality")[0].check()
    assert world.client(alice).get_session(world.tenant, "net-ecdh-card")["psi"]["reportedCount"] == len(PLANTED)


def test_python_modeller_count_below_the_dotnet_pods_minimum_is_withheld(setup):
    world, alice, pod_csv, mod_csv, _ = setup
    world.start_dotnet_pod("pod-a", sources={"customers": {"kind": "csv", "path": str(pod_csv)}},
                           psi=_psi_policy(minCount=len(PLANTED) + 1))
    from smpc.psi.errors import CountWithheld

    with pytest.raises(CountWithheld) as err:
        _modeller(world, alice).psi("pod-a", str(mod_csv), ["email:email"], protocol="ecdh", mode="cardinality",
                                    source="customers", session_id="py-ecdh-withheld")
    assert err.value.minimum == len(PLANTED) + 1
    assert f"below the pod's minimum of {len(PLANTED) + 1}" in str(err.value)
    session = world.client(alice).get_session(world.tenant, "py-ecdh-withheld")
    assert session["phase"] == "completed" and session["psi"].get("reportedCount") is None


def test_dotnet_modeller_with_python_pod_both_modes(setup):
    world, alice, pod_csv, mod_csv, expected = setup
    pod = _python_pod(world, world.pods["pod-a"], sources={"customers": {"kind": "csv", "path": str(pod_csv)}},
                      psi=_psi_policy())
    try:
        result, out = _dotnet_psi(world, alice, "net-py-int", mod_csv, "intersection")
        result.check()
        assert _emails(out) == expected
        session = world.client(alice).get_session(world.tenant, "net-py-int")
        assert session["phase"] == "completed" and session["psi"]["podSetSize"] == POD_ROWS

        _dotnet_psi(world, alice, "net-py-card", mod_csv, "cardinality")[0].check()
        card = world.client(alice).get_session(world.tenant, "net-py-card")
        assert card["psi"]["reportedCount"] == len(PLANTED) and card["psi"].get("sealedCount")

        # and the Python modeller against the Python pod, for the same answers
        rows = _modeller(world, alice).psi("pod-a", str(mod_csv), ["email:email"], protocol="ecdh",
                                           mode="intersection", source="customers", session_id="py-py-int")
        assert {r["email"] for r in rows} == expected
    finally:
        pod.stop()


def test_dotnet_modeller_count_below_the_python_pods_minimum_is_withheld(setup):
    world, alice, pod_csv, mod_csv, _ = setup
    pod = _python_pod(world, world.pods["pod-a"], sources={"customers": {"kind": "csv", "path": str(pod_csv)}},
                      psi=_psi_policy(minCount=len(PLANTED) + 1))
    try:
        result, _ = _dotnet_psi(world, alice, "net-py-withheld", mod_csv, "cardinality")
        assert result.code != 0
        assert f"below the pod's minimum of {len(PLANTED) + 1}" in result.stdout + result.stderr, result
        session = poll_session(world.client(alice), world.tenant, "net-py-withheld",
                               lambda s: s["phase"] in ("completed", "failed", "cancelled"), timeout=60)
        assert session["psi"].get("reportedCount") is None
        assert session["psi"].get("sealedCount")
    finally:
        pod.stop()
