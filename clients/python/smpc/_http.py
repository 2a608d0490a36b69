"""HTTP transport of the REST client: keep-alive connections per thread, failover across gateways, retries of
transient failures with exponential backoff, and downloads that resume with `Range` and check `Repr-Digest`.

Standard library only (`http.client`), so the SDK installs with Debian's packages and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import random
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .errors import ProblemError, TransportError, problem_class

log = logging.getLogger("smpc.http")

#: Problem types for which the service guarantees nothing was done, so even a non-idempotent POST may be sent again.
_NOTHING_DONE = {"too-many-requests", "storage-unavailable", "service-unavailable", "quota-exceeded"}


@dataclass
class RetryPolicy:
    """How transient failures are retried: network errors, 5xx and 429, backing off from `first` doubling to `max`."""

    attempts: int = 8
    first: float = 0.2
    max: float = 30.0
    #: Called before each retry with (what, attempt, error, delay seconds); e.g. to log or draw progress.
    on_retry: Callable[[str, int, BaseException, float], None] | None = None

    def delay(self, attempt: int, error: BaseException) -> float:
        """The pause before retry number `attempt` (1-based): the service's Retry-After when it gave one."""
        if isinstance(error, ProblemError) and error.retry_after is not None:
            return min(self.max, max(0.0, error.retry_after))
        base = min(self.max, self.first * (2 ** (attempt - 1)))
        return base * (0.75 + random.random() * 0.5)  # jitter, so many pods do not retry in lock-step


@dataclass
class Response:
    """One HTTP answer: status, headers (lower-case names) and the whole body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (None for an empty body)."""
        return json.loads(self.body) if self.body else None


def is_transient(error: BaseException) -> bool:
    """True for network failures and 5xx/429 problems; false for anything the caller must fix."""
    if isinstance(error, ProblemError):
        return error.status >= 500 or error.status == 429
    return isinstance(error, (OSError, http.client.HTTPException, TimeoutError))


def nothing_done(error: BaseException) -> bool:
    """True when the failed request certainly did nothing (refused connection, or a problem that says so)."""
    if isinstance(error, ConnectionRefusedError):
        return True
    if isinstance(error, ProblemError):
        return (error.type or "").rsplit("/", 1)[-1] in _NOTHING_DONE
    return False


