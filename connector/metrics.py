"""What the service counts for Prometheus, and the ``/metrics`` page that shows it.

Counters and histograms are prometheus-client's (https://prometheus.github.io/client_python/).
The library is imported on the first thing counted or scraped in a process, not when the app is
built, so cold start does not pay for it. Each hook below is one call from the code it measures
and costs a dictionary look-up and one or two increments.

Several processes (``connector serve`` with gunicorn workers) share their counts through
prometheus-client's multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR`` names a directory where each
process keeps its counters in a memory-mapped file, and a scrape, whichever worker answers it,
adds them all up (https://prometheus.github.io/client_python/multiprocess/). ``serve`` sets it up;
it must be set before the first count, and emptied between runs. Without it the counts are this
process's, and the page also shows the process's CPU and memory.

Labels never carry what a caller sent: requests are labelled by connector and operation key (the
Flask endpoint), never by path, so no credential, callback URL, subscription id or receiver token
reaches a label. The outbox gauges are read from the database at scrape time (two small queries:
the events by the (status, created_at) index, and the subscriptions table).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

if TYPE_CHECKING:
    import sqlalchemy as sa

    from connector.upstream import UpstreamService
    from connector.webhooks.delivery import Attempt

log = logging.getLogger(__name__)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
START_KEY = "connector.started"  # perf_counter() when the request began, in the WSGI environ
UNMATCHED = "unmatched"  # the operation label of a request no route matched (404, 405)
# Seconds: prometheus-client's default buckets up to 10 s, then up to the 60 s upstream write timeout.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, float("inf"))


class Instruments:
    """The service's counters and histograms, created once per process."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram, disable_created_metrics

        disable_created_metrics()  # the *_created series say when a process started: noise here
        # prometheus-client chose its kind of values when imported, from this same variable
        self.multiprocess = bool(os.environ.get(MULTIPROCESS_DIR))
        request_labels = ("connector", "operation", "status")
        upstream_labels = ("connector", "service", "method", "status")
        self.requests = Counter("connector_http_requests", "HTTP requests answered.", request_labels, registry=None)
        self.request_seconds = Histogram(
            "connector_http_request_duration_seconds",
            "Seconds from reading a request to its answer.",
            request_labels,
            buckets=BUCKETS,
            registry=None,
        )
        self.upstream = Counter(
            "connector_upstream_requests", "Calls to vendor APIs, by final status.", upstream_labels, registry=None
        )
        self.upstream_seconds = Histogram(
            "connector_upstream_request_duration_seconds",
            "Seconds a call to a vendor API took, retries included.",
            upstream_labels,
            buckets=BUCKETS,
            registry=None,
        )
        self.rate_limited = Counter(
            "connector_rate_limited",
            "Calls refused with 429 by the per-credential rate limit.",
            ("connector",),
            registry=None,
        )
        self.replays = Counter(
            "connector_idempotent_replays",
            "Answers replayed from an Idempotency-Key instead of calling upstream again.",
            ("connector", "operation"),
            registry=None,
        )
        self.deliveries = Counter(
            "connector_webhook_delivery_attempts",
            "Webhook delivery attempts, by outcome: delivered (2xx), rejected (another status), unanswered.",
            ("outcome",),
            registry=None,
        )
        self.delivery_seconds = Histogram(
            "connector_webhook_delivery_attempt_duration_seconds",
            "Seconds one webhook delivery attempt took.",
            ("outcome",),
            buckets=BUCKETS,
            registry=None,
        )
        self.all = (
            self.requests,
            self.request_seconds,
            self.upstream,
            self.upstream_seconds,
            self.rate_limited,
            self.replays,
            self.deliveries,
            self.delivery_seconds,
        )
        # (counter child, histogram child) by label values: labels() takes a lock and builds a key
        self.request_pairs: dict[Any, tuple[Any, ...]] = {}
        self.upstream_pairs: dict[Any, tuple[Any, ...]] = {}
        self.delivery_pairs: dict[Any, tuple[Any, ...]] = {}
        self.other_children: dict[Any, tuple[Any, ...]] = {}


