"""The application factory: ``create_app(config=None)``.

Start-up does all the expensive work once: catalogs are discovered and checked, schemas are
instantiated, every spec is generated and encoded, upstream sessions are opened. Requests then
only validate, call upstream and encode.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter, RateLimitExceeded

from connector import sandbox as sandboxes
from connector.config import Settings
from connector.declarations import Catalog
from connector.docs import render_docs
from connector.errors import Problem, register_error_handlers
from connector.jsonio import JSON, OrjsonProvider, json_response
from connector.registry import discover
from connector.runtime import build_blueprint
from connector.spec.documents import Documents
from connector.upstream import UpstreamService, UpstreamSettings, build_session

log = logging.getLogger(__name__)


def credential_key(header: str) -> str:
    """Rate-limit key of a caller: a digest of its credential, never the credential itself."""
    value = request.headers.get(header, "")
    if not value:
        return "anonymous:" + (request.remote_addr or "")
    return hashlib.blake2b(value.encode(), digest_size=16).hexdigest()


def _services(catalog: Catalog, settings: Settings, config: UpstreamSettings) -> dict[str, UpstreamService]:
    services = {}
    for service in catalog.services:
        base_url = str(settings.get(service.setting, "")).rstrip("/")
        if not base_url:
            raise ValueError(f"{catalog.name}: set CONNECTOR_{service.setting} to the {service.title} URL")
        services[service.name] = UpstreamService(
            name=service.title,
            base_url=base_url,
            auth_header=service.auth_header,
            session=build_session(config),
            config=config,
        )
    return services


def _start_sandboxes(catalogs: list[Catalog], settings: Settings, app: Flask) -> Settings:
    """In sandbox mode, run each catalog's emulator and point its services at it."""
    overrides: dict[str, Any] = {}
    running = []
    for catalog in catalogs:
        if catalog.sandbox is None:
            continue
        sandbox = sandboxes.start(catalog)
        running.append(sandbox)
        overrides.update(sandboxes.service_urls(catalog, sandbox))
        log.info("sandbox for %s listening on %s", catalog.name, sandbox.url)
    app.extensions["connector.sandboxes"] = {s.catalog: s for s in running}
    return Settings({**settings.values, **{k.lower(): v for k, v in overrides.items()}})


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the service. ``config`` overrides CONNECTOR_* variables (keys with or without prefix)."""
    settings = Settings.load(config)
    logging.basicConfig(level=settings.log_level)
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    register_error_handlers(app)

    catalogs = discover(settings.catalogs)
    if settings.sandbox:
        settings = _start_sandboxes(catalogs, settings, app)
    app.extensions["connector.settings"] = settings

    limiter = Limiter(
        key_func=lambda: request.remote_addr or "",
        app=app,
        storage_uri=settings.ratelimit_storage_url,
        strategy="moving-window",
        headers_enabled=False,  # it would put Retry-After on every success; we set it on 429 only
    )
    app.extensions["connector.limiter"] = limiter

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded) -> Response:
        current = limiter.current_limit
        wait = 60
        if current is not None:  # reset_at is rounded up; never ask for more than one window
            wait = min(math.ceil(current.reset_at - time.time()), current.limit.get_expiry())
        wait = max(wait, 1)
        detail = f"Too many calls with this API key: the limit is {exc.description}. Retry after {wait} s."
        return Problem(429, detail, headers={"Retry-After": str(wait)}).response()

    upstream_config = UpstreamSettings.from_settings(settings)
    documents: dict[str, Documents] = {}
    for catalog in catalogs:
        services = _services(catalog, settings, upstream_config)
        limit = limiter.shared_limit(
            settings.rate_limit,
            scope=f"connector:{catalog.name}",
            key_func=lambda header=catalog.credential.header: credential_key(header),
        )
        blueprint = build_blueprint(catalog, services, decorate=limit)
        _add_document_routes(
            blueprint, catalog, documents.setdefault(catalog.name, Documents.build(catalog, settings.public_url))
        )
        app.register_blueprint(blueprint)
    app.extensions["connector.catalogs"] = {c.name: c for c in catalogs}
    app.extensions["connector.documents"] = documents
    _add_service_routes(app, catalogs)
    return app


def _add_document_routes(blueprint: Any, catalog: Catalog, docs: Documents) -> None:
    html = render_docs(catalog).encode()

    blueprint.add_url_rule("/swagger.json", "swagger", lambda: Response(docs.swagger, mimetype=JSON))
    blueprint.add_url_rule("/openapi.json", "openapi", lambda: Response(docs.openapi, mimetype=JSON))
    blueprint.add_url_rule("/apiProperties.json", "api_properties", lambda: Response(docs.properties, mimetype=JSON))
    blueprint.add_url_rule("/docs", "docs", lambda: Response(html, mimetype="text/html"))


def _add_service_routes(app: Flask, catalogs: list[Catalog]) -> None:
    index = {
        "connectors": [
            {
                "name": c.name,
                "title": c.title,
                "docs": f"/{c.name}/docs",
                "swagger": f"/{c.name}/swagger.json",
                "openapi": f"/{c.name}/openapi.json",
                "api_properties": f"/{c.name}/apiProperties.json",
            }
            for c in catalogs
        ]
    }

    @app.get("/")
    def root() -> Response:
        return json_response(index)

    @app.get("/healthz")
    def healthz() -> Response:
        return json_response({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> Response:
        running = current_app.extensions.get("connector.sandboxes", {})
        dead = [name for name, s in running.items() if not s.is_up()]
        if dead:
            return json_response({"status": "unavailable", "sandboxes_down": dead}, 503)
        return json_response({"status": "ready", "connectors": [c.name for c in catalogs]})
