"""Calls to vendor APIs: one pooled session per service, retries that are safe, errors mapped.

Retries use urllib3's ``Retry`` (the library requests itself uses): idempotent methods are retried
on 408/429/502/503/504 and on read errors; any method is retried when the connection could not be
made (nothing was sent). ``Retry-After`` is honoured but capped, so a misbehaving upstream cannot
park a worker for an hour. Every failure becomes a :class:`~connector.errors.Problem` with the
status of our HTTP contract; the caller's API key never appears in one.

Every answer passes through its service's response hook, as Zapier's ``afterResponse`` and
singer-sdk's ``validate_response`` do: a catalog maps its vendor's error bodies and unwraps its
envelopes there, once per service, instead of around each call. Without a hook the status table
below decides (:meth:`UpstreamResponse.data`).
"""

from __future__ import annotations

import http.cookiejar
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import orjson
import requests
from requests import PreparedRequest
from requests.adapters import HTTPAdapter
from requests.utils import get_encoding_from_headers
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from connector import metrics
from connector.errors import Problem

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class CappedRetry(Retry):
    """urllib3 Retry whose honoured ``Retry-After`` never exceeds ``retry_after_cap`` seconds."""

    def __init__(self, *args: Any, retry_after_cap: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after_cap = retry_after_cap

    def new(self, **kwargs: Any) -> CappedRetry:
        retry = super().new(**kwargs)
        retry.retry_after_cap = self.retry_after_cap
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.retry_after_cap)


