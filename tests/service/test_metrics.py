"""``/metrics`` after a scripted run: every counter equals what the run did, and no label or sample
carries a credential, a callback URL, a subscription id or a receiver token.

The service runs in this process (one process: prometheus-client's plain mode) over real HTTP, with
the E-goi sandbox for actions and the demo catalog (tests/demo_catalog.py) for webhooks. Counters
live as long as the process, so the run is measured as the difference of two scrapes.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import demo_catalog
import pytest
import requests
from conftest import TEST_SETTINGS
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.serving import make_server

from connector.app import create_app, create_worker
from connector.registry import discover
from connector.testing.network import free_port
from connector.testing.subscriber import running_subscriber
from connector.wiring import runtime_of

EGOI_KEY = "metrics-egoi-key-5f2a9c"
DEMO_KEY = "metrics-demo-key-81d3e7"
OTHER_DEMO_KEY = "metrics-demo-key-2-c04b19"
CONTACT = {"list_id": 1}
LIMIT = 4  # calls per credential and connector: the run's fifth E-goi call is refused


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics`` by (name, sorted labels), parsed by prometheus-client's parser."""
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def by_labels(samples: dict, name: str, **wanted: str) -> dict[tuple, float]:
    """The samples of ``name`` whose labels include ``wanted``, keyed by their labels."""
    return {
        labels: value
        for (sample, labels), value in samples.items()
        if sample == name and all(dict(labels).get(k) == v for k, v in wanted.items())
    }


@dataclass
class Run:
    url: str
    app: Any
    requests: Counter = field(default_factory=Counter)  # (connector, operation, status) -> count

    def call(self, method: str, path: str, labels: tuple[str, str], **kwargs: Any) -> requests.Response:
        response = requests.request(method, f"{self.url}{path}", timeout=10, **kwargs)
        self.requests[(*labels, str(response.status_code))] += 1
        return response


@pytest.fixture
def service(tmp_path) -> Iterator[Run]:
    port = free_port()
    config = {
        **TEST_SETTINGS,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SANDBOX": True,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "ALLOW_PRIVATE_CALLBACKS": True,
        "DELIVERY_SCHEDULE": "0.05",  # one retry, then failed
        "SECRET_KEY": Fernet.generate_key().decode(),
        "RATE_LIMIT": f"{LIMIT} per 60 seconds",
    }
    app = create_app(config, catalogs=[*discover("egoi"), demo_catalog.catalog])
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield Run(f"http://127.0.0.1:{port}", app)
    server.shutdown()
    for sandbox in runtime_of(app).sandboxes.values():
        sandbox.stop()
    runtime_of(app).engine.dispose()