class _Uncounted:
    """Stands in for a series that could not be made (its multiprocess file could not be written):
    requests are still served, only not counted there."""

    def inc(self, amount: float = 1) -> None:
        pass

    def observe(self, amount: float) -> None:
        pass


UNCOUNTED = _Uncounted()


def _children(cache: dict[Any, tuple[Any, ...]], key: Any, metrics: tuple[Any, ...], labels: tuple[str, ...]) -> Any:
    """The children of ``metrics`` for ``labels``, kept in ``cache`` under ``key``."""
    try:
        children = tuple(metric.labels(*labels) for metric in metrics)
    except Exception:
        log.exception("metrics: cannot count %s %s; serving without it", metrics[0]._name, labels)
        children = (UNCOUNTED,) * len(metrics)
    cache[key] = children
    return children


_instruments: Instruments | None = None
_lock = threading.Lock()


def instruments() -> Instruments:
    global _instruments
    if _instruments is None:
        with _lock:
            if _instruments is None:
                _instruments = Instruments()
    return _instruments


# --- hooks: one call each from the code they measure -----------------------------------------------


def observe_request(endpoint: str | None, status: int, seconds: float) -> None:
    """A request answered: ``endpoint`` is Flask's (``<connector>.<operation>``, or a service route)."""
    metrics = _instruments or instruments()
    found = metrics.request_pairs.get((endpoint, status))
    if found is None:
        connector, _, operation = (endpoint or UNMATCHED).rpartition(".")
        labels = (connector, operation, str(status))
        found = _children(
            metrics.request_pairs, (endpoint, status), (metrics.requests, metrics.request_seconds), labels
        )
    found[0].inc()
    found[1].observe(seconds)


def upstream_call(service: UpstreamService, method: str, status: int | str, started: float) -> None:
    """A call to a vendor API ended (``status``: the HTTP status, ``timeout`` or ``unreachable``)."""
    seconds = time.perf_counter() - started
    metrics = _instruments or instruments()
    key = (service.labels or ("", service.name), method, status)
    found = metrics.upstream_pairs.get(key)
    if found is None:
        labels = (*key[0], method, str(status))
        found = _children(metrics.upstream_pairs, key, (metrics.upstream, metrics.upstream_seconds), labels)
    found[0].inc()
    found[1].observe(seconds)


def rate_limited(connector: str) -> None:
    metrics = _instruments or instruments()
    key = ("rate_limited", connector)
    (counter,) = metrics.other_children.get(key) or _children(
        metrics.other_children, key, (metrics.rate_limited,), (connector,)
    )
    counter.inc()


def idempotent_replay(connector: str, operation: str) -> None:
    metrics = _instruments or instruments()
    key = ("replays", connector, operation)
    labels = (connector, operation)
    (counter,) = metrics.other_children.get(key) or _children(metrics.other_children, key, (metrics.replays,), labels)
    counter.inc()


def delivery_attempt(attempt: Attempt, started: float) -> Attempt:
    """A webhook delivery attempt ended; returns it, so the sender's caller stays one line."""
    seconds = time.perf_counter() - started
    if attempt.status is None:
        outcome = "unanswered"
    else:
        outcome = "delivered" if 200 <= attempt.status < 300 else "rejected"
    metrics = _instruments or instruments()
    found = metrics.delivery_pairs.get(outcome)
    if found is None:
        found = _children(metrics.delivery_pairs, outcome, (metrics.deliveries, metrics.delivery_seconds), (outcome,))
    found[0].inc()
    found[1].observe(seconds)
    return attempt


def instrument(app: Flask) -> None:
    """Time every request from its first ``before_request`` hook to its answer, errors included.
    A multiprocess directory that does not exist stops the start-up: counting would fail later."""
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory and not os.path.isdir(directory):
        raise ValueError(f"{MULTIPROCESS_DIR}={directory} is not a directory: create it, or unset the variable")

    # The request proxy resolved once per hook: each attribute read through it costs ~2 µs.
    def start_clock() -> None:
        request._get_current_object().environ[START_KEY] = time.perf_counter()

    def count(response: Response) -> Response:
        served = request._get_current_object()
        started = served.environ.get(START_KEY)
        seconds = time.perf_counter() - started if started is not None else 0.0
        observe_request(served.endpoint, response.status_code, seconds)
        return response

    app.before_request_funcs.setdefault(None, []).insert(0, start_clock)
    app.after_request(count)


