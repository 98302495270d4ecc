"""Variants of the two apps, for A/B measurements of where the time goes (``actions.py --variants``).

They change nothing outside bench/: each one builds the real app with one piece swapped at
start-up, so the difference in CPU per request against the unmodified app is the cost of that piece.

* ``framework_no_limiter()``    the framework with flask-limiter replaced by a no-op: the cost of rate limiting.
* ``framework_lean_limiter()``  the framework with the same limit enforced by ``limits`` directly (one
  moving-window hit per call, no flask-limiter hooks): a prototype of a cheaper rate limit.
* ``framework_urllib3()``       the framework with its upstream calls made by urllib3 directly (same
  pool, retries, timeouts, headers and error mapping) instead of through ``requests.Session``.
* ``framework_lean()``          both of the above: lean rate limit and urllib3 upstream calls.
* ``baseline_no_trust_env()``  the baseline with ``session.trust_env = False``: the cost of requests'
  per-call proxy/netrc look-ups (DESIGN.md section 8).

    gunicorn 'bench.variants:framework_no_limiter()'      # from the repository root, not bench/:
                                                          # there bench/throughput.py would shadow the
                                                          # ``actions`` package of the connector
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from flask import Flask, abort


class _NoLimiter:
    """Stands in for flask_limiter.Limiter in create_app: no hooks, no storage, no checks."""

    current_limit = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def shared_limit(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return lambda view: view


class _LeanLimiter:
    """The same limit, key and strategy as create_app asks flask-limiter for, enforced by ``limits``
    directly in the view wrapper: one storage hit per call, nothing in before/after-request hooks."""

    current_limit = None

    def __init__(self, *, storage_uri: str, strategy: str, **kwargs: Any) -> None:
        from limits.storage import storage_from_string
        from limits.strategies import STRATEGIES

        self.limiter = STRATEGIES[strategy](storage_from_string(storage_uri))

    def shared_limit(
        self, limit_value: str, scope: str, key_func: Callable[[], str]
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        from limits import parse_many

        items = parse_many(limit_value)
        hit = self.limiter.hit

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def limited(*args: Any, **kwargs: Any) -> Any:
                key = key_func()
                for item in items:
                    if not hit(item, scope, key):
                        abort(429)
                return view(*args, **kwargs)

            return limited

        return decorate


def _framework_with(limiter: type) -> Flask:
    import connector.app

    original = connector.app.Limiter
    connector.app.Limiter = limiter  # type: ignore[assignment,misc]
    try:
        return connector.app.create_app()
    finally:
        connector.app.Limiter = original  # type: ignore[misc]


def _urllib3_request(
    self: Any, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
) -> Any:
    """Drop-in for connector.upstream.UpstreamCall.request that skips requests' per-call machinery
    (prepare_request, merge_setting, hooks, adapter, Response building) and calls urllib3 directly."""
    import orjson
    import urllib3

    from connector.errors import Problem
    from connector.upstream import decode, log

    service = self._service
    config = service.config
    pool = _POOLS.get(service.base_url)
    if pool is None:
        adapter = service.session.get_adapter(service.base_url)
        pool = _POOLS[service.base_url] = urllib3.PoolManager(
            num_pools=4, maxsize=config.pool_size, retries=adapter.max_retries
        )
    read_timeout = config.read_timeout if method == "GET" else config.write_timeout
    headers = {**service.session.headers, **self._headers}
    body = None
    if json is not None:
        body = orjson.dumps(json)
        headers["Content-Type"] = "application/json"
    url = service.base_url + path
    if params:
        url += "?" + urlencode(params, doseq=True)
    try:
        response = pool.request(
            method,
            url,
            body=body,
            headers=headers,
            redirect=False,
            timeout=urllib3.Timeout(connect=config.connect_timeout, read=read_timeout),
        )
    except urllib3.exceptions.MaxRetryError as exc:
        if isinstance(exc.reason, urllib3.exceptions.TimeoutError):
            raise Problem(504, f"{service.name} did not answer in time.") from None
        log.warning("upstream %s unreachable: %s", service.name, type(exc.reason).__name__)
        raise Problem(502, f"{service.name} could not be reached.") from None
    except urllib3.exceptions.TimeoutError:
        raise Problem(504, f"{service.name} did not answer in time.") from None
    except urllib3.exceptions.HTTPError as exc:
        log.warning("upstream %s unreachable: %s", service.name, type(exc).__name__)
        raise Problem(502, f"{service.name} could not be reached.") from None
    return decode(service.name, _Answer(response.status, response.data, response.headers))


class _Answer:
    """The three attributes of a requests.Response that connector.upstream.decode reads."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, content: bytes, headers: Mapping[str, str]) -> None:
        self.status_code, self.content, self.headers = status_code, content, headers


_POOLS: dict[str, Any] = {}


def _framework_with_urllib3(limiter: type | None = None) -> Flask:
    from connector.upstream import UpstreamCall

    UpstreamCall.request = _urllib3_request  # type: ignore[method-assign]
    if limiter is None:
        import connector.app

        return connector.app.create_app()
    return _framework_with(limiter)


def framework_urllib3() -> Flask:
    return _framework_with_urllib3()


def framework_lean() -> Flask:
    return _framework_with_urllib3(_LeanLimiter)


def framework_no_limiter() -> Flask:
    return _framework_with(_NoLimiter)


def framework_lean_limiter() -> Flask:
    return _framework_with(_LeanLimiter)


def baseline_no_trust_env() -> Flask:
    from bench import baseline_app

    baseline_app.session.trust_env = False
    return baseline_app.app
