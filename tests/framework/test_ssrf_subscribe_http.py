"""Callback URLs over real HTTP: metadata addresses in IPv6 forms that embed an IPv4 address are
refused at subscribe time with 422 even when private callbacks are allowed; other embedding forms
are accepted then, and refused in the strict (default) mode."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import demo_catalog
import pytest
import requests
from conftest import TEST_SETTINGS
from cryptography.fernet import Fernet
from werkzeug.serving import make_server

from connector.app import create_app
from connector.testing.network import free_port
from connector.wiring import runtime_of

KEY = {"X-Demo-Key": "demo-key"}

METADATA_FORMS = [
    "http://[2002:a9fe:a9fe::]/latest/meta-data/",  # 6to4
    "http://[::ffff:0:a9fe:a9fe]/latest/meta-data/",  # SIIT
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64, well-known prefix
    "http://[64:ff9b:1::a9fe:a9fe]/latest/meta-data/",  # NAT64, local-use prefix
    "http://[2001:0:4136:e378:8000:63bf:5601:5601]/latest/meta-data/",  # Teredo
    "http://[::a9fe:a9fe]/latest/meta-data/",  # IPv4-compatible
    "http://[::ffff:169.254.169.254]/latest/meta-data/",  # IPv4-mapped
    "http://[64:ff9b::6464:64c8]/latest/meta-data/",  # NAT64 of Alibaba's 100.100.100.200
]
OTHER_FORMS = [
    "http://[2002:808:808::1]/hook",  # 6to4 of 8.8.8.8
    "http://[::ffff:0:a00:1]/hook",  # SIIT of 10.0.0.1
    "http://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
    "http://[64:ff9b:1::808:808]/hook",
    "http://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/hook",  # Teredo of 8.8.8.8
]


def _serve(tmp_path_factory: pytest.TempPathFactory, allow_private: bool) -> Iterator[tuple[str, Any]]:
    port = free_port()
    database = tmp_path_factory.mktemp("ssrf") / "db.sqlite"
    config = {
        **TEST_SETTINGS,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SANDBOX": True,
        "DATABASE_URL": f"sqlite:///{database}",
        "ALLOW_PRIVATE_CALLBACKS": allow_private,
        "SECRET_KEY": Fernet.generate_key().decode(),
    }
    app = create_app(config, catalogs=[demo_catalog.catalog])
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.shutdown()
        thread.join(5)
        runtime_of(app).sandboxes["demo"].stop()
        runtime_of(app).engine.dispose()


@pytest.fixture(scope="module")
def permissive(tmp_path_factory) -> Iterator[tuple[str, Any]]:
    yield from _serve(tmp_path_factory, allow_private=True)


@pytest.fixture(scope="module")
def strict(tmp_path_factory) -> Iterator[tuple[str, Any]]:
    yield from _serve(tmp_path_factory, allow_private=False)


def _subscribe(base: str, callback: str) -> requests.Response:
    return requests.post(
        f"{base}/demo/triggers/when_item_event", json={"callback_url": callback}, headers=KEY, timeout=10
    )


def _upstream_hooks(app: Any) -> dict[Any, Any]:
    return dict(runtime_of(app).sandboxes["demo"].app.extensions["demo"]["hooks"])


@pytest.mark.parametrize("mode", ["permissive", "strict"])
@pytest.mark.parametrize("callback", METADATA_FORMS)
def test_metadata_in_embedding_forms_refused_over_http(request, mode: str, callback: str) -> None:
    base, app = request.getfixturevalue(mode)
    before = _upstream_hooks(app)
    response = _subscribe(base, callback)
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert "a cloud metadata address" in response.json()["errors"]["callback_url"][0]
    assert _upstream_hooks(app) == before  # nothing subscribed upstream


@pytest.mark.parametrize("callback", OTHER_FORMS)
def test_other_embedding_forms_accepted_when_private_allowed_refused_when_strict(permissive, strict, callback):
    base, _ = permissive
    created = _subscribe(base, callback)
    assert created.status_code == 201, created.text
    assert requests.delete(created.headers["Location"], timeout=10).status_code in (200, 204)
    base, _ = strict
    refused = _subscribe(base, callback)
    assert refused.status_code == 422, refused.text
    assert "metadata" not in refused.json()["errors"]["callback_url"][0]