# --- the page ----------------------------------------------------------------------------------------


class OutboxCollector:
    """Gauges read from the database when scraped: the outbox's depth and age, failed events kept
    for their owners, and subscriptions by connector and status (disabled ones included)."""

    def __init__(self, engine: sa.Engine, connectors: Iterable[str] = ()) -> None:
        self.engine, self.connectors = engine, tuple(connectors)

    def collect(self) -> Iterator[Any]:
        import sqlalchemy as sa
        from prometheus_client.core import GaugeMetricFamily

        from connector.tables import events, subscriptions
        from connector.webhooks.outbox import FAILED, PENDING
        from connector.webhooks.subscriptions import ACTIVE, DISABLED, ENDED

        try:
            with self.engine.connect() as connection:
                # the (status, created_at) index answers both: counts and the oldest, per status
                by_status = {
                    row.status: row
                    for row in connection.execute(
                        sa.select(events.c.status, sa.func.count(), sa.func.min(events.c.created_at).label("oldest"))
                        .where(events.c.status.in_((PENDING, FAILED)))
                        .group_by(events.c.status)
                    )
                }
                held = connection.execute(
                    sa.select(subscriptions.c.catalog, subscriptions.c.status, sa.func.count()).group_by(
                        subscriptions.c.catalog, subscriptions.c.status
                    )
                ).all()
        except Exception:
            log.warning("metrics: could not read the outbox from the database", exc_info=True)
            return
        now = time.time()
        pending, failed = by_status.get(PENDING), by_status.get(FAILED)
        yield GaugeMetricFamily(
            "connector_outbox_pending_events",
            "Webhook events waiting for delivery (due now or waiting for a retry).",
            value=pending[1] if pending else 0,
        )
        yield GaugeMetricFamily(
            "connector_outbox_oldest_pending_age_seconds",
            "Age of the oldest webhook event waiting for delivery; 0 when none waits.",
            value=max(0.0, now - pending.oldest) if pending else 0.0,
        )
        yield GaugeMetricFamily(
            "connector_outbox_failed_events",
            "Webhook events whose retries ran out (or held for a disabled subscription), kept for their owners.",
            value=failed[1] if failed else 0,
        )
        gauge = GaugeMetricFamily(
            "connector_webhook_subscriptions",
            "Webhook subscriptions by connector and status (active, disabled, ended).",
            labels=("connector", "status"),
        )
        counts = {(catalog, status): count for catalog, status, count in held}
        for catalog in sorted({*self.connectors, *(catalog for catalog, _ in counts)}):
            for status in (ACTIVE, DISABLED, ENDED):
                gauge.add_metric((catalog, status), counts.get((catalog, status), 0))
        yield gauge


def registry(engine: sa.Engine, connectors: Iterable[str]) -> Any:
    """What a scrape shows: this process's counters (or, in multiprocess mode, every process's),
    and the outbox gauges of ``engine``'s database."""
    from prometheus_client import CollectorRegistry

    metrics = instruments()
    shown = CollectorRegistry(auto_describe=False)
    if metrics.multiprocess:
        from prometheus_client.multiprocess import MultiProcessCollector

        MultiProcessCollector(shown)
    else:
        from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR

        for collector in (*metrics.all, PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            shown.register(collector)
    shown.register(OutboxCollector(engine, connectors))
    return shown


def exposition(engine: sa.Engine, connectors: Iterable[str], accept: str | None) -> tuple[bytes, str]:
    """The page's body and content type: Prometheus text, or OpenMetrics when the scraper asks."""
    from prometheus_client.exposition import choose_encoder

    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry(engine, connectors)), content_type


def serve_metrics(engine: sa.Engine, connectors: Iterable[str], host: str, port: int) -> None:
    """``/metrics`` on its own port, from a background thread (``connector worker --metrics-port``)."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=host, registry=registry(engine, connectors))
