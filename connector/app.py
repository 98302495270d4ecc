"""The application factory: ``create_app(config=None)``.

Start-up does the work every request relies on once: catalogs are discovered and checked, schemas
are instantiated, every spec is generated and encoded, upstream sessions are opened. Requests then
only validate, call upstream and encode. What only some requests need waits for the first of them:
the database (``Runtime.stores``; ``serve`` and ``worker`` open it at start-up), MCP tools, zips.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import requests
from flask import Flask, Response, current_app, request

from connector import metrics, request_ids
from connector.config import Settings
from connector.declarations import Catalog, validate_catalogs
from connector.docs import render_docs
from connector.errors import register_error_handlers
from connector.jsonio import JSON, OrjsonProvider, json_response
from connector.mcp import register_mcp
from connector.ratelimit import CredentialLimit, Storage
from connector.registry import discover
from connector.runtime import build_blueprint, read_body
from connector.spec.documents import Documents
from connector.trigger_views import TriggerRoutes
from connector.upstream import UpstreamService, UpstreamSettings, build_session
from connector.web import Pages, register_pages, wants_html
from connector.webhooks.settings import DeliverySettings
from connector.wiring import EXTENSION, Runtime, Stores, runtime_of

if TYPE_CHECKING:
    from connector.webhooks.delivery import Worker
    from connector.webhooks.subscriptions import Unsubscribe

log = logging.getLogger(__name__)


def _services(catalog: Catalog, settings: Settings, config: UpstreamSettings) -> dict[str, UpstreamService]:
    services = {}
    for service in catalog.services:
        # CONNECTOR_<setting>, else the URL the catalog declares
        base_url = str(settings.get(service.setting) or service.default_url).rstrip("/")
        if not base_url:
            raise ValueError(f"{catalog.name}: set CONNECTOR_{service.setting} to the {service.title} URL")
        services[service.name] = UpstreamService(
            name=service.title,
            base_url=base_url,
            auth_header=service.auth_header,
            session=build_session(config),
            config=config,
            on_response=service.on_response,
            labels=(catalog.name, service.name),
        )
    return services


def _start_sandboxes(catalogs: list[Catalog], settings: Settings) -> tuple[Settings, dict[str, Any]]:
    """In sandbox mode, run each catalog's emulator and point its services at it; returns the
    settings that do, and the running emulators by catalog."""
    from connector import sandbox as sandboxes  # werkzeug's server: imported only in sandbox mode

    overrides: dict[str, Any] = {}
    running = []
    for catalog in catalogs:
        if catalog.sandbox is None:
            continue
        sandbox = sandboxes.start(catalog)
        running.append(sandbox)
        overrides.update(sandboxes.service_urls(catalog, sandbox))
        log.info("sandbox for %s listening on %s", catalog.name, sandbox.url)
    settings = Settings({**settings.values, **{k.lower(): v for k, v in overrides.items()}})
    return settings, {s.catalog: s for s in running}


def create_app(config: Mapping[str, Any] | None = None, catalogs: list[Catalog] | None = None) -> Flask:
    """Build the service. ``config`` overrides CONNECTOR_* variables (keys with or without prefix);
    ``catalogs`` replaces the installed ones (tests of the framework bring their own)."""
    settings = Settings.load(config)
    from connector.accesslog import configure_logging  # masks capabilities in every log line

    configure_logging(settings.log_level, settings.log_format)
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    register_error_handlers(app)
    request_ids.install(app)
    metrics.instrument(app)  # its clock starts first: registered last, inserted in front

    if catalogs is None:
        catalogs = discover(settings.catalogs)
    else:
        validate_catalogs(catalogs)
    running_sandboxes: dict[str, Any] = {}
    if settings.sandbox:
        settings, running_sandboxes = _start_sandboxes(catalogs, settings)
    DeliverySettings.from_settings(settings)  # refuses inconsistent delivery settings at start-up

    limits = Storage(settings.ratelimit_storage_url)
    upstream_config = UpstreamSettings.from_settings(settings)
    documents: dict[str, Documents] = {}
    all_services: dict[str, dict[str, UpstreamService]] = {}
    by_name = {c.name: c for c in catalogs}
    runtime = Runtime(
        settings=settings,
        open_stores=partial(open_stores, settings),
        limits=limits,
        unsubscribe=_upstream_unsubscriber(by_name, all_services),
        catalogs=by_name,
        services=all_services,  # filled below
        documents=documents,  # filled below
        sandboxes=running_sandboxes,
    )
    app.extensions[EXTENSION] = runtime
    for catalog in catalogs:
        services = all_services[catalog.name] = _services(catalog, settings, upstream_config)
        limit = CredentialLimit(settings.rate_limit, limits, scope=f"connector:{catalog.name}")
        blueprint = build_blueprint(catalog, services, limit, lambda: runtime.idempotency)
        TriggerRoutes(catalog, runtime, limit).register(blueprint)
        documents[catalog.name] = Documents.build(catalog, settings.public_url)
        _add_document_routes(blueprint, catalog, documents[catalog.name], settings.public_url)
        register_mcp(blueprint, catalog, runtime, limit)  # POST /<catalog>/mcp, the tools for AI agents
        if settings.sandbox and catalog.sandbox is not None:
            _add_sandbox_pages(blueprint, running_sandboxes[catalog.name].url)
        app.register_blueprint(blueprint)
    pages = register_pages(app, catalogs, documents, sandbox=bool(settings.sandbox))
    _add_service_routes(app, catalogs, pages)
    _start_delivery_before_requests(app)
    return app


def open_stores(settings: Settings) -> Stores:
    """The database (created or migrated to the newest schema) and the stores kept in it."""
    from connector.database import open_database
    from connector.idempotency_store import IdempotencyStore
    from connector.vault import open_vault
    from connector.webhooks.subscriptions import SubscriptionStore

    engine = open_database(settings)
    subscriptions = SubscriptionStore(engine, open_vault(settings), settings.max_subscriptions)
    subscriptions.seal_callbacks()
    engine.dispose()  # no connection may outlive this in a process that forks afterwards
    return Stores(engine, IdempotencyStore(engine, settings.idempotency_ttl), subscriptions)


def create_worker(app: Flask) -> Worker:
    """The delivery worker of this app's database and catalogs (``serve`` runs it embedded,
    ``connector worker`` on its own)."""
    from connector.webhooks.delivery import Worker, http_sender
    from connector.webhooks.ssrf import BlockedAddress, delivery_session

    runtime = runtime_of(app)
    delivery = DeliverySettings.from_settings(runtime.settings)
    session = delivery_session(
        allow_private=delivery.allow_private, timeout=delivery.timeout, pool_size=delivery.concurrency
    )
    return Worker(
        runtime.subscriptions,
        delivery,
        http_sender(session, delivery.timeout, blocked=(BlockedAddress,)),
        runtime.unsubscribe,
    )


def _upstream_unsubscriber(
    catalogs: dict[str, Catalog], services: dict[str, dict[str, UpstreamService]]
) -> Unsubscribe:
    """The one way a subscription is unregistered upstream, for DELETE and for the worker's retries."""

    def unsubscribe(subscription: Any, credential: str, reference: dict[str, Any] | None) -> None:
        catalog = catalogs.get(subscription.catalog)
        trigger = next((t for t in catalog.instances if t.key == subscription.trigger), None) if catalog else None
        if trigger is None or reference is None:
            return  # its catalog is not served here any more, or nothing was registered
        service = services[catalog.name][catalog.service(trigger.upstream).name]
        trigger.unsubscribe(service.bind(credential), reference)

    return unsubscribe