def test_counters_equal_what_a_scripted_run_did(service):
    run, egoi = service, {"Apikey": EGOI_KEY}
    demo_sandbox = runtime_of(run.app).sandboxes["demo"]
    demo_calls = demo_sandbox.app.extensions["demo"]["calls"]
    before = scrape(run.url)
    run.requests[("", "metrics", "200")] += 1  # that scrape is counted once it has answered
    calls_before = sum(demo_calls.values())

    # E-goi: a contact created, a validation error, an idempotent call and its replay, then a 429
    create = "/egoi/actions/create_contact"
    action = ("egoi", "create_contact")
    assert run.call("POST", create, action, json={**CONTACT, "email": "a@example.com"}, headers=egoi).status_code == 201
    bad = run.call(
        "POST", create, action, json={**CONTACT, "email": "b@example.com", "cellphone": "+351 9"}, headers=egoi
    )
    assert bad.status_code == 422
    keyed = {**egoi, "Idempotency-Key": "metrics-key-1"}
    first = run.call("POST", create, action, json={**CONTACT, "email": "c@example.com"}, headers=keyed)
    again = run.call("POST", create, action, json={**CONTACT, "email": "c@example.com"}, headers=keyed)
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 201, "true")
    limited = run.call("POST", create, action, json={**CONTACT, "email": "d@example.com"}, headers=egoi)
    assert limited.status_code == 429

    # Demo: a poll, two subscriptions (one subscriber answers 200, the other 500), one event fired
    poll = run.call(
        "GET", "/demo/triggers/when_item_created", ("demo", "when_item_created"), headers={"X-Demo-Key": DEMO_KEY}
    )
    assert poll.status_code == 202
    with running_subscriber() as healthy, running_subscriber(default=500) as broken:
        subscribe = "/demo/triggers/when_item_event"
        good = run.call(
            "POST",
            subscribe,
            ("demo", "when_item_event"),
            json={"callback_url": healthy.url},
            headers={"X-Demo-Key": DEMO_KEY},
        )
        failing = run.call(
            "POST",
            subscribe,
            ("demo", "when_item_event"),
            json={"callback_url": broken.url},
            headers={"X-Demo-Key": OTHER_DEMO_KEY},
        )
        assert (good.status_code, failing.status_code) == (201, 201)
        fired = requests.post(f"{demo_sandbox.url}/_fire", json=[{"event_id": 1, "kind": "created"}], timeout=10)
        statuses = fired.json()["statuses"]
        assert statuses == [200, 200]
        run.requests[("demo", "receiver", "200")] += len(statuses)
        worker = create_worker(run.app)
        deadline = time.monotonic() + 10
        while len(broken.received) < 2 and time.monotonic() < deadline:
            worker.drain()
            time.sleep(0.05)
        assert [r["status"] for r in healthy.received] == [200]
        assert [r["status"] for r in broken.received] == [500, 500]  # the first attempt and its one retry
    failing_id = failing.json()["id"]
    disable = f"/demo/subscriptions/{failing_id}/disable"
    assert (
        run.call("POST", disable, ("demo", "disable_subscription"), headers={"X-Demo-Key": OTHER_DEMO_KEY}).status_code
        == 200
    )
    upstream_demo = sum(demo_calls.values()) - calls_before

    after = scrape(run.url)

    def delta(name: str, **labels: str) -> dict[tuple, float]:
        return {
            key: value - before.get((name, key), 0.0)
            for key, value in by_labels(after, name, **labels).items()
            if value != before.get((name, key), 0.0)
        }

    requests_seen = {
        (d["connector"], d["operation"], d["status"]): v for d, v in _dicts(delta("connector_http_requests_total"))
    }
    assert requests_seen == dict(run.requests)
    histogram = {
        (d["connector"], d["operation"], d["status"]): v
        for d, v in _dicts(delta("connector_http_request_duration_seconds_count"))
    }
    assert histogram == dict(run.requests)

    upstream = {
        (d["connector"], d["service"], d["method"], d["status"]): v
        for d, v in _dicts(delta("connector_upstream_requests_total"))
    }
    assert upstream == {
        ("egoi", "marketing", "POST", "201"): 2,  # the first call and the keyed one; the replay is not sent
        ("demo", "demo", "GET", "200"): 1,  # the poll
        ("demo", "demo", "POST", "201"): 2,  # the two subscriptions
    }
    assert sum(upstream.values()) == 2 + upstream_demo  # what the demo emulator itself counted
    assert delta("connector_upstream_request_duration_seconds_count") == delta("connector_upstream_requests_total")

    assert delta("connector_rate_limited_total") == {(("connector", "egoi"),): 1}
    assert delta("connector_idempotent_replays_total") == {(("connector", "egoi"), ("operation", "create_contact")): 1}
    assert delta("connector_webhook_delivery_attempts_total") == {
        (("outcome", "delivered"),): 1,
        (("outcome", "rejected"),): 2,
    }
    assert delta("connector_webhook_delivery_attempt_duration_seconds_count") == {
        (("outcome", "delivered"),): 1,
        (("outcome", "rejected"),): 2,
    }

    # gauges, read from the database at scrape time
    assert after[("connector_outbox_pending_events", ())] == 0
    assert after[("connector_outbox_failed_events", ())] == 1
    assert after[("connector_outbox_oldest_pending_age_seconds", ())] == 0
    subscriptions = {
        dict(k)["status"]: v for k, v in by_labels(after, "connector_webhook_subscriptions", connector="demo").items()
    }
    assert subscriptions == {"active": 1, "disabled": 1, "ended": 0}
    assert (
        by_labels(after, "connector_webhook_subscriptions", connector="egoi")[
            (("connector", "egoi"), ("status", "active"))
        ]
        == 0
    )

    # nothing a caller sent is in the page: keys, callback URLs, subscription ids, receiver tokens
    page = requests.get(f"{run.url}/metrics", timeout=10).text
    receivers = [url for url in demo_sandbox.app.extensions["demo"]["hooks"].values()]
    secrets = [EGOI_KEY, DEMO_KEY, OTHER_DEMO_KEY, "metrics-key-1", healthy.url, broken.url, "127.0.0.1", failing_id,
               good.json()["id"], *(url.rsplit("/", 1)[1] for url in receivers)]  # fmt: skip
    assert len(receivers) == 2
    for secret in secrets:
        assert secret not in page


