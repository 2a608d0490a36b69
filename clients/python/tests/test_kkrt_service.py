"""kkrt PSI (kkrt-v1) end to end on the real service, mixing Python and .NET parties, both modes.

Each test plants a known intersection: the modeller's rows include pod records spelt differently (case, ``+tag``,
spaces), a repeated record and rows that cannot match; the expected answer is computed here from the plan, and the
.NET modeller's answer on the same data must agree with the Python one. kkrt cardinality is counted by the modeller
over its matching rows (a repeat counts again, as in rsa-blind), and pods with a minimum count decline it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from service import Member, World, poll_session

POD_ROWS = 300
PLANTED = [0, 7, 42, 99, 150, 299]  # pod rows the modeller has, spelt its own way
STRANGERS = 20
DISTINCT = len(PLANTED) + STRANGERS  # the repeated row is the same record: kkrt declares distinct records


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
    rows += [[f"x{j}", f"stranger{j}@example.net"] for j in range(STRANGERS)]
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
                               "--pod-source", "customers", "--protocol", "kkrt", "--mode", mode, "--out", str(out),
                               timeout=300)
    return result, out


def _emails(path: Path) -> set[str]:
    with path.open(newline="") as f:
        return {row["email"] for row in csv.DictReader(f)}


def _psi_policy(**extra):
    return {"modellers": ["alice"], "protocols": ["kkrt"], **extra}


def _check_session(world: World, alice: Member, sid: str, count: int | None = None) -> dict:
    session = world.client(alice).get_session(world.tenant, sid)
    psi = session["psi"]
    assert session["phase"] == "completed", session
    assert psi["protocol"] == "kkrt" and psi["version"] == "kkrt-v1"
    assert psi["modellerSetSize"] == DISTINCT and psi["podSetSize"] == POD_ROWS
    assert not psi.get("countedByPod") and not psi.get("sealedCount")
    if count is not None:
        assert psi["reportedCount"] == count
    return session


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

    rows = modeller.psi("pod-a", str(mod_csv), ["email:email"], protocol="kkrt", mode="intersection",
                        source="customers", session_id="py-kkrt-int")
    assert {r["email"] for r in rows} == expected
    assert len(rows) == len(PLANTED) + 1  # the repeated record is a row of its own
    _check_session(world, alice, "py-kkrt-int", len(PLANTED))  # distinct records

    count = modeller.psi("pod-a", str(mod_csv), ["email:email"], protocol="kkrt", mode="cardinality",
                         source="customers", session_id="py-kkrt-card")
    assert count == len(PLANTED)  # distinct matching records, as the .NET modeller counts them
    _check_session(world, alice, "py-kkrt-card", len(PLANTED))

    # The .NET modeller on the same data against the same pod gets the same answers.
    result, out = _dotnet_psi(world, alice, "net-kkrt-int", mod_csv, "intersection")
    result.check()
    assert _emails(out) == expected
    _check_session(world, alice, "net-kkrt-int", len(PLANTED))
    _dotnet_psi(world, alice, "net-kkrt-card", mod_csv, "cardinality")[0].check()
    _check_session(world, alice, "net-kkrt-card", len(PLANTED))


def test_dotnet_modeller_with_python_pod_both_modes(setup):
    world, alice, pod_csv, mod_csv, expected = setup
    pod = _python_pod(world, world.pods["pod-a"], sources={"customers": {"kind": "csv", "path": str(pod_csv)}},
                      psi=_psi_policy())
    try:
        result, out = _dotnet_psi(world, alice, "net-py-kkrt-int", mod_csv, "intersection")
        result.check()
        assert _emails(out) == expected
        _check_session(world, alice, "net-py-kkrt-int", len(PLANTED))

        _dotnet_psi(world, alice, "net-py-kkrt-card", mod_csv, "cardinality")[0].check()
        _check_session(world, alice, "net-py-kkrt-card", len(PLANTED))

        # and the Python modeller against the Python pod, for the same answers
        modeller = _modeller(world, alice)
        rows = modeller.psi("pod-a", str(mod_csv), ["email:email"], protocol="kkrt", mode="intersection",
                            source="customers", session_id="py-py-kkrt-int")
        assert {r["email"] for r in rows} == expected
        _check_session(world, alice, "py-py-kkrt-int", len(PLANTED))
        assert modeller.psi("pod-a", str(mod_csv), ["email:email"], protocol="kkrt", mode="cardinality",
                            source="customers", session_id="py-py-kkrt-card") == len(PLANTED)
    finally:
        pod.stop()


@pytest.mark.parametrize("pod_side", ["python", "dotnet"])
def test_known_intersections_of_other_sizes(world: World, pod_side: str):
    """Empty, full, one element, an empty modeller set, an empty pod set and 1 : 1000, against either pod."""
    world.add_pod("pod-a")
    alice = world.add_modeller("alice")
    pod_rows = [[str(i), _pod_email(i)] for i in range(1000)]
    pod_csv = _write_csv(world.directory / "pod.csv", ["id", "email"], pod_rows)
    empty_csv = _write_csv(world.directory / "empty.csv", ["id", "email"], [])
    sources = {"customers": {"kind": "csv", "path": str(pod_csv)}, "nobody": {"kind": "csv", "path": str(empty_csv)}}
    agent = (_python_pod(world, world.pods["pod-a"], sources=sources, psi=_psi_policy()) if pod_side == "python"
             else world.start_dotnet_pod("pod-a", sources=sources, psi=_psi_policy()))
    try:
        modeller = _modeller(world, alice)
        cases = {
            "empty": ([f"other{j}@example.net" for j in range(37)], "customers", 0),
            "full": ([_pod_email(i) for i in range(1000)], "customers", 1000),
            "one": ([_pod_email(513)] + [f"other{j}@example.net" for j in range(10)], "customers", 1),
            "ratio": ([_pod_email(3), "a@example.net", "b@example.net"], "customers", 1),  # 3 : 1000
            "no-records": ([], "customers", 0),
            "empty-pod": ([_pod_email(1), _pod_email(2)], "nobody", 0),
        }
        for name, (emails, source, matches) in cases.items():
            rows = [{"email": e} for e in emails] if emails else str(empty_csv)  # (a header-only CSV: no records)
            sid = f"{pod_side[:2]}-kkrt-{name}"
            got = modeller.psi("pod-a", rows, ["email:email"], protocol="kkrt", mode="intersection", source=source,
                               session_id=sid)
            assert len(got) == matches, name
            assert all(r["email"] in {_pod_email(i) for i in range(1000)} for r in got) or source == "nobody"
            session = world.client(alice).get_session(world.tenant, sid)
            assert session["phase"] == "completed" and session["psi"]["reportedCount"] == matches, name
            assert session["psi"]["podSetSize"] == (0 if source == "nobody" else 1000), name
            assert session["psi"]["modellerSetSize"] == len(emails), name
            count = modeller.psi("pod-a", rows, ["email:email"], protocol="kkrt", mode="cardinality", source=source,
                                 session_id=sid + "-card")
            assert count == matches, name
    finally:
        agent.stop()


@pytest.mark.parametrize("pod_side", ["python", "dotnet"])
def test_pods_decline_what_their_policy_refuses(setup, pod_side):
    world, alice, pod_csv, mod_csv, _ = setup
    from smpc.psi.errors import PsiFailed

    policy = _psi_policy(minCount=2, maxModellerSetSize=1000)
    sources = {"customers": {"kind": "csv", "path": str(pod_csv)}}
    agent = (_python_pod(world, world.pods["pod-a"], sources=sources, psi=policy) if pod_side == "python"
             else world.start_dotnet_pod("pod-a", sources=sources, psi=policy))
    try:
        modeller = _modeller(world, alice)
        # A minimum count cannot be kept by modeller-counted cardinality: declined.
        with pytest.raises(PsiFailed) as err:
            modeller.psi("pod-a", str(mod_csv), ["email:email"], protocol="kkrt", mode="cardinality",
                         source="customers", session_id=f"{pod_side[:2]}-kkrt-min")
        assert "only ecdh cardinality can do" in str(err.value)
        # Intersection under the same policy runs.
        rows = modeller.psi("pod-a", str(mod_csv), ["email:email"], protocol="kkrt", mode="intersection",
                            source="customers", session_id=f"{pod_side[:2]}-kkrt-ok")
        assert len(rows) == len(PLANTED) + 1
        # 700 distinct records give m = 1306 bins, over the pod's maximum of 1000 records per session: declined.
        many = [{"email": f"someone{j}@example.net"} for j in range(700)]
        with pytest.raises(PsiFailed) as err:
            modeller.psi("pod-a", many, ["email:email"], protocol="kkrt", mode="intersection", source="customers",
                         session_id=f"{pod_side[:2]}-kkrt-cap")
        assert "1306 kkrt bins" in str(err.value)
        session = poll_session(world.client(alice), world.tenant, f"{pod_side[:2]}-kkrt-cap",
                               lambda s: s["phase"] in ("failed", "cancelled"), timeout=60)
        assert session["phase"] == "failed"
    finally:
        agent.stop()


def _in_thread(work):
    """Runs ``work()`` in a thread; returns a function that joins it and gives its result or raises its exception."""
    import threading

    box: dict = {}

    def run():
        try:
            box["result"] = work()
        except BaseException as ex:  # noqa: BLE001 - handed to the caller
            box["error"] = ex

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join(timeout: float = 300):
        thread.join(timeout)
        assert not thread.is_alive(), "the modeller's run did not end"
        if "error" in box:
            raise box["error"]
        return box["result"]
    return join


def test_the_python_modeller_refuses_an_unsorted_reply_and_cancels(setup):
    """A pod scripted here answers with a reply whose first list is out of order (the service checks only its length):
    the modeller refuses it (malformed), cancels the session naming the fault, and returns nothing."""
    world, alice, _, mod_csv, _ = setup
    from smpc.errors import NotFoundError
    from smpc.psi import kkrt
    from smpc.psi.errors import ProtocolViolation
    from service import wait_until

    modeller = _modeller(world, alice)
    sid = "py-kkrt-unsorted"
    join = _in_thread(lambda: modeller.psi("pod-a", str(mod_csv), ["email:email"], protocol="kkrt",
                                           mode="intersection", source="customers", session_id=sid))
    pod = world.client(world.pods["pod-a"])

    def created():
        try:
            return pod.get_session(world.tenant, sid)
        except NotFoundError:
            return None
    session = wait_until(created, 60, "the modeller's session")
    n = session["psi"]["modellerSetSize"]
    sender = kkrt.KkrtSender([b"p%d" % k for k in range(50)], n)
    pod.accept_psi(world.tenant, sid, {"version": "kkrt-v1", "countedByPod": False})
    pod.upload_psi_set(world.tenant, sid, "pod-set", sender.setup())
    poll_session(pod, world.tenant, sid, lambda s: bool(s["psi"].get("queryStored")), what="the query")
    reply = sender.reply(bytes(pod.download_psi_set(world.tenant, sid, "query")))
    ell = kkrt.tag_bytes(n)
    unsorted = reply[ell:2 * ell] + reply[:ell] + reply[2 * ell:]
    assert unsorted != reply
    pod.upload_psi_set(world.tenant, sid, "reply", unsorted)

    with pytest.raises(ProtocolViolation) as err:
        join()
    assert err.value.code == "malformed" and "kkrt reply" in str(err.value)
    session = poll_session(world.client(alice), world.tenant, sid, lambda s: s["phase"] == "cancelled", timeout=60)
    assert "kkrt reply" in (session.get("cancellation") or {}).get("reason", "")
    assert session["psi"].get("reportedCount") is None


@pytest.mark.parametrize("pod_side", ["python", "dotnet"])
def test_pods_decline_a_query_with_an_invalid_base_ot_element(setup, pod_side, monkeypatch):
    """A modeller whose query carries a non-canonical B_0 (the service checks only the length): the pod declines,
    naming the fault, and the modeller learns nothing."""
    world, alice, pod_csv, mod_csv, _ = setup
    from smpc.psi import kkrt
    from smpc.psi.errors import PsiFailed

    honest = kkrt.KkrtReceiver.query

    def corrupt(self, setup_message):
        query = honest(self, setup_message)
        return query[:16] + b"\xff" * 32 + query[48:]

    monkeypatch.setattr(kkrt.KkrtReceiver, "query", corrupt)
    sources = {"customers": {"kind": "csv", "path": str(pod_csv)}}
    agent = (_python_pod(world, world.pods["pod-a"], sources=sources, psi=_psi_policy()) if pod_side == "python"
             else world.start_dotnet_pod("pod-a", sources=sources, psi=_psi_policy()))
    try:
        sid = f"{pod_side[:2]}-kkrt-bad-b"
        with pytest.raises(PsiFailed) as err:
            _modeller(world, alice).psi("pod-a", str(mod_csv), ["email:email"], protocol="kkrt", mode="intersection",
                                        source="customers", session_id=sid)
        assert "query" in str(err.value) and "nvalid" in str(err.value), str(err.value)
        session = world.client(alice).get_session(world.tenant, sid)
        assert session["phase"] == "failed" and session["psi"].get("reportedCount") is None
    finally:
        agent.stop()
