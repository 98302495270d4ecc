"""No sandbox page reveals a capability: with the service in sandbox mode over real HTTP, a trigger
subscribed and an E-goi callback made to the service's receiver (``.../hooks/<token>``), the token
appears on none of the sandbox's pages, whether read on the service (``/egoi/_sandbox/...``) or on
the emulator's own port. Whoever learned it could post forged events that the service would deliver
signed to the subscriber."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import TEST_SETTINGS
from cryptography.fernet import Fernet
from werkzeug.serving import make_server

from actions.egoi.sandbox.webhooks import dispatcher, wait_idle
from connector.app import create_app
from connector.testing.network import free_port
from connector.testing.subscriber import running_subscriber
from connector.wiring import runtime_of

KEY = {"Apikey": "capability-key"}


@pytest.fixture
def service(tmp_path) -> Iterator[tuple[str, Any]]:
    port = free_port()
    app = create_app(
        {
            **TEST_SETTINGS,
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "SANDBOX": True,
            "CATALOGS": "egoi",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "SECRET_KEY": Fernet.generate_key().decode(),
            "ALLOW_PRIVATE_CALLBACKS": True,
        }
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", app
    server.shutdown()
    thread.join(5)
    runtime_of(app).sandboxes["egoi"].stop()
    runtime_of(app).engine.dispose()


def _sandbox_pages(sandbox_app: Any) -> list[str]:
    """Every ``/_sandbox/...`` page of the emulator that a GET without path arguments reaches."""
    return sorted(
        rule.rule
        for rule in sandbox_app.url_map.iter_rules()
        if rule.rule.startswith("/_sandbox/") and "GET" in rule.methods and not rule.arguments
    )


def test_no_sandbox_page_reveals_a_receiver_token(service) -> None:
    base, app = service
    sandbox = runtime_of(app).sandboxes["egoi"]
    with running_subscriber() as subscriber:
        for path, body in (
            ("when_contact_event", {"list_id": 1, "actions": ["subscription"]}),
            ("when_message_status_changes", {"channels": ["sms"], "actions": ["processed"]}),
        ):
            subscribed = requests.post(
                f"{base}/egoi/triggers/{path}", json={"callback_url": subscriber.url, **body}, headers=KEY, timeout=10
            )
            assert subscribed.status_code == 201, subscribed.text
        requests.post(
            f"{base}/egoi/actions/create_contact",
            json={"list_id": 1, "email": "ana@example.com"},
            headers=KEY,
            timeout=10,
        ).raise_for_status()
        requests.post(
            f"{base}/egoi/actions/send_sms",
            json={"to": "351-912345678", "from": "1", "textBody": "Hi"},
            headers=KEY,
            timeout=10,
        ).raise_for_status()
        assert wait_idle(sandbox.app, 10)

    # the tokens, in-process: the only place the sandbox keeps them whole
    urls = {entry["url"] for entry in dispatcher(sandbox.app).entries()}
    tokens = {url.split("/hooks/", 1)[1] for url in urls}
    assert len(tokens) == 2 and all(len(token) >= 16 for token in tokens)

    pages = _sandbox_pages(sandbox.app)
    assert "/_sandbox/webhooks/log" in pages and "/_sandbox/sms" in pages
    seen: dict[str, str] = {}
    for page in pages:
        for url in (f"{base}/egoi{page}", f"{sandbox.url}{page}"):
            response = requests.get(url, timeout=10)
            assert response.status_code == 200, (url, response.status_code)
            seen[url] = response.text
    # and tricks on the service's sandbox proxy that would reach the emulator's API instead
    for trick in ("..%2Fapi%2Fwebhooks", "%2E%2E/api/webhooks", "..%2F..%2Fslingshot%2Fapi%2Fv2%2Fwebhooks"):
        seen[trick] = requests.get(f"{base}/egoi/_sandbox/{trick}", timeout=10).text

    log = requests.get(f"{base}/egoi/_sandbox/webhooks/log", timeout=10).json()
    assert len(log) >= 2 and all("/hooks/" in entry["url"] and entry["url"].endswith("…") for entry in log)
    for token in tokens:
        for url, text in seen.items():
            assert token[4:] not in text, f"{url} shows a receiver token"
            assert token[4:12] not in text, f"{url} shows a receiver token"