@dataclass
class Transport:
    """Sends requests to one of the gateways in `urls` with the API key as a bearer token."""

    urls: list[str]
    api_key: str | None = None
    timeout: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    user_agent: str = "smpc-python/0.1"

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError("at least one service URL is needed")
        self._parsed = []
        for url in self.urls:
            parts = urllib.parse.urlsplit(url.strip())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {url!r}")
            self._parsed.append(parts)
        self._local = threading.local()
        self._preferred = 0

    # -- connections -------------------------------------------------------------------------------------------

    def _connection(self, index: int) -> http.client.HTTPConnection:
        pool: dict[int, http.client.HTTPConnection] = getattr(self._local, "pool", None) or {}
        self._local.pool = pool
        conn = pool.get(index)
        if conn is None:
            parts = self._parsed[index]
            cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            conn = cls(parts.hostname, parts.port, timeout=self.timeout)
            pool[index] = conn
        return conn

    def _drop(self, index: int) -> None:
        pool = getattr(self._local, "pool", None) or {}
        conn = pool.pop(index, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Closes this thread's connections."""
        for index in list((getattr(self._local, "pool", None) or {}).keys()):
            self._drop(index)

    def _full_path(self, index: int, path: str, query: Mapping[str, Any] | None) -> str:
        prefix = self._parsed[index].path.rstrip("/")
        full = f"{prefix}/{path.lstrip('/')}"
        if query:
            items = [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in query.items() if v is not None]
            if items:
                full += "?" + urllib.parse.urlencode(items)
        return full

    # -- one exchange ---------------------------------------------------------------------------------------------

    def _open(self, method: str, path: str, *, query: Mapping[str, Any] | None, body: bytes | None,
              headers: Mapping[str, str] | None) -> tuple[http.client.HTTPResponse, int]:
        """Sends one request to the preferred gateway (failing over to the next on a connection error)."""
        all_headers = {"User-Agent": self.user_agent, "Accept": "application/json, application/problem+json, */*"}
        if self.api_key:
            all_headers["Authorization"] = f"Bearer {self.api_key}"
        if headers:
            all_headers.update(headers)
        if body is not None:
            all_headers["Content-Length"] = str(len(body))
        last: BaseException | None = None
        for turn in range(len(self._parsed)):
            index = (self._preferred + turn) % len(self._parsed)
            # A stale keep-alive connection closed by the server is tried once more, at once, on a fresh one.
            for fresh in (False, True):
                try:
                    conn = self._connection(index)
                    conn.request(method, self._full_path(index, path, query), body=body, headers=all_headers)
                    response = conn.getresponse()
                    self._preferred = index
                    return response, index
                except (OSError, http.client.HTTPException) as error:
                    self._drop(index)
                    last = error
                    if fresh or not isinstance(error, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)):
                        break
        assert last is not None
        raise last

    @staticmethod
    def _problem(response: http.client.HTTPResponse, body: bytes, method: str, path: str) -> ProblemError:
        type_uri = title = detail = None
        extensions: dict[str, Any] = {}
        try:
            doc = json.loads(body) if body else {}
            if isinstance(doc, dict):
                type_uri, title, detail = doc.get("type"), doc.get("title"), doc.get("detail")
                extensions = {k: v for k, v in doc.items() if k not in ("type", "title", "detail", "status")}
        except ValueError:
            title = response.reason
        retry_after = response.getheader("Retry-After")
        if retry_after and retry_after.strip().isdigit():
            extensions.setdefault("retryAfterSeconds", int(retry_after.strip()))
        return problem_class(type_uri)(response.status, type_uri, title, detail, extensions, method, path)

    def send_once(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: bytes | None = None,
                  headers: Mapping[str, str] | None = None) -> Response:
        """One request, no retry: the answer, or a `ProblemError` for a non-2xx status."""
        response, index = self._open(method, path, query=query, body=body, headers=headers)
        try:
            data = response.read()
        except (OSError, http.client.HTTPException):
            self._drop(index)
            raise
        if response.will_close:
            self._drop(index)
        if response.status >= 400:
            raise self._problem(response, data, method, path)
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data)

    def send(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: bytes | None = None,
             headers: Mapping[str, str] | None = None, idempotent: bool | None = None,
             done: Callable[[ProblemError], bool] | None = None, what: str | None = None) -> Response | None:
        """Sends with retries. Idempotent requests (GET/PUT/DELETE by default) retry on every transient failure; others
        only when the failure says nothing was done. `done(problem)` recognises a retry refused because the first try was
        stored after all (its answer was lost): then None is returned."""
        if idempotent is None:
            idempotent = method in ("GET", "PUT", "DELETE", "HEAD")
        attempt = 0
        retried = False
        while True:
            try:
                return self.send_once(method, path, query=query, body=body, headers=headers)
            except ProblemError as error:
                if retried and done is not None and done(error):
                    return None
                if not is_transient(error) or not (idempotent or nothing_done(error)):
                    raise
                failure: BaseException = error
            except (OSError, http.client.HTTPException) as error:
                if not (idempotent or nothing_done(error)):
                    raise TransportError(f"{method} {path}: {error}") from error
                failure = error
            attempt += 1
            if attempt >= self.retry.attempts:
                if isinstance(failure, ProblemError):
                    raise failure
                raise TransportError(f"{method} {path}: gave up after {attempt} tries: {failure}") from failure
            delay = self.retry.delay(attempt, failure)
            if self.retry.on_retry:
                self.retry.on_retry(what or f"{method} {path}", attempt, failure, delay)
            log.info("%s %s failed (%s); retry %d in %.1fs", method, path, failure, attempt, delay)
            retried = True
            time.sleep(delay)

    def json(self, method: str, path: str, payload: Any = None, *, query: Mapping[str, Any] | None = None,
             idempotent: bool | None = None, idempotency_key: str | None = None) -> Any:
        """A JSON request and its parsed JSON answer. With `idempotency_key` (sent as `Idempotency-Key`) the service
        answers a retry with the first response, so the request is retried like an idempotent one."""
        body = None if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        headers: dict[str, str] | None = {"Content-Type": "application/json"} if body is not None else None
        if idempotency_key is not None:
            headers = {**(headers or {}), "Idempotency-Key": idempotency_key}
            idempotent = True
        if method in ("POST", "PUT") and body is None:
            body = b""
        response = self.send(method, path, query=query, body=body, headers=headers, idempotent=idempotent)
        assert response is not None
        return response.json()

    # -- streamed downloads ---------------------------------------------------------------------------------------

    def download(self, path: str, sink: Callable[[bytes], None], *, what: str = "download",
                 chunk: int = 1 << 20) -> int:
        """Streams `path` into `sink`, each byte once and in order. A cut connection, 5xx or 429 resumes with
        `Range: bytes=n-`; the whole is checked against the length and the `Repr-Digest` SHA-256. Returns the bytes."""
        received = 0
        total: int | None = None
        digest: str | None = None
        hasher = hashlib.sha256()
        attempt = 0
        while True:
            index = -1
            try:
                headers = {"Range": f"bytes={received}-"} if received > 0 else None
                response, index = self._open("GET", path, query=None, body=None, headers=headers)
                if response.status >= 400:
                    data = response.read()
                    raise self._problem(response, data, "GET", path)
                response_digest = response.getheader("Repr-Digest")
                skip = 0
                if received == 0 and total is None:
                    length = response.getheader("Content-Length")
                    total = int(length) if length is not None else None
                    digest = response_digest
                elif response_digest != digest:
                    raise TransportError(f"{what}: the payload changed while it was downloaded")
                elif response.status == 206:
                    content_range = response.getheader("Content-Range") or ""
                    if not content_range.startswith(f"bytes {received}-") or not content_range.endswith(f"/{total}"):
                        raise TransportError(f"{what}: asked for bytes {received}- of {total}, got {content_range!r}")
                else:
                    skip = received  # a gateway that ignores Range sends the whole again
                while True:
                    piece = response.read(chunk)
                    if not piece:
                        break
                    if skip:
                        drop = min(skip, len(piece))
                        skip -= drop
                        piece = piece[drop:]
                        if not piece:
                            continue
                    sink(piece)
                    hasher.update(piece)
                    received += len(piece)
                if response.will_close:
                    self._drop(index)
                if total is not None and received != total:
                    raise http.client.IncompleteRead(b"", total - received)
                break
            except TransportError:
                raise
            except (ProblemError, OSError, http.client.HTTPException) as error:
                if index >= 0:
                    self._drop(index)
                if not is_transient(error):
                    raise
                attempt += 1
                if attempt >= self.retry.attempts:
                    raise TransportError(f"{what}: gave up after {attempt} tries at byte {received}: {error}") from error
                delay = self.retry.delay(attempt, error)
                if self.retry.on_retry:
                    self.retry.on_retry(what, attempt, error, delay)
                time.sleep(delay)
        if digest is not None:
            mine = base64.b64encode(hasher.digest()).decode()
            if f":{mine}:" not in digest:
                raise TransportError(f"{what}: the {received} bytes received do not match the payload's digest {digest}")
        return received

    def download_bytes(self, path: str, *, what: str = "download") -> bytes:
        """The whole payload at `path` in memory (resumed and checked like `download`)."""
        parts: list[bytes] = []
        self.download(path, parts.append, what=what)
        return b"".join(parts)


def split_urls(url: str | list[str]) -> list[str]:
    """One URL, a comma-separated list, or a list: the gateways to use, in order of preference."""
    if isinstance(url, str):
        return [u.strip() for u in url.split(",") if u.strip()]
    return [u.strip() for u in url if u.strip()]


def b64(data: bytes) -> str:
    """Standard base64 with padding, as the wire's JSON byte fields use."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    """Decodes a wire base64 field."""
    return base64.b64decode(text, validate=True)

