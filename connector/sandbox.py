"""Running catalog sandboxes (vendor emulators) in-process, on loopback, over real HTTP.

Each sandbox is a WSGI app served by a threaded werkzeug server in a daemon thread on an
ephemeral port of 127.0.0.1. The connector then reaches it exactly as it reaches the vendor:
through its pooled HTTP client, so the sandbox exercises the whole request path.

``connector sandbox`` serves them standalone instead (``start_shared``): every chosen catalog's
emulator on one port, each under ``/<catalog>``, for several processes to share.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from connector.declarations import Catalog


@dataclass
class RunningSandbox:
    catalog: str
    server: BaseWSGIServer
    thread: threading.Thread
    app: Any

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def is_up(self) -> bool:
        """Whether it accepts connections. Asked over the socket, not the thread: after
        gunicorn forks, workers reach the sandbox that runs in the master process."""
        try:
            with socket.create_connection(("127.0.0.1", self.server.server_port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


class _KeepUnderscoreHeaders(WSGIRequestHandler):
    """werkzeug drops request headers spelled with underscores (against spoofing behind proxies);
    vendors use them (e.g. X_USERNAME), and a loopback emulator is no proxy target."""

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        for key, value in self.headers.items():
            if "_" in key:
                environ.setdefault("HTTP_" + key.upper().replace("-", "_"), value)
        return environ


def start(catalog: Catalog, port: int = 0) -> RunningSandbox:
    if catalog.sandbox is None:
        raise ValueError(f"catalog {catalog.name} has no sandbox")
    app = catalog.sandbox()
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_KeepUnderscoreHeaders)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sandbox-{catalog.name}", daemon=True
    )
    thread.start()
    return RunningSandbox(catalog.name, server, thread, app)


def service_urls(catalog: Catalog, sandbox: RunningSandbox) -> dict[str, str]:
    """Setting overrides pointing every service of the catalog at its sandbox."""
    return urls_at(catalog, sandbox.url)


def urls_at(catalog: Catalog, base_url: str) -> dict[str, str]:
    """Setting overrides pointing every service of the catalog at its emulator served at ``base_url``."""
    return {service.setting: base_url.rstrip("/") + service.sandbox_path for service in catalog.services}


def shared_server(catalogs: list[Catalog], host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    """One threaded server (not started) for every catalog's emulator, each under ``/<catalog>``:
    what ``connector sandbox`` runs in the foreground."""
    missing = [catalog.name for catalog in catalogs if catalog.sandbox is None]
    if missing:
        raise ValueError(f"no sandbox for: {', '.join(missing)}")
    mounts = {f"/{catalog.name}": catalog.sandbox() for catalog in catalogs}  # type: ignore[misc]
    root = DispatcherMiddleware(_not_found, mounts)
    return make_server(host, port, root, threaded=True, request_handler=_KeepUnderscoreHeaders)


def _not_found(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"no emulator here: the emulators are under /<catalog>/\n"]
