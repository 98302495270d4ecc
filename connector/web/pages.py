"""Routes of the browser pages: the landing page, each connector's explorer, console and downloads.

Registered by ``create_app`` after the connectors' own routes. ``/`` stays JSON for programs (any
``Accept`` that does not prefer HTML, ``*/*`` included) and is this landing page for browsers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import flask_swagger_ui
from flask import Blueprint, Flask, Response, render_template, request, send_from_directory

from connector.declarations import Catalog
from connector.spec.documents import Documents
from connector.triggers import PollingTrigger, WebhookTrigger
from connector.web.downloads import Download, downloads

# Swagger UI's distribution files as the flask-swagger-ui package ships them (its VERSION file
# names the Swagger UI release): served from here, so the explorer works without internet.
SWAGGER_UI = Path(flask_swagger_ui.__file__).with_name("dist")
BLUEPRINT = "connector_pages"  # a name no catalog's blueprint takes
KEY_STORAGE = "connector-api-key:"  # + connector name: the sessionStorage entry the pages share
# The pages load nothing from elsewhere and may not be framed (the console acts with the key a
# person pasted: no other site may overlay it). Swagger UI sets inline styles; nothing runs inline.
POLICY = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def wants_html() -> bool:
    """Whether the caller prefers HTML to JSON (a browser); ``*/*`` and no Accept mean JSON."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


@dataclass(frozen=True)
class Entry:
    """One operation or trigger as the landing page lists it."""

    kind: str
    summary: str
    description: str
    method: str
    path: str
    anchor: str


@dataclass(frozen=True)
class Connector:
    """What the pages show of one catalog."""

    catalog: Catalog
    operations: list[Entry]
    triggers: list[Entry]
    downloads: list[Download]

    @property
    def name(self) -> str:
        return self.catalog.name

    @property
    def has_webhooks(self) -> bool:
        return any(isinstance(op, WebhookTrigger) for op in self.catalog.instances)


def _kind(operation: Any) -> str:
    if isinstance(operation, WebhookTrigger):
        return "Webhook trigger"
    return "Polling trigger" if isinstance(operation, PollingTrigger) else "Action"


def _connector(catalog: Catalog, documents: Documents) -> Connector:
    operations, triggers = [], []
    for op in catalog.instances:
        entry = Entry(_kind(op), op.summary, op.description, op.method, f"/{catalog.name}{op.path}", op.key)
        (operations if entry.kind == "Action" else triggers).append(entry)
    return Connector(catalog, operations, triggers, downloads(documents))


def _page(template: str, **context: Any) -> Response:
    return Response(render_template(template, **context), mimetype="text/html", headers=POLICY)


def _file(content: bytes, filename: str, mimetype: str) -> Response:
    return Response(content, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _archive(download: Download, filename: str) -> Response:
    return _file(download.archive, filename, "application/zip")


@dataclass(frozen=True)
class Pages:
    """What ``/`` needs: the landing page's view (for browsers) and, per connector, the pages' URLs
    (for the JSON index)."""

    landing: Callable[[], Response]
    links: dict[str, dict[str, Any]]


def _links(connector: Connector) -> dict[str, Any]:
    name = connector.name
    links: dict[str, Any] = {"explorer": f"/{name}/explorer"}
    if connector.has_webhooks:
        links["console"] = f"/{name}/console"
    links["downloads"] = {d.platform: f"/{name}/downloads/{d.archive_name}" for d in connector.downloads}
    return links


def register_pages(
    app: Flask, catalogs: list[Catalog], documents: dict[str, Documents], sandbox: bool = False
) -> Pages:
    """Add the pages to ``app``; returns what ``/`` serves of them. ``sandbox``: the service runs
    against the emulators, and the landing page says so (with each catalog's notes on them)."""
    connectors = [_connector(c, documents[c.name]) for c in catalogs]
    pages = Blueprint(
        BLUEPRINT, __name__, template_folder="templates", static_folder="static", static_url_path="/_static/site"
    )

    @pages.get("/_static/swagger-ui/<path:filename>")
    def swagger_ui(filename: str) -> Response:
        return send_from_directory(SWAGGER_UI, filename, max_age=86400)

    for connector in connectors:
        name = connector.name
        common = {"connector": connector, "key_storage": KEY_STORAGE + name}
        pages.add_url_rule(f"/{name}/explorer", f"{name}_explorer", partial(_page, "explorer.html", **common))
        if connector.has_webhooks:
            pages.add_url_rule(f"/{name}/console", f"{name}_console", partial(_page, "console.html", **common))
        for download in connector.downloads:
            pages.add_url_rule(
                f"/{name}/downloads/{download.archive_name}",
                f"{name}_{download.platform}_zip",
                partial(_archive, download, f"{name}-{download.archive_name}"),
            )
            for filename, content in download.files.items():
                mimetype = "application/json" if filename.endswith(".json") else "application/octet-stream"
                pages.add_url_rule(
                    f"/{name}/downloads/{filename}",
                    f"{name}_{download.platform}_{filename}".replace(".", "_"),
                    partial(_file, content, filename, mimetype),
                )
    app.register_blueprint(pages)

    def landing() -> Response:
        return _page("landing.html", connectors=connectors, sandbox=sandbox)

    return Pages(landing, {c.name: _links(c) for c in connectors})
