"""`smpc.Client`: one typed method per route of the service's REST API (`ApiGateway/openapi/v1.json`).

JSON bodies and answers are plain dicts with the wire's camelCase keys (the OpenAPI schemas name them); binary bodies
are `bytes`. Every non-2xx answer raises a `smpc.errors.ProblemError` subclass for its RFC 9457 problem type.
Transient failures (network, 5xx, 429) are retried with backoff; downloads resume with `Range` and are checked against
`Repr-Digest`; uploads are sent again whole, and a retry refused because the first try was stored after all is
recognised from the session's state, like the .NET client.
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, Mapping

import numpy as np

from ._http import Response, RetryPolicy, Transport, b64, split_urls, unb64
from .errors import ProblemError, WrongPhaseError

Json = dict[str, Any]

#: Every route the client calls: operationId -> (method, path template). A test checks it against the OpenAPI document.
ROUTES: dict[str, tuple[str, str]] = {
    "Live": ("GET", "/health/live"),
    "Ready": ("GET", "/health/ready"),
    "WhoAmI": ("GET", "/v1/me"),
    "GetKey": ("GET", "/v1/tenants/{tenantId}/keys/{keyId}"),
    "RevokeKey": ("DELETE", "/v1/tenants/{tenantId}/keys/{keyId}"),
    "ListAuditEntries": ("GET", "/v1/tenants/{tenantId}/audit"),
    "ExportAuditEntries": ("GET", "/v1/tenants/{tenantId}/audit/export"),
    "ListPodAuditEntries": ("GET", "/v1/tenants/{tenantId}/pods/{podId}/audit"),
    "CreateTenant": ("POST", "/v1/tenants"),
    "GetTenant": ("GET", "/v1/tenants/{tenantId}"),
    "IssueAdminKey": ("POST", "/v1/tenants/{tenantId}/admin-keys"),
    "ListAdminKeys": ("GET", "/v1/tenants/{tenantId}/admin-keys"),
    "GetTenantUsage": ("GET", "/v1/tenants/{tenantId}/usage"),
    "SetTenantLimits": ("PUT", "/v1/tenants/{tenantId}/limits"),
    "RegisterPod": ("POST", "/v1/tenants/{tenantId}/pods"),
    "ListPods": ("GET", "/v1/tenants/{tenantId}/pods"),
    "GetPod": ("GET", "/v1/tenants/{tenantId}/pods/{podId}"),
    "ListPodSessions": ("GET", "/v1/tenants/{tenantId}/pods/{podId}/sessions"),
    "IssuePodKey": ("POST", "/v1/tenants/{tenantId}/pods/{podId}/keys"),
    "ListPodKeys": ("GET", "/v1/tenants/{tenantId}/pods/{podId}/keys"),
    "RegisterModeller": ("POST", "/v1/tenants/{tenantId}/modellers"),
    "ListModellers": ("GET", "/v1/tenants/{tenantId}/modellers"),
    "GetModeller": ("GET", "/v1/tenants/{tenantId}/modellers/{modellerId}"),
    "IssueModellerKey": ("POST", "/v1/tenants/{tenantId}/modellers/{modellerId}/keys"),
    "ListModellerKeys": ("GET", "/v1/tenants/{tenantId}/modellers/{modellerId}/keys"),
    "CreateSession": ("POST", "/v1/tenants/{tenantId}/sessions"),
    "ListSessions": ("GET", "/v1/tenants/{tenantId}/sessions"),
    "GetSession": ("GET", "/v1/tenants/{tenantId}/sessions/{sessionId}"),
    "CancelSession": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/cancel"),
    "SubmitKeyBundle": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/secagg/key-bundle"),
    "GetKeyBundles": ("GET", "/v1/tenants/{tenantId}/sessions/{sessionId}/secagg/key-bundles"),
    "SubmitShareEnvelopes": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/secagg/share-envelopes"),
    "GetShareEnvelopes": ("GET", "/v1/tenants/{tenantId}/sessions/{sessionId}/secagg/share-envelopes"),
    "SubmitMaskedInput": ("PUT", "/v1/tenants/{tenantId}/sessions/{sessionId}/secagg/masked-input"),
    "DeclineAggregation": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/secagg/decline"),
    "GetUnmaskRequest": ("GET", "/v1/tenants/{tenantId}/sessions/{sessionId}/secagg/unmask-request"),
    "SubmitUnmaskResponse": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/secagg/unmask-response"),
    "GetUnmaskMaterial": ("GET", "/v1/tenants/{tenantId}/sessions/{sessionId}/secagg/material"),
    "GetMaskedSum": ("GET", "/v1/tenants/{tenantId}/sessions/{sessionId}/secagg/masked-sum"),
    "CompleteAggregation": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/secagg/complete"),
    "AcceptPsi": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/psi/accept"),
    "DeclinePsi": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/psi/decline"),
    "UploadPsiSet": ("PUT", "/v1/tenants/{tenantId}/sessions/{sessionId}/psi/{payload}"),
    "DownloadPsiSet": ("GET", "/v1/tenants/{tenantId}/sessions/{sessionId}/psi/{payload}"),
    "ReportPsiCount": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/psi/count"),
    "CompletePsi": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/psi/complete"),
    "PutMemberKey": ("PUT", "/v1/tenants/{tenantId}/sessions/{sessionId}/federated/member-keys/{podId}"),
    "PutSealedKeys": ("PUT", "/v1/tenants/{tenantId}/sessions/{sessionId}/federated/sealed-keys"),
    "UploadRelease": ("PUT", "/v1/tenants/{tenantId}/sessions/{sessionId}/federated/releases/{name}"),
    "DownloadRelease": ("GET", "/v1/tenants/{tenantId}/sessions/{sessionId}/federated/releases/{name}"),
    "DeclineFederated": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/federated/decline"),
    "ReportRoundMetrics": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/federated/metrics"),
    "FinishFederated": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/federated/finish"),
    "UploadPayload": ("PUT", "/v1/tenants/{tenantId}/sessions/{sessionId}/payloads/{name}"),
    "DownloadPayload": ("GET", "/v1/tenants/{tenantId}/sessions/{sessionId}/payloads/{name}"),
    "GetPayloadManifest": ("GET", "/v1/tenants/{tenantId}/sessions/{sessionId}/payloads/{name}/manifest"),
    "BeginResumableUpload": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/payloads/{name}/uploads"),
    "GetResumableUpload": ("GET", "/v1/tenants/{tenantId}/sessions/{sessionId}/payloads/{name}/uploads/{uploadId}"),
    "PutResumableUploadChunk": ("PUT", "/v1/tenants/{tenantId}/sessions/{sessionId}/payloads/{name}/uploads/{uploadId}/chunks/{index}"),
    "CompleteResumableUpload": ("POST", "/v1/tenants/{tenantId}/sessions/{sessionId}/payloads/{name}/uploads/{uploadId}/complete"),
    "CreateWebhook": ("POST", "/v1/tenants/{tenantId}/webhooks"),
    "ListWebhooks": ("GET", "/v1/tenants/{tenantId}/webhooks"),
    "GetWebhook": ("GET", "/v1/tenants/{tenantId}/webhooks/{webhookId}"),
    "DeleteWebhook": ("DELETE", "/v1/tenants/{tenantId}/webhooks/{webhookId}"),
    "ListWebhookDeliveries": ("GET", "/v1/tenants/{tenantId}/webhooks/{webhookId}/deliveries"),
    "RedeliverWebhook": ("POST", "/v1/tenants/{tenantId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver"),
}

#: PSI payload names (`docs/protocols/psi.md`, "Through the service").
PSI_POD_SET = "pod-set"
PSI_QUERY = "query"
PSI_REPLY = "reply"
PSI_DOUBLE_BLINDED = "double-blinded"

_OCTETS = {"Content-Type": "application/octet-stream"}


def _seg(value: Any) -> str:
    return urllib.parse.quote(str(value), safe="")


def _path(operation: str, **params: Any) -> str:
    _, template = ROUTES[operation]
    return template.format(**{k: _seg(v) for k, v in params.items()})


@dataclass
class ResumableUploadResult:
    """A finished resumable upload: the stored payload, the chunk count, chunks sent by this call, and resumes."""

    payload: Json
    chunks: int
    chunks_sent: int
    resumes: int


class Client:
    """A REST client of the Smpc.Orleans service for one API key.

    `url` is one gateway URL, a comma-separated list, or a list (failover in order). Thread-safe: each thread keeps its
    own keep-alive connections."""

    def __init__(self, url: str | list[str], api_key: str | None = None, *, timeout: float = 120.0,
                 retry: RetryPolicy | None = None) -> None:
        self.urls = split_urls(url)
        self.api_key = api_key
        self.transport = Transport(self.urls, api_key, timeout=timeout, retry=retry or RetryPolicy())

    @classmethod
    def from_env(cls, api_key: str | None = None) -> "Client":
        """A client for `$SMPC_URL` (default http://127.0.0.1:5080) with `$SMPC_KEY` (or the key given)."""
        return cls(os.environ.get("SMPC_URL", "http://127.0.0.1:5080"), api_key or os.environ.get("SMPC_KEY"))

    def with_key(self, api_key: str) -> "Client":
        """The same service with another API key."""
        return Client(self.urls, api_key, timeout=self.transport.timeout, retry=self.transport.retry)

    def close(self) -> None:
        """Closes the calling thread's connections."""
        self.transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"smpc.Client({','.join(self.urls)!r})"

    # -- health and identity ------------------------------------------------------------------------------------

    def live(self) -> Json:
        """Liveness: the process answers."""
        return self.transport.json("GET", _path("Live"))

    def ready(self) -> Json:
        """Readiness: the cluster and its storage answer (a 503 problem otherwise)."""
        return self.transport.json("GET", _path("Ready"))

    def who_am_i(self) -> Json:
        """What the API key is: role, tenant, member id."""
        return self.transport.json("GET", _path("WhoAmI"))

    # -- tenants, members, keys ------------------------------------------------------------------------------------

    def create_tenant(self, tenant_id: str, display_name: str) -> Json:
        """Operator: creates a tenant; the answer holds the tenant admin's key (shown once)."""
        return self.transport.json("POST", _path("CreateTenant"), {"id": tenant_id, "displayName": display_name})

    def get_tenant(self, tenant_id: str) -> Json:
        """A tenant's record."""
        return self.transport.json("GET", _path("GetTenant", tenantId=tenant_id))

    def issue_admin_key(self, tenant_id: str, *, idempotency_key: str | None = None) -> Json:
        """Operator or tenant admin: another tenant admin key (shown once). With `idempotency_key` a retry returns the
        same key instead of issuing another."""
        return self.transport.json("POST", _path("IssueAdminKey", tenantId=tenant_id), idempotency_key=idempotency_key)

    def list_admin_keys(self, tenant_id: str) -> list[Json]:
        """Tenant admin: the tenant's admin keys (`CredentialResponse`, never secrets), revoked ones too, oldest first."""
        return self.transport.json("GET", _path("ListAdminKeys", tenantId=tenant_id))

    def get_tenant_usage(self, tenant_id: str) -> Json:
        """Tenant admin or operator: today's usage (UTC) beside the limits in force (`TenantUsageResponse`)."""
        return self.transport.json("GET", _path("GetTenantUsage", tenantId=tenant_id))

    def set_tenant_limits(self, tenant_id: str, limits: Json) -> Json:
        """Operator: the tenant's request rate and quotas (`TenantLimitsRequest`)."""
        return self.transport.json("PUT", _path("SetTenantLimits", tenantId=tenant_id), limits)

    def register_pod(self, tenant_id: str, pod_id: str, display_name: str, identity_public_key: bytes | str) -> Json:
        """Tenant admin: registers a pod with its Ed25519 identity key; the answer holds its API key (shown once)."""
        key = identity_public_key if isinstance(identity_public_key, str) else b64(identity_public_key)
        return self.transport.json("POST", _path("RegisterPod", tenantId=tenant_id),
                                   {"id": pod_id, "displayName": display_name, "identityPublicKey": key})

    def list_pods(self, tenant_id: str) -> list[str]:
        """The tenant's pod ids."""
        return self.transport.json("GET", _path("ListPods", tenantId=tenant_id))

    def get_pod(self, tenant_id: str, pod_id: str) -> Json:
        """A pod's record, with its identity key and fingerprint."""
        return self.transport.json("GET", _path("GetPod", tenantId=tenant_id, podId=pod_id))

    def list_pod_sessions(self, tenant_id: str, pod_id: str, *, after: str | None = None,
                          wait_seconds: int | None = None) -> list[str]:
        """The pod's session ids, oldest first; with `after` (the newest known id, "-" for none) a long poll that
        answers once a newer one exists or `wait_seconds` pass."""
        query = {"after": after, "waitSeconds": wait_seconds} if after is not None else None
        return self.transport.json("GET", _path("ListPodSessions", tenantId=tenant_id, podId=pod_id), query=query)

    def issue_pod_key(self, tenant_id: str, pod_id: str, *, idempotency_key: str | None = None) -> Json:
        """Tenant admin: another API key for a pod (rotation; shown once). With `idempotency_key` a retry returns the
        same key instead of issuing another."""
        return self.transport.json("POST", _path("IssuePodKey", tenantId=tenant_id, podId=pod_id), idempotency_key=idempotency_key)

    def list_pod_keys(self, tenant_id: str, pod_id: str) -> list[Json]:
        """Tenant admin: the pod's API keys (`CredentialResponse`, never secrets), revoked ones too, oldest first."""
        return self.transport.json("GET", _path("ListPodKeys", tenantId=tenant_id, podId=pod_id))

    def register_modeller(self, tenant_id: str, modeller_id: str, display_name: str,
                          identity_public_key: bytes | str | None = None) -> Json:
        """Tenant admin: registers a modeller (with its Ed25519 identity key, so pods can verify what it signs)."""
        body: Json = {"id": modeller_id, "displayName": display_name}
        if identity_public_key is not None:
            body["identityPublicKey"] = (identity_public_key if isinstance(identity_public_key, str)
                                         else b64(identity_public_key))
        return self.transport.json("POST", _path("RegisterModeller", tenantId=tenant_id), body)

    def list_modellers(self, tenant_id: str) -> list[str]:
        """The tenant's modeller ids."""
        return self.transport.json("GET", _path("ListModellers", tenantId=tenant_id))

    def get_modeller(self, tenant_id: str, modeller_id: str) -> Json:
        """A modeller's record, with its identity key and fingerprint."""
        return self.transport.json("GET", _path("GetModeller", tenantId=tenant_id, modellerId=modeller_id))

    def issue_modeller_key(self, tenant_id: str, modeller_id: str, *, idempotency_key: str | None = None) -> Json:
        """Tenant admin: another API key for a modeller (rotation; shown once). With `idempotency_key` a retry returns
        the same key instead of issuing another."""
        return self.transport.json("POST", _path("IssueModellerKey", tenantId=tenant_id, modellerId=modeller_id),
                                   idempotency_key=idempotency_key)

    def list_modeller_keys(self, tenant_id: str, modeller_id: str) -> list[Json]:
        """Tenant admin: the modeller's API keys (`CredentialResponse`, never secrets), revoked ones too, oldest first."""
        return self.transport.json("GET", _path("ListModellerKeys", tenantId=tenant_id, modellerId=modeller_id))

    def get_key(self, tenant_id: str, key_id: str) -> Json:
        """Tenant admin: what is stored of a key (never its secret)."""
        return self.transport.json("GET", _path("GetKey", tenantId=tenant_id, keyId=key_id))

    def revoke_key(self, tenant_id: str, key_id: str, *, after_seconds: int | None = None) -> Json:
        """Revokes a key at once, or after `after_seconds` (a rotation's overlap)."""
        return self.transport.json("DELETE", _path("RevokeKey", tenantId=tenant_id, keyId=key_id),
                                   query={"afterSeconds": after_seconds})

    # -- audit ----------------------------------------------------------------------------------------------------

    def list_audit_entries(self, tenant_id: str, **filters: Any) -> Json:
        """A page of the tenant's audit log; filters: after, limit, type, session, actor, since, until, pod."""
        return self.transport.json("GET", _path("ListAuditEntries", tenantId=tenant_id), query=filters)

    def export_audit_entries(self, tenant_id: str, **filters: Any) -> list[Json]:
        """The audit log as NDJSON records (same filters as `list_audit_entries`)."""
        import json as _json
        response = self.transport.send("GET", _path("ExportAuditEntries", tenantId=tenant_id), query=filters)
        assert response is not None
        return [_json.loads(line) for line in response.body.decode().splitlines() if line.strip()]

    def list_pod_audit_entries(self, tenant_id: str, pod_id: str, **filters: Any) -> Json:
        """A page of the audit entries about one pod (the pod itself may read them)."""
        return self.transport.json("GET", _path("ListPodAuditEntries", tenantId=tenant_id, podId=pod_id), query=filters)

    # -- webhooks (docs/webhooks.md) ------------------------------------------------------------------------------

    def create_webhook(self, tenant_id: str, url: str, *, event_types: Iterable[str] | None = None,
                       description: str | None = None, secret: str | None = None) -> Json:
        """Tenant admin: registers an endpoint for some (or all) event types; the answer is the only one with its
        signing `secret` (`whsec_...`). `url` is https (plain http only to loopback on an embedded service)."""
        body: Json = {"url": url, "eventTypes": list(event_types or []), "description": description, "secret": secret}
        return self.transport.json("POST", _path("CreateWebhook", tenantId=tenant_id), {k: v for k, v in body.items() if v is not None})

    def list_webhooks(self, tenant_id: str) -> list[Json]:
        """Tenant admin: the tenant's webhook endpoints, oldest first (without secrets)."""
        return self.transport.json("GET", _path("ListWebhooks", tenantId=tenant_id))

    def get_webhook(self, tenant_id: str, webhook_id: str) -> Json:
        """Tenant admin: one webhook endpoint (without its secret)."""
        return self.transport.json("GET", _path("GetWebhook", tenantId=tenant_id, webhookId=webhook_id))

    def delete_webhook(self, tenant_id: str, webhook_id: str) -> None:
        """Tenant admin: removes an endpoint with its queue and delivery log."""
        self.transport.send("DELETE", _path("DeleteWebhook", tenantId=tenant_id, webhookId=webhook_id))

    def list_webhook_deliveries(self, tenant_id: str, webhook_id: str, *, limit: int | None = None,
                                cursor: str | None = None) -> Json:
        """Tenant admin: a page of an endpoint's delivery log, newest first; pass the page's `next` as `cursor`."""
        return self.transport.json("GET", _path("ListWebhookDeliveries", tenantId=tenant_id, webhookId=webhook_id),
                                   query={"limit": limit, "cursor": cursor})

    def redeliver_webhook(self, tenant_id: str, webhook_id: str, delivery_id: str) -> Json:
        """Tenant admin: sends a delivery again (same webhook-id) after what is queued; answers the pending delivery."""
        return self.transport.json("POST", _path("RedeliverWebhook", tenantId=tenant_id, webhookId=webhook_id,
                                                 deliveryId=delivery_id))

    # -- sessions -------------------------------------------------------------------------------------------------

    def create_session(self, tenant_id: str, request: Json, *, idempotency_key: str | None = None) -> Json:
        """Creates a session (`CreateSessionRequest`: kind, pods, the kind's spec, `modellerSignature`).

        Without `idempotency_key` it is not retried after the request may have reached the service; with one, the
        service answers a retry with the first response, so it is retried like a read. The protocol drivers
        (`smpc.Modeller`) sign the request and check the service's copy."""
        return self.transport.json("POST", _path("CreateSession", tenantId=tenant_id), request, idempotency_key=idempotency_key)

    def list_sessions(self, tenant_id: str, *, kind: str | None = None, phase: str | Iterable[str] | None = None,
                      modeller: str | None = None, pod: str | None = None, created_after: str | None = None,
                      created_before: str | None = None, ended_after: str | None = None, ended_before: str | None = None,
                      limit: int = 100, cursor: str | None = None) -> Json:
        """One page of the sessions the caller may see, newest first (`SessionPageResponse`: `items` of
        `SessionSummaryResponse`, and `next`, the cursor of the next page or None). Filters narrow what the caller
        sees: `kind`, `phase` (names, or "active"/"ended"; a list is joined with commas), `modeller`, `pod`, and
        RFC 3339 times (`created_after`/`ended_after` inclusive, `*_before` exclusive)."""
        if phase is not None and not isinstance(phase, str):
            phase = ",".join(phase)
        query = {"kind": kind, "phase": phase, "modeller": modeller, "pod": pod, "createdAfter": created_after,
                 "createdBefore": created_before, "endedAfter": ended_after, "endedBefore": ended_before,
                 "limit": limit, "cursor": cursor}
        return self.transport.json("GET", _path("ListSessions", tenantId=tenant_id),
                                   query={k: v for k, v in query.items() if v is not None})

    def iter_sessions(self, tenant_id: str, **filters: Any) -> Iterable[Json]:
        """Every session matching the filters of `list_sessions`, page after page."""
        cursor = None
        while True:
            page = self.list_sessions(tenant_id, **filters, cursor=cursor)
            yield from page["items"]
            cursor = page.get("next")
            if not cursor:
                return

    def get_session(self, tenant_id: str, session_id: str, *, wait_for_version: int | None = None,
                    wait_seconds: int | None = None) -> Json:
        """A session; with `wait_for_version` a long poll that answers once its version differs (or after
        `wait_seconds`)."""
        query = None
        if wait_for_version is not None:
            query = {"waitForVersion": wait_for_version, "waitSeconds": wait_seconds if wait_seconds is not None else 20}
        return self.transport.json("GET", _path("GetSession", tenantId=tenant_id, sessionId=session_id), query=query)

    def cancel_session(self, tenant_id: str, session_id: str, reason: str | None = None,
                       signature: bytes | str | None = None) -> Json:
        """Cancels a session (idempotent); a modeller signs the cancel statement so pods can tell it from the
        service's."""
        return self.transport.json("POST", _path("CancelSession", tenantId=tenant_id, sessionId=session_id),
                                   {"reason": reason,
                                    "signature": signature if signature is None or isinstance(signature, str)
                                    else b64(signature)}, idempotent=True)

    # -- secure aggregation ---------------------------------------------------------------------------------------

    def submit_key_bundle(self, tenant_id: str, session_id: str, bundle: bytes) -> Json:
        """Pod: its signed key bundle (round 0)."""
        return self.transport.json("POST", _path("SubmitKeyBundle", tenantId=tenant_id, sessionId=session_id),
                                   {"data": b64(bundle)}, idempotent=True)

    def get_key_bundles(self, tenant_id: str, session_id: str) -> list[bytes]:
        """Every pod's key bundle, once all are in (or the round moved on without some)."""
        doc = self.transport.json("GET", _path("GetKeyBundles", tenantId=tenant_id, sessionId=session_id))
        return [unb64(x) for x in doc["items"]]

    def submit_share_envelopes(self, tenant_id: str, session_id: str, envelopes: Iterable[bytes]) -> Json:
        """Pod: its share envelopes, one per other pod."""
        return self.transport.json("POST", _path("SubmitShareEnvelopes", tenantId=tenant_id, sessionId=session_id),
                                   {"items": [b64(e) for e in envelopes]}, idempotent=True)

    def get_share_envelopes(self, tenant_id: str, session_id: str) -> list[bytes]:
        """Pod: the envelopes other pods addressed to it."""
        doc = self.transport.json("GET", _path("GetShareEnvelopes", tenantId=tenant_id, sessionId=session_id))
        return [unb64(x) for x in doc["items"]]

    def submit_masked_input(self, tenant_id: str, session_id: str, masked: np.ndarray | bytes,
                            *, party: int | None = None) -> Json | None:
        """Pod: its masked vector as little-endian uint64 field elements. With `party`, a retry refused because the
        first try was stored and the phase moved on counts as done (then the current session is returned)."""
        body = masked if isinstance(masked, (bytes, bytearray)) else np.ascontiguousarray(masked, dtype="<u8").tobytes()
        path = _path("SubmitMaskedInput", tenantId=tenant_id, sessionId=session_id)
        done = None
        if party is not None:
            def done(error: ProblemError) -> bool:
                if not isinstance(error, WrongPhaseError):
                    return False
                session = self.get_session(tenant_id, session_id)
                return party in ((session.get("aggregation") or {}).get("maskedInputs") or [])
        response = self.transport.send("PUT", path, body=bytes(body), headers=_OCTETS, done=done,
                                       what="secagg.masked.upload")
        return response.json() if response is not None else self.get_session(tenant_id, session_id)

    def decline_aggregation(self, tenant_id: str, session_id: str, category: str) -> Json:
        """Pod: declines (or reports its own failure) with one of the decline categories."""
        return self.transport.json("POST", _path("DeclineAggregation", tenantId=tenant_id, sessionId=session_id),
                                   {"category": category}, idempotent=True)

    def get_unmask_request(self, tenant_id: str, session_id: str) -> bytes:
        """Pod: the modeller's unmask request (survivors and dropouts)."""
        doc = self.transport.json("GET", _path("GetUnmaskRequest", tenantId=tenant_id, sessionId=session_id))
        return unb64(doc["data"])

    def submit_unmask_response(self, tenant_id: str, session_id: str, response: bytes) -> Json:
        """Pod: its signed unmask response, sealed to the modeller."""
        return self.transport.json("POST", _path("SubmitUnmaskResponse", tenantId=tenant_id, sessionId=session_id),
                                   {"data": b64(response)}, idempotent=True)

    def get_unmask_material(self, tenant_id: str, session_id: str) -> Json:
        """Modeller: the key bundles and sealed unmask responses to remove the masks."""
        return self.transport.json("GET", _path("GetUnmaskMaterial", tenantId=tenant_id, sessionId=session_id))

    def get_masked_sum(self, tenant_id: str, session_id: str) -> np.ndarray:
        """Modeller: the survivors' masked vectors summed mod q, as uint64 field elements."""
        data = self.transport.download_bytes(_path("GetMaskedSum", tenantId=tenant_id, sessionId=session_id),
                                             what="secagg.masked_sum.download")
        if len(data) % 8:
            raise ValueError(f"the masked sum ends mid-element ({len(data) % 8} stray bytes)")
        return np.frombuffer(data, dtype="<u8").astype(np.uint64)

    def complete_aggregation(self, tenant_id: str, session_id: str, included_parties: Iterable[int]) -> Json:
        """Modeller: ends the round, naming the parties whose inputs the result includes."""
        return self.transport.json("POST", _path("CompleteAggregation", tenantId=tenant_id, sessionId=session_id),
                                   {"includedParties": list(included_parties)}, idempotent=True)

    # -- private set intersection -----------------------------------------------------------------------------------

    def accept_psi(self, tenant_id: str, session_id: str, accept: Json) -> Json:
        """Pod: accepts a PSI session (`PsiAcceptRequest`: publicKey, countedByPod, keyProof, version)."""
        return self.transport.json("POST", _path("AcceptPsi", tenantId=tenant_id, sessionId=session_id), accept,
                                   idempotent=True)

    def decline_psi(self, tenant_id: str, session_id: str, reason: str) -> Json:
        """Pod: declines a PSI session with a reason code."""
        return self.transport.json("POST", _path("DeclinePsi", tenantId=tenant_id, sessionId=session_id),
                                   {"reason": reason}, idempotent=True)

    def upload_psi_set(self, tenant_id: str, session_id: str, payload: str, data: bytes | BinaryIO) -> Json | None:
        """Uploads a PSI set (`pod-set`, `query`, `reply`, `double-blinded`), sent again whole after a transient
        failure; a retry refused because the first try was stored and the session moved on counts as done."""
        body = data if isinstance(data, (bytes, bytearray)) else data.read()
        flag = {PSI_POD_SET: lambda p: bool(p.get("podSetStored")) or p.get("podSetSize") is not None,
                PSI_QUERY: lambda p: bool(p.get("queryStored")),
                PSI_REPLY: lambda p: bool(p.get("replyStored"))}.get(payload, lambda p: bool(p.get("doubleBlindedStored")))

        def done(error: ProblemError) -> bool:
            if not isinstance(error, WrongPhaseError):
                return False
            return flag(self.get_session(tenant_id, session_id).get("psi") or {})
        response = self.transport.send("PUT", _path("UploadPsiSet", tenantId=tenant_id, sessionId=session_id,
                                                     payload=payload),
                                       body=bytes(body), headers=_OCTETS, done=done, what=f"psi.{payload}.upload")
        return response.json() if response is not None else self.get_session(tenant_id, session_id)

    def download_psi_set(self, tenant_id: str, session_id: str, payload: str,
                         sink: Callable[[bytes], None] | None = None) -> bytes | int:
        """Downloads a PSI set: into `sink` piece by piece (returns the byte count), or whole as bytes."""
        path = _path("DownloadPsiSet", tenantId=tenant_id, sessionId=session_id, payload=payload)
        if sink is None:
            return self.transport.download_bytes(path, what=f"psi.{payload}.download")
        return self.transport.download(path, sink, what=f"psi.{payload}.download")

    def report_psi_count(self, tenant_id: str, session_id: str, count: int | None = None,
                         sealed_count: bytes | None = None) -> Json:
        """Pod: the cardinality it counted (or, for ecdh, its count sealed to the modeller's count key)."""
        body: Json = {"count": count}
        if sealed_count is not None:
            body["sealedCount"] = b64(sealed_count)
        return self.transport.json("POST", _path("ReportPsiCount", tenantId=tenant_id, sessionId=session_id), body,
                                   idempotent=True)

    def complete_psi(self, tenant_id: str, session_id: str, count: int | None = None) -> Json:
        """Modeller: ends the PSI session (with the count it learned, for the audit of a cardinality session)."""
        return self.transport.json("POST", _path("CompletePsi", tenantId=tenant_id, sessionId=session_id),
                                   {"count": count}, idempotent=True)

    # -- federated ------------------------------------------------------------------------------------------------

    def put_member_key(self, tenant_id: str, session_id: str, pod_id: str, public_key: bytes | str,
                       signature: bytes | str) -> Json:
        """Pod: its member key for a federated session, signed with its identity key."""
        return self.transport.json("PUT", _path("PutMemberKey", tenantId=tenant_id, sessionId=session_id, podId=pod_id),
                                   {"publicKey": public_key if isinstance(public_key, str) else b64(public_key),
                                    "signature": signature if isinstance(signature, str) else b64(signature)})

    def put_sealed_keys(self, tenant_id: str, session_id: str, boxes: Mapping[str, bytes]) -> Json:
        """Modeller: the content key sealed (and signed) to every pod, by pod id."""
        return self.transport.json("PUT", _path("PutSealedKeys", tenantId=tenant_id, sessionId=session_id),
                                   {"boxes": {pod: b64(box) for pod, box in boxes.items()}})

    def upload_release(self, tenant_id: str, session_id: str, name: str, release: bytes) -> Json:
        """Modeller: a release (ciphertext) of a federated session."""
        response = self.transport.send("PUT", _path("UploadRelease", tenantId=tenant_id, sessionId=session_id,
                                                    name=name),
                                       body=bytes(release), headers=_OCTETS, what="federated.release.upload")
        assert response is not None
        return response.json()

    def download_release(self, tenant_id: str, session_id: str, name: str) -> bytes:
        """A release (ciphertext) of a federated session."""
        return self.transport.download_bytes(_path("DownloadRelease", tenantId=tenant_id, sessionId=session_id,
                                                   name=name), what="federated.release.download")

    def decline_federated(self, tenant_id: str, session_id: str, reason: str) -> Json:
        """Pod: declines a federated session; it fails with this reason."""
        return self.transport.json("POST", _path("DeclineFederated", tenantId=tenant_id, sessionId=session_id),
                                   {"reason": reason}, idempotent=True)

    def report_round_metrics(self, tenant_id: str, session_id: str, round: str, values: Mapping[str, float]) -> Json:
        """Modeller: one round's metrics."""
        return self.transport.json("POST", _path("ReportRoundMetrics", tenantId=tenant_id, sessionId=session_id),
                                   {"round": round, "values": dict(values)}, idempotent=True)

    def finish_federated(self, tenant_id: str, session_id: str, failure_reason: str | None = None) -> Json:
        """Modeller: ends a federated session (a reason makes it fail)."""
        return self.transport.json("POST", _path("FinishFederated", tenantId=tenant_id, sessionId=session_id),
                                   {"failureReason": failure_reason}, idempotent=True)

    # -- payloads ---------------------------------------------------------------------------------------------------

    def upload_payload(self, tenant_id: str, session_id: str, name: str, data: bytes) -> Json:
        """Stores a payload of a session in one request (sent again whole after a transient failure)."""
        response = self.transport.send("PUT", _path("UploadPayload", tenantId=tenant_id, sessionId=session_id,
                                                    name=name),
                                       body=bytes(data), headers=_OCTETS, what="payload.upload")
        assert response is not None
        return response.json()

    def download_payload(self, tenant_id: str, session_id: str, name: str,
                         sink: Callable[[bytes], None] | None = None) -> bytes | int:
        """A stored payload: into `sink` (returns the byte count) or whole as bytes; a cut download resumes."""
        path = _path("DownloadPayload", tenantId=tenant_id, sessionId=session_id, name=name)
        if sink is None:
            return self.transport.download_bytes(path, what="payload.download")
        return self.transport.download(path, sink, what="payload.download")

    def get_payload_manifest(self, tenant_id: str, session_id: str, name: str) -> Json:
        """A payload's length and digest."""
        return self.transport.json("GET", _path("GetPayloadManifest", tenantId=tenant_id, sessionId=session_id,
                                                name=name))

    def begin_resumable_upload(self, tenant_id: str, session_id: str, name: str) -> Json:
        """Begins a resumable upload (`ResumableUploadResponse`: uploadId, chunkBytes, …)."""
        return self.transport.json("POST", _path("BeginResumableUpload", tenantId=tenant_id, sessionId=session_id,
                                                 name=name))

    def get_resumable_upload(self, tenant_id: str, session_id: str, name: str, upload_id: str) -> Json:
        """How much of a resumable upload is stored."""
        return self.transport.json("GET", _path("GetResumableUpload", tenantId=tenant_id, sessionId=session_id,
                                                name=name, uploadId=upload_id))

    def put_resumable_upload_chunk(self, tenant_id: str, session_id: str, name: str, upload_id: str, index: int,
                                   chunk: bytes) -> Json:
        """Stores chunk `index` of a resumable upload (idempotent for the same bytes)."""
        response = self.transport.send("PUT", _path("PutResumableUploadChunk", tenantId=tenant_id,
                                                     sessionId=session_id, name=name, uploadId=upload_id, index=index),
                                       body=bytes(chunk), headers=_OCTETS, what="payload.chunk")
        assert response is not None
        return response.json()

    def complete_resumable_upload(self, tenant_id: str, session_id: str, name: str, upload_id: str, length: int,
                                  sha256_hex: str) -> Json:
        """Completes a resumable upload; the service checks the length and SHA-256 (hex). Idempotent."""
        return self.transport.json("POST", _path("CompleteResumableUpload", tenantId=tenant_id, sessionId=session_id,
                                                 name=name, uploadId=upload_id),
                                   {"length": length, "sha256": sha256_hex}, idempotent=True)

    def upload_payload_resumable(self, tenant_id: str, session_id: str, name: str, data: bytes | BinaryIO, *,
                                 upload_id: str | None = None,
                                 on_progress: Callable[[int, int], None] | None = None) -> ResumableUploadResult:
        """Uploads a payload in chunks, resuming `upload_id` (from an earlier, interrupted call) or a new upload; only
        the chunks the service does not hold yet are sent. `on_progress(bytes_stored, total)` after each chunk."""
        content = data if isinstance(data, (bytes, bytearray)) else data.read()
        view = memoryview(bytes(content))
        sha = hashlib.sha256(view).hexdigest()
        upload = (self.get_resumable_upload(tenant_id, session_id, name, upload_id) if upload_id
                  else self.begin_resumable_upload(tenant_id, session_id, name))
        uid, size = str(upload["uploadId"]), int(upload["chunkBytes"])
        chunks = (len(view) + size - 1) // size
        stored, sent, resumes = int(upload["chunksStored"]), 0, (1 if upload_id else 0)
        while stored < chunks:
            piece = view[stored * size:(stored + 1) * size]
            status = self.put_resumable_upload_chunk(tenant_id, session_id, name, uid, stored, piece)
            sent += 1
            stored = int(status["chunksStored"])
            if on_progress:
                on_progress(int(status["bytesStored"]), len(view))
        payload = self.complete_resumable_upload(tenant_id, session_id, name, uid, len(view), sha)
        return ResumableUploadResult(payload, chunks, sent, resumes)