_process_lock = threading.Lock()


def _new_lock_after_fork() -> None:
    """A lock that another thread held when the process forked would stay held in the child."""
    global _process_lock
    _process_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_after_fork)


def _settled(runtime: Runtime, embedded: bool) -> bool:
    """Whether this process already owns its database connections and, if ``embedded``, runs its
    delivery worker."""
    pid = os.getpid()
    if runtime.process != pid:
        return False
    running = runtime.worker_thread
    return not embedded or (running is not None and running[0] == pid and running[1].is_alive())


def start_embedded_worker(app: Flask) -> Worker | None:
    """Run the delivery worker in a thread of this process, unless ``WORKER=off``; returns it.

    Once per process, whatever serves the app: ``connector serve`` calls this after gunicorn forks
    each worker (``post_worker_init``), and a ``before_request`` hook calls it on every request, so
    a process started by any WSGI server (plain gunicorn with or without ``--preload``, werkzeug)
    starts its worker on its first request. Never call it in a process that forks afterwards:
    threads do not survive a fork. The first call in a process also drops, without closing them,
    the pooled database connections it may have inherited from the process that built the app
    (they are its parent's: no connection is shared across processes). A worker whose thread has
    died is started again."""
    runtime = runtime_of(app)
    embedded = runtime.settings.worker == "embedded"
    if not _settled(runtime, embedded):
        with _process_lock:
            if not _settled(runtime, embedded):
                _settle(app, runtime, embedded)
    return runtime.worker if embedded else None


def _settle(app: Flask, runtime: Runtime, embedded: bool) -> None:
    pid = os.getpid()
    if runtime.process != pid:
        inherited = runtime.inherited_stores
        if inherited is not None and inherited.engine.url.database not in (None, "", ":memory:"):  # memory: its pool
            inherited.engine.dispose(close=False)
        runtime.process = pid
    if not embedded:
        return
    running = runtime.worker_thread
    if running is not None and running[0] == pid:
        log.error("the delivery worker of process %s had stopped; starting it again", pid)
    worker = create_worker(app)
    thread = worker.start()
    runtime.worker = worker
    runtime.worker_thread = (pid, thread)
    log.info("embedded delivery worker %s started", worker.name)


