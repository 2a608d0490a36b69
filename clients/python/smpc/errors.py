"""Errors of the SDK: RFC 9457 problems from the service as typed exceptions, and the SDK's own refusals."""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://smpc.dev/problems/"


class SmpcError(Exception):
    """Base class of every error the SDK raises on purpose."""


class TransportError(SmpcError):
    """The service could not be reached, or a transfer failed after its retries (the last cause is chained)."""


class ProblemError(SmpcError):
    """An RFC 9457 problem answered by the service: `status`, stable `type`, `title`, `detail` and any extensions."""

    #: The problem type's last path segment this class stands for (None: the generic base).
    kind: str | None = None

    def __init__(self, status: int, type: str | None, title: str | None, detail: str | None,
                 extensions: dict[str, Any] | None = None, method: str = "", path: str = "") -> None:
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.extensions = extensions or {}
        self.method = method
        self.path = path
        what = detail or title or "no detail"
        super().__init__(f"{status} {type or 'no problem type'}: {what} ({method} {path})")

    @property
    def retry_after(self) -> float | None:
        """Seconds the service asked the caller to wait (429/503), if it said."""
        value = self.extensions.get("retryAfterSeconds")
        return float(value) if isinstance(value, (int, float)) else None


class NotFoundError(ProblemError):
    """The resource does not exist (or is not visible to this credential)."""
    kind = "not-found"


class RouteNotFoundError(ProblemError):
    """No such route: the client and the service disagree on the API."""
    kind = "route-not-found"


class ConflictError(ProblemError):
    """The request conflicts with what is stored (e.g. the id is taken with other content)."""
    kind = "conflict"


class ValidationError(ProblemError):
    """The request is well-formed but its content is invalid; `extensions['errors']` names the fields."""
    kind = "validation"


class WrongPhaseError(ProblemError):
    """The session is not in the phase this step belongs to."""
    kind = "wrong-phase"


class MalformedRequestError(ProblemError):
    """The request body could not be read."""
    kind = "malformed-request"


class UnsupportedMediaTypeError(ProblemError):
    """The body's content type is not accepted by this route."""
    kind = "unsupported-media-type"


class PayloadTooLargeError(ProblemError):
    """The body exceeds the route's limit."""
    kind = "payload-too-large"


class MethodNotAllowedError(ProblemError):
    """The route exists but not with this method."""
    kind = "method-not-allowed"


class StorageUnavailableError(ProblemError):
    """The service's storage failed; nothing was stored (retryable)."""
    kind = "storage-unavailable"


class ServiceUnavailableError(ProblemError):
    """The service cannot serve now (retryable)."""
    kind = "service-unavailable"


class InternalError(ProblemError):
    """The service failed unexpectedly."""
    kind = "internal"


class UnauthenticatedError(ProblemError):
    """No, an unknown, or a revoked API key."""
    kind = "unauthenticated"


class ForbiddenError(ProblemError):
    """The credential may not do this (another tenant, another role)."""
    kind = "forbidden"


class TooManyRequestsError(ProblemError):
    """Rate limited; `retry_after` says how long to wait."""
    kind = "too-many-requests"


class QuotaExceededError(ProblemError):
    """A tenant quota is reached."""
    kind = "quota-exceeded"


class RangeNotSatisfiableError(ProblemError):
    """A download resumed at an offset the payload does not have."""
    kind = "range-not-satisfiable"


class UnsupportedProtocolVersionError(ProblemError):
    """The session asks for a protocol version this service does not speak."""
    kind = "unsupported-protocol-version"


class InvalidIdempotencyKeyError(ProblemError):
    """The Idempotency-Key header is not 1-255 printable ASCII characters."""
    kind = "invalid-idempotency-key"


class IdempotencyKeyReusedError(ProblemError):
    """The Idempotency-Key was used within 24 h for a different request; use a new key."""
    kind = "idempotency-key-reused"


class IdempotencyRequestInProgressError(ProblemError):
    """The first request with this Idempotency-Key is still running; retry after `retry_after`."""
    kind = "idempotency-request-in-progress"


class InvalidWebhookUrlError(ProblemError):
    """A webhook URL that is not absolute https (plain http only to loopback on an embedded service)."""
    kind = "invalid-webhook-url"


_BY_KIND: dict[str, type[ProblemError]] = {
    cls.kind: cls for cls in ProblemError.__subclasses__() if cls.kind is not None  # type: ignore[misc]
}


def problem_class(type_uri: str | None) -> type[ProblemError]:
    """The exception class of a problem type URI (the generic `ProblemError` for an unknown one)."""
    if not type_uri:
        return ProblemError
    return _BY_KIND.get(type_uri.rstrip("/").rsplit("/", 1)[-1], ProblemError)


def problem_kinds() -> dict[str, type[ProblemError]]:
    """Every problem type the SDK maps to its own class, by the type's last path segment."""
    return dict(_BY_KIND)