@dataclass(frozen=True)
class UpstreamSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    write_timeout: float = 60.0
    retries: int = 3
    backoff: float = 0.5
    retry_after_cap: float = 30.0
    pool_size: int = 32

    @classmethod
    def from_settings(cls, settings: Any) -> UpstreamSettings:
        return cls(
            connect_timeout=settings.upstream_connect_timeout,
            read_timeout=settings.upstream_read_timeout,
            write_timeout=settings.upstream_write_timeout,
            retries=settings.upstream_retries,
            backoff=settings.upstream_backoff,
            retry_after_cap=settings.upstream_retry_after_cap,
            pool_size=settings.upstream_pool_size,
        )


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """One session serves every caller: a cookie set for one credential must never be sent
    with another's request, so the shared session keeps no cookies at all."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


DEFAULT_HEADERS = {"Accept": "application/json", "User-Agent": "connector/0.1"}


class ServiceAdapter(HTTPAdapter):
    """requests' transport with the per-call look-ups a service's shared session never needs.

    It overrides only the hooks requests documents for subclasses, never ``send`` itself, so test
    doubles that replace ``HTTPAdapter.send`` (``responses``) still see every call, and their
    answers go through :meth:`build_response` like real ones.

    * The connection pool is kept per origin instead of being looked up on every call (which
      parses the URL and walks the proxy settings: about 3 % of a CreateContact's CPU). Calls with
      proxies, a client certificate or other TLS settings take requests' own way.
    * No cookie is read from answers: one session serves every caller, so a cookie one credential
      was given must never reach another's call (the session's jar refuses them too). The headers
      stay urllib3's own case-insensitive mapping rather than being copied into another.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pools: dict[str, Any] = {}

    def get_connection_with_tls_context(
        self, request: PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> Any:
        if proxies or cert is not None or verify is not True:
            return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        url = request.url
        end = url.find("/", url.find("//") + 2)  # a prepared URL always has a path, at least "/"
        origin = url[:end] if end > 0 else url
        pool = self._pools.get(origin)
        if pool is None:  # the pool manager's own for this origin, kept until close()
            pool = self._pools[origin] = super().get_connection_with_tls_context(request, verify)
        return pool

    def request_url(self, request: PreparedRequest, proxies: Any) -> str:
        return super().request_url(request, proxies) if proxies else request.path_url

    def build_response(self, req: PreparedRequest, resp: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = resp.status
        response.headers = resp.headers  # urllib3's HTTPHeaderDict, case-insensitive already: not copied
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url  # type: ignore[assignment]
        response.request = req
        response.connection = self  # type: ignore[attr-defined]
        return response

    def close(self) -> None:
        self._pools.clear()
        super().close()

    def __setstate__(self, state: dict[str, Any]) -> None:  # unpickled: requests rebuilds its pool manager
        super().__setstate__(state)
        self._pools = {}


def build_session(config: UpstreamSettings) -> requests.Session:
    """A session shared by all requests to one service: pooled keep-alive connections."""
    session = requests.Session()
    session.trust_env = False  # no per-call proxy/netrc look-ups; measured +15-19 % throughput
    session.cookies.set_policy(_NoCookies())
    retry = CappedRetry(
        total=config.retries,
        connect=config.retries,
        read=config.retries,
        status=config.retries,
        other=0,
        allowed_methods=IDEMPOTENT_METHODS,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=config.backoff,
        backoff_jitter=config.backoff / 2,
        respect_retry_after_header=True,
        raise_on_status=False,
        retry_after_cap=config.retry_after_cap,
    )
    adapter = ServiceAdapter(pool_connections=4, pool_maxsize=config.pool_size, max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@dataclass(frozen=True)
class SplitCredential:
    """One inbound credential that carries several upstream headers (``account:user:password``).

    Power Automate offers one secret connection parameter; a vendor that wants several headers gets
    them from that one value, split on ``separator``. The last part takes the rest of the value,
    so it may contain the separator (passwords do). ``format`` is how users write the value; the
    401 for a malformed value names it, and never echoes the value itself."""

    headers: tuple[str, ...]
    format: str
    separator: str = ":"

    def headers_for(self, credential: str) -> dict[str, str]:
        parts = credential.split(self.separator, len(self.headers) - 1)
        if len(parts) != len(self.headers) or not all(part.strip() for part in parts):
            raise Problem(
                401,
                f"Malformed credential: expected {len(self.headers)} non-empty values separated by "
                f"{self.separator!r}, as {self.format}.",
            )
        return dict(zip(self.headers, parts, strict=True))


@dataclass(frozen=True)
class UpstreamService:
    """One vendor API as configured at start-up: where it is, how a credential is sent and which
    hook turns its answers into data or problems (``None``: :meth:`UpstreamResponse.data`)."""

    name: str
    base_url: str
    auth_header: str | SplitCredential
    session: requests.Session
    config: UpstreamSettings
    on_response: ResponseHook | None = None
    labels: tuple[str, str] | None = None  # (connector, service) in metrics; None: ("", name)

    @cached_property
    def respond(self) -> ResponseHook:
        """The hook, chosen once rather than looked up on every answer."""
        return self.on_response or UpstreamResponse.data

    @cached_property
    def adapter(self) -> HTTPAdapter:
        """The session's pooled, retrying transport for this service's URL.

        Calls go to it directly: Session.request/send would merge cookies, environment and
        settings, run hooks and look for redirects on every call, none of which a shared,
        cookie-less session that never follows redirects (a redirect would carry the API key
        elsewhere) needs; it measured about 0.3 ms of CPU per call."""
        return self.session.get_adapter(self.base_url)  # type: ignore[return-value]

    def bind(self, credential: str) -> UpstreamCall:
        return UpstreamCall(self, credential)


@lru_cache(maxsize=2048)
def _prepared_url(url: str) -> str:
    """requests' own preparation of a URL (parsed, IDNA host, dot segments removed, quoted), kept for
    the URLs called again: most calls repeat one (a flow adds its contacts to one list). A URL that
    requests rejects raises each time, as exceptions are not cached."""
    prepared = PreparedRequest()
    prepared.prepare_url(url, None)
    return prepared.url  # type: ignore[return-value]


def _prepare(method: str, url: str, params: Any, data: bytes | None, headers: dict[str, str]) -> PreparedRequest:
    """A PreparedRequest without the cookie jar and auth look-ups ``Request.prepare`` adds."""
    prepared = PreparedRequest()
    prepared.prepare_method(method)
    if params:
        prepared.prepare_url(url, params)
    else:
        prepared.url = _prepared_url(url)
    prepared.prepare_headers(headers)
    prepared.prepare_body(data, None)
    return prepared


class UpstreamCall:
    """A service bound to the caller's credential for the duration of one request."""

    __slots__ = ("_headers", "_service", "credential")

    def __init__(self, service: UpstreamService, credential: str) -> None:
        self._service = service
        self.credential = credential  # for the rare API that also wants it in a body (a push-token request)
        auth = service.auth_header
        if isinstance(auth, str):
            self._headers = {**DEFAULT_HEADERS, auth: credential}
        else:
            self._headers = {**DEFAULT_HEADERS, **auth.headers_for(credential)}

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def patch(self, path: str, json: Any = None) -> Any:
        return self.request("PATCH", path, json=json)

    def put(self, path: str, json: Any = None) -> Any:
        return self.request("PUT", path, json=json)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None) -> Any:
        """Send one call and return what the service's response hook makes of the answer: by
        default its decoded JSON body, or a raised :class:`Problem` mapped from its status."""
        service = self._service
        config = service.config
        read_timeout = config.read_timeout if method == "GET" else config.write_timeout
        headers = self._headers
        data = None
        if json is not None:
            data = orjson.dumps(json)
            headers = {**headers, "Content-Type": "application/json"}
        url = service.base_url + path
        started = time.perf_counter()
        try:
            response = service.adapter.send(
                _prepare(method, url, params, data, headers), timeout=(config.connect_timeout, read_timeout)
            )
            # The body is read here, under the same timeouts and error mapping as the head: a body
            # that stalls or breaks off is the upstream's failure (504, 502), never a 500. urllib3
            # reads it in one call and puts the connection back in the pool once it is whole.
            content = response.raw.read(decode_content=True)
        except (requests.RequestException, HTTPError) as exc:
            if _timed_out(exc):
                metrics.upstream_call(service, method, "timeout", started)
                raise Problem(504, f"{service.name} did not answer in time.") from None
            metrics.upstream_call(service, method, "unreachable", started)
            log.warning("upstream %s unreachable: %s", service.name, type(exc).__name__)
            raise Problem(502, f"{service.name} could not be reached.") from None
        metrics.upstream_call(service, method, response.status_code, started)
        return service.respond(UpstreamResponse(service.name, method, path, response, content))


def _timed_out(exc: Exception) -> bool:
    """Whether a failed call ran out of time. requests reports a read that still timed out after
    the last retry (idempotent calls) as a ConnectionError wrapping urllib3's MaxRetryError, whose
    reason says what happened."""
    cause: BaseException = exc
    if exc.args and isinstance(exc.args[0], MaxRetryError) and exc.args[0].reason is not None:
        cause = exc.args[0].reason
    # urllib3 makes a refused connection a kind of connect timeout, for compatibility: it is not one
    return isinstance(cause, (requests.Timeout, Urllib3Timeout)) and not isinstance(cause, NewConnectionError)


def _json(content: bytes) -> Any:
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


class UpstreamResponse:
    """One answer of a vendor API, as a service's response hook sees it: the call it answers
    (``method``, ``path`` without the base URL), its ``status``, ``headers`` and ``body`` (the
    decoded JSON; ``None`` when empty or not JSON)."""

    __slots__ = ("body", "content", "headers", "method", "path", "service", "status")

    def __init__(
        self, service: str, method: str, path: str, response: requests.Response, content: bytes | None = None
    ) -> None:
        self.service = service  # the service's title, for messages
        self.method = method
        self.path = path
        self.status: int = response.status_code
        self.headers: Mapping[str, str] = response.headers
        # the body as the transport read it; a hook's own test may pass a bare requests.Response
        self.content: bytes = response.content if content is None else content
        self.body: Any = _json(self.content)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def data(self) -> Any:
        """The default hook: the JSON of a 2xx answer; anything else raised as :meth:`error`."""
        if 200 <= self.status < 300:
            if self.body is None and self.content:
                raise Problem(502, f"{self.service} answered with a body that is not JSON.")
            return self.body
        raise self.error()

    def error(self, *, message: str | None = None, errors: dict[str, list[str]] | None = None) -> UpstreamError:
        """The problem the status table makes of this answer. A hook whose vendor keeps its message
        or field errors elsewhere than a top-level ``detail``/``message``/``title`` and ``errors``
        passes them in; ``None`` reads those generic places."""
        status = self.status
        mapped, what = UPSTREAM_STATUSES.get(status, (502, "failed with status {status}"))
        detail = f"{self.service} {what.format(status=status)}"
        extra: dict[str, Any] = {}
        if status in (400, 422):  # our validation passed, so this is the upstream's own rule
            extra["kind"] = "upstream-rejected"
        if status == 429:
            extra["headers"] = {"Retry-After": self.headers.get("Retry-After", "60")}
        message = message or _upstream_detail(self.body)
        if message:
            detail = f"{detail}: {message}"
        return UpstreamError(
            mapped,
            detail.rstrip(".") + ".",
            errors=errors or _upstream_errors(self.body),
            upstream_status=status,
            upstream_body=self.body,
            **extra,
        )


# Called with every answer of a service; returns the data an operation gets, or raises a Problem.
ResponseHook = Callable[[UpstreamResponse], Any]


# upstream status → (our status, what happened); anything else is a 502
UPSTREAM_STATUSES: dict[int, tuple[int, str]] = {
    400: (422, "rejected the request"),
    422: (422, "rejected the request"),
    401: (401, "rejected the API key: check the credential of this connection"),
    403: (403, "does not allow this API key to do this"),
    404: (404, "could not find the requested item"),
    408: (504, "timed out"),
    409: (409, "reported a conflict"),
    413: (413, "found the request too large"),
    429: (429, "is rate limiting this API key"),
    504: (504, "timed out"),
}


class UpstreamError(Problem):
    """A non-2xx answer from upstream, mapped to our status; ``upstream_body`` is kept for actions."""

    def __init__(self, status: int, detail: str, *, upstream_status: int, upstream_body: Any, **kwargs: Any) -> None:
        super().__init__(status, detail, **kwargs)
        self.upstream_status = upstream_status
        self.upstream_body = upstream_body


def _upstream_detail(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in ("detail", "message", "title"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    return None


def _upstream_errors(body: Any) -> dict[str, list[str]] | None:
    """Keep the upstream's per-field errors in our ``{field: [messages]}`` shape."""
    if not isinstance(body, dict) or not isinstance(body.get("errors"), dict):
        return None
    errors: dict[str, list[str]] = {}
    for field, value in body["errors"].items():
        if isinstance(value, list):
            errors[str(field)] = [str(v) for v in value]
        else:
            errors[str(field)] = [str(value)]
    return errors
