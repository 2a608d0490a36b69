"""The REST client against the real embedded service: problems as typed exceptions, tenants and members, payload
transfers (whole and resumable) and their checks."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

import smpc
import smpc._http
from smpc import errors
from service import World


def test_health_and_who_am_i(world: World) -> None:
    assert world.admin.ready()
    me = world.admin.who_am_i()
    assert me["tenant"] == world.tenant


def test_unknown_key_is_an_unauthenticated_problem(world: World) -> None:
    stranger = smpc.Client(world.url, "not-a-key")
    with pytest.raises(errors.UnauthenticatedError) as caught:
        stranger.who_am_i()
    assert caught.value.status == 401
    assert caught.value.type == errors.PROBLEM_BASE + "unauthenticated"


def test_another_tenant_is_not_visible(world: World, service) -> None:
    from service import new_world
    other = new_world(service, world.directory)
    try:
        with pytest.raises((errors.ForbiddenError, errors.NotFoundError)):
            other.admin.get_tenant(world.tenant)
    finally:
        other.close()


def test_members_register_and_show_their_fingerprints(world: World) -> None:
    pod = world.add_pod("pod-a")
    modeller = world.add_modeller("alice")
    shown = world.admin.get_pod(world.tenant, "pod-a")
    assert shown["identityFingerprint"] == pod.identity.fingerprint
    assert world.admin.get_modeller(world.tenant, "alice")["identityFingerprint"] == modeller.identity.fingerprint
    assert world.admin.list_pods(world.tenant) == ["pod-a"]
    assert world.admin.list_modellers(world.tenant) == ["alice"]
    # The pod's key is a pod credential.
    assert world.client(pod).who_am_i()["role"].lower() == "pod"


def test_invalid_registration_is_a_validation_problem(world: World) -> None:
    with pytest.raises(errors.ValidationError) as caught:
        world.admin.register_pod(world.tenant, "Bad Id!", "x", b"\x00" * 32)
    assert caught.value.status == 400


def _session_for_payloads(world: World) -> tuple[smpc.Client, str]:
    """A secure-aggregation session created by the .NET modeller, just to have a session to attach payloads to."""
    world.add_pod("p1"); world.add_pod("p2"); world.add_pod("p3")
    alice = world.add_modeller("alice")
    client = world.client(alice)
    # The simplest session: created through the REST client as the modeller (payloads need a session).
    # No pod acts on it (it is unsigned): payloads only need a session to belong to.
    request = {"id": "payloads-1", "modellerId": "alice", "kind": "secure-aggregation", "podIds": ["p1", "p2", "p3"],
               "aggregation": {"fields": [{"name": "x", "length": 1, "min": 0, "max": 1}], "operation": "sum",
                               "modellerPublicKey": base64.b64encode(os.urandom(32)).decode(), "input": "x"}}
    session = client.create_session(world.tenant, request)
    return client, session["id"]


def test_payload_round_trip_whole_and_resumable(world: World) -> None:
    client, session = _session_for_payloads(world)
    data = os.urandom(3 * 1024 * 1024 + 17)
    stored = client.upload_payload(world.tenant, session, "blob", data)
    assert stored["length"] == len(data)
    assert client.download_payload(world.tenant, session, "blob") == data
    manifest = client.get_payload_manifest(world.tenant, session, "blob")
    assert manifest["length"] == len(data)

    progress: list[int] = []
    result = client.upload_payload_resumable(world.tenant, session, "blob2", data,
                                             on_progress=lambda done, total: progress.append(done))
    assert result.chunks >= 1 and result.chunks_sent == result.chunks and progress[-1] == len(data)
    pieces: list[bytes] = []
    count = client.download_payload(world.tenant, session, "blob2", sink=pieces.append)
    assert count == len(data) and hashlib.sha256(b"".join(pieces)).digest() == hashlib.sha256(data).digest()


def test_resumable_upload_sends_only_missing_chunks(world: World) -> None:
    client, session = _session_for_payloads(world)
    begun = client.begin_resumable_upload(world.tenant, session, "big")
    size = int(begun["chunkBytes"])
    data = os.urandom(size * 2 + 5)
    client.put_resumable_upload_chunk(world.tenant, session, "big", str(begun["uploadId"]), 0, data[:size])
    result = client.upload_payload_resumable(world.tenant, session, "big", data, upload_id=str(begun["uploadId"]))
    assert result.chunks == 3 and result.chunks_sent == 2
    assert client.download_payload(world.tenant, session, "big") == data


def test_unknown_payload_is_not_found(world: World) -> None:
    client, session = _session_for_payloads(world)
    with pytest.raises(errors.NotFoundError):
        client.download_payload(world.tenant, session, "nothing-here")


def test_a_download_cut_mid_body_resumes_with_range_and_checks_the_digest(world: World) -> None:
    from proxy import CuttingProxy
    client, session = _session_for_payloads(world)
    data = os.urandom(4 * 1024 * 1024 + 3)
    client.upload_payload(world.tenant, session, "cut", data)
    port = int(world.url.rsplit(":", 1)[1])
    proxy = CuttingProxy(port, cut_after=1024 * 1024, cuts=2)
    try:
        retries: list[str] = []
        policy = smpc._http.RetryPolicy(first=0.01, on_retry=lambda what, n, error, delay: retries.append(what))
        through = smpc.Client(proxy.url, client.api_key, retry=policy)
        assert through.download_payload(world.tenant, session, "cut") == data
        assert proxy.cuts_done == 2 and len(retries) == 2, (proxy.cuts_done, retries)
    finally:
        proxy.close()


def test_an_upload_cut_is_sent_again_whole(world: World) -> None:
    from proxy import CuttingProxy
    client, session = _session_for_payloads(world)
    data = os.urandom(256 * 1024)
    port = int(world.url.rsplit(":", 1)[1])
    # Cut the first connection before the service's answer arrives: the upload is sent again on a new connection.
    proxy = CuttingProxy(port, cut_after=0, cuts=1)
    try:
        through = smpc.Client(proxy.url, client.api_key, retry=smpc._http.RetryPolicy(first=0.01))
        stored = through.upload_payload(world.tenant, session, "again", data)
        assert stored["length"] == len(data) and proxy.cuts_done == 1
        assert client.download_payload(world.tenant, session, "again") == data
    finally:
        proxy.close()


def test_sessions_list_in_pages_with_filters_and_an_idempotency_key_creates_once(world: World) -> None:
    client, first = _session_for_payloads(world)
    request = {"id": "listed-2", "modellerId": "alice", "kind": "secure-aggregation", "podIds": ["p1", "p2", "p3"],
               "aggregation": {"fields": [{"name": "x", "length": 1, "min": 0, "max": 1}], "operation": "sum",
                               "modellerPublicKey": base64.b64encode(os.urandom(32)).decode(), "input": "x"}}
    created = client.create_session(world.tenant, request, idempotency_key="py-listed-2")
    assert client.create_session(world.tenant, request, idempotency_key="py-listed-2") == created
    with pytest.raises(errors.IdempotencyKeyReusedError) as caught:
        client.create_session(world.tenant, {**request, "id": "listed-3"}, idempotency_key="py-listed-2")
    assert caught.value.status == 422
    client.cancel_session(world.tenant, first, "listed")

    page = world.admin.list_sessions(world.tenant, limit=1)
    assert len(page["items"]) == 1 and page["next"]
    rest = world.admin.list_sessions(world.tenant, limit=1, cursor=page["next"])
    assert {page["items"][0]["id"], rest["items"][0]["id"]} == {first, "listed-2"} and rest["next"] is None
    assert [s["id"] for s in world.admin.iter_sessions(world.tenant, limit=1)] == [page["items"][0]["id"], rest["items"][0]["id"]]
    assert [s["id"] for s in world.admin.list_sessions(world.tenant, phase=["cancelled"])["items"]] == [first]
    assert [s["id"] for s in world.admin.list_sessions(world.tenant, phase="active", kind="secure-aggregation")["items"]] == ["listed-2"]
    with pytest.raises(errors.ValidationError):
        world.admin.list_sessions(world.tenant, cursor="nonsense")


def test_member_keys_and_usage(world: World) -> None:
    world.add_pod("p1")
    rotated = world.admin.issue_pod_key(world.tenant, "p1", idempotency_key="py-rotate-p1")
    assert world.admin.issue_pod_key(world.tenant, "p1", idempotency_key="py-rotate-p1")["keyId"] == rotated["keyId"]
    keys = world.admin.list_pod_keys(world.tenant, "p1")
    assert len(keys) == 2 and keys[-1]["keyId"] == rotated["keyId"]
    assert [k["role"] for k in world.admin.list_admin_keys(world.tenant)] == ["TenantAdmin"] * len(world.admin.list_admin_keys(world.tenant))
    usage = world.admin.get_tenant_usage(world.tenant)
    assert usage["tenant"] == world.tenant and usage["sessionsRunning"] == 0 and usage["maxConcurrentSessions"] > 0