def _start_delivery_before_requests(app: Flask) -> None:
    """``before_request``: the first request a process serves starts its delivery worker (the
    first health check, under a load balancer), in a thread of its own: the worker opens the
    database, which that request may not need. A failure is logged and reported by ``/readyz``."""
    runtime = runtime_of(app)
    embedded = runtime.settings.worker == "embedded"
    starting: dict[str, int] = {}  # the process whose starting thread runs: one at a time

    def start() -> None:
        try:
            start_embedded_worker(app)
        except Exception:
            log.exception("could not start the embedded delivery worker")
        finally:
            starting.clear()  # a later request tries again if it did not start

    @app.before_request
    def start_delivery() -> None:
        if not _settled(runtime, embedded) and starting.get("pid") != os.getpid():
            starting["pid"] = os.getpid()
            threading.Thread(target=start, name="start-delivery", daemon=True).start()


def delivery_state(app: Flask) -> tuple[bool, dict[str, Any]]:
    """Whether this process delivers as configured, and how, for ``/readyz``."""
    runtime = runtime_of(app)
    if runtime.settings.worker != "embedded":
        return True, {"mode": "off", "detail": "deliveries are left to `connector worker` processes"}
    try:
        worker = start_embedded_worker(app)
    except Exception:
        log.exception("could not start the embedded delivery worker")
        return False, {"mode": "embedded", "running": False, "detail": "the delivery worker could not start (see logs)"}
    running = runtime.worker_thread
    alive = worker is not None and running is not None and running[1].is_alive()
    return alive, {"mode": "embedded", "running": alive, "process": os.getpid()}


def _add_document_routes(blueprint: Any, catalog: Catalog, docs: Documents, public_url: str) -> None:
    html = render_docs(catalog, public_url).encode()

    for url, content in docs.routes.items():  # each platform's files (swagger.json, openapi.json...)
        blueprint.add_url_rule(f"/{url}", url.partition(".")[0], partial(Response, content, mimetype=JSON))
    blueprint.add_url_rule("/docs", "docs", lambda: Response(html, mimetype="text/html"))


def _add_sandbox_pages(blueprint: Any, sandbox_url: str) -> None:
    """In sandbox mode, ``/<connector>/_sandbox/...`` reaches the emulator's own pages (outboxes of
    the SMS, emails and codes it "sent", its clock) on the service's port, so users need not look
    for the emulator's ephemeral port."""
    session = requests.Session()
    session.trust_env = False

    def page(path: str) -> Response:
        upstream = session.request(
            request.method,
            f"{sandbox_url}/_sandbox/{path}",
            params=request.args,
            data=read_body(),
            headers={"Content-Type": request.content_type or "application/json"},
            timeout=10,
        )
        return Response(upstream.content, upstream.status_code, content_type=upstream.headers.get("Content-Type"))

    blueprint.add_url_rule("/_sandbox/<path:path>", "sandbox_page", page, methods=["GET", "POST"])


def _add_service_routes(app: Flask, catalogs: list[Catalog], pages: Pages) -> None:
    index = {
        "connectors": [
            {
                "name": c.name,
                "title": c.title,
                "docs": f"/{c.name}/docs",
                "swagger": f"/{c.name}/swagger.json",
                "openapi": f"/{c.name}/openapi.json",
                "api_properties": f"/{c.name}/apiProperties.json",
                "mcp": f"/{c.name}/mcp",  # every action and lookup as a tool for AI agents
                **pages.links[c.name],
            }
            for c in catalogs
        ]
    }

    @app.get("/")
    def root() -> Response:
        """The landing page for browsers; the same list as JSON for programs (``*/*`` included)."""
        answer = pages.landing() if wants_html() else json_response(index)
        answer.vary.add("Accept")
        return answer

    @app.get("/healthz")
    def healthz() -> Response:
        return json_response({"status": "ok"})

    @app.get("/metrics", endpoint="metrics")
    def prometheus_metrics() -> Response:
        runtime = runtime_of(current_app)
        body, content_type = metrics.exposition(runtime.engine, runtime.catalogs, request.headers.get("Accept"))
        return Response(body, content_type=content_type)

    @app.get("/readyz")
    def readyz() -> Response:
        running = runtime_of(current_app).sandboxes
        dead = [name for name, s in running.items() if not s.is_up()]
        delivering, delivery = delivery_state(current_app)
        if dead or not delivering:
            body = {"status": "unavailable", "delivery": delivery}
            return json_response({**body, "sandboxes_down": dead} if dead else body, 503)
        return json_response({"status": "ready", "connectors": [c.name for c in catalogs], "delivery": delivery})