def _dicts(samples: dict[tuple, float]) -> list[tuple[dict[str, str], float]]:
    return [(dict(labels), value) for labels, value in samples.items()]


def test_pending_events_and_their_age_are_read_at_scrape_time(service):
    """An event waiting for a subscriber that is down shows as pending, with its age."""
    run = service
    demo_sandbox = runtime_of(run.app).sandboxes["demo"]
    with running_subscriber() as subscriber:
        callback = subscriber.url
    assert run.call(
        "POST", "/demo/triggers/when_item_event", ("demo", "when_item_event"), json={"callback_url": callback}, headers={"X-Demo-Key": DEMO_KEY}
    ).status_code == 201  # fmt: skip
    requests.post(
        f"{demo_sandbox.url}/_fire", json=[{"event_id": 1, "kind": "created"}, {"event_id": 2, "kind": "x"}], timeout=10
    )
    time.sleep(0.2)
    samples = scrape(run.url)
    assert samples[("connector_outbox_pending_events", ())] == 2
    assert 0.2 <= samples[("connector_outbox_oldest_pending_age_seconds", ())] < 30


def test_unmatched_paths_are_counted_without_the_path(service):
    """A 404 for any path is one series, ``operation="unmatched"``: a caller cannot add series, and
    a mistyped path carrying a key never becomes a label."""
    run = service
    before = scrape(run.url)
    for path in ("/nowhere/sk_live_abcdef", "/egoi/actions/nothing-here"):
        assert requests.get(f"{run.url}{path}", timeout=5).status_code == 404
    after = scrape(run.url)
    key = ("connector_http_requests_total", (("connector", ""), ("operation", "unmatched"), ("status", "404")))
    assert after[key] - before.get(key, 0) == 2
    assert "sk_live_abcdef" not in requests.get(f"{run.url}/metrics", timeout=5).text


def test_openmetrics_when_the_scraper_asks_for_it(service):
    response = requests.get(
        f"{service.url}/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}, timeout=5
    )
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


def test_a_missing_multiprocess_directory_stops_the_start_up(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"PROMETHEUS_MULTIPROC_DIR=.*missing is not a directory"):
        create_app({**TEST_SETTINGS, "CATALOGS": "egoi"})


def test_a_series_that_cannot_be_made_is_skipped_and_the_request_served(service, monkeypatch, caplog):
    """Counting never fails a request: a series whose value cannot be stored is logged and skipped."""
    from connector import metrics

    def broken(*labels):
        raise OSError("No space left on device")

    instruments = metrics.instruments()
    monkeypatch.setattr(instruments.requests, "labels", broken)
    monkeypatch.setattr(instruments, "request_pairs", {})
    assert requests.get(f"{service.url}/healthz", timeout=5).status_code == 200
    assert requests.get(f"{service.url}/healthz", timeout=5).status_code == 200
    assert [r.message for r in caplog.records if r.name == "connector.metrics"] == [
        "metrics: cannot count connector_http_requests ('', 'healthz', '200'); serving without it"
    ]


def test_building_the_app_does_not_import_prometheus_client(tmp_path):
    """Cold start does not pay for the metrics library: it is imported on the first count."""
    import subprocess
    import sys

    code = (
        "import sys; from connector.app import create_app; "
        "app = create_app({'WORKER': 'off', 'CATALOGS': 'egoi', 'LOG_LEVEL': 'WARNING'}); "
        "print('prometheus_client' in sys.modules); app.test_client().get('/healthz'); "
        "print('prometheus_client' in sys.modules)"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CONNECTOR_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=True)
    assert done.stdout.split() == ["False", "True"]
