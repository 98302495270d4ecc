"""Metrics across processes: under real `connector serve` with 2 gunicorn workers, whichever worker
answers a scrape, the counts are those of both (prometheus-client's multiprocess mode, set up by
``serve``); a `connector worker` shows its own deliveries on ``--metrics-port``."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator

import pytest
import requests
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from serving import Served, connector_serve, running_server

from connector.cli import metrics_directory
from connector.database import create_engine, migrate
from connector.testing.network import free_port
from connector.testing.subscriber import running_subscriber
from connector.vault import Vault
from connector.webhooks.subscriptions import SubscriptionStore


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    with connector_serve(tmp_path_factory.mktemp("metrics-workers"), args=("--workers", "2")) as running:
        yield running


def samples(url: str) -> dict[tuple[str, frozenset], float]:
    text = requests.get(f"{url}/metrics", timeout=10).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def count(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_a_scrape_counts_the_requests_of_every_worker(served):
    ready = {"connector": "", "operation": "readyz", "status": "200"}
    before = count(samples(served.url), "connector_http_requests_total", **ready)
    processes: list[int] = []
    # A new connection each time, until both workers have answered (each /readyz names its process).
    while len(set(processes)) < 2 and len(processes) < 400:
        answer = requests.get(f"{served.url}/readyz", headers={"Connection": "close"}, timeout=10)
        processes.append(answer.json()["delivery"]["process"])
    assert len(set(processes)) == 2, "one worker answered every request"
    headers = {"Apikey": "workers-key", "Connection": "close"}
    for n in range(6):
        body = {"list_id": 1, "email": f"worker{n}@example.com"}
        created = requests.post(f"{served.url}/egoi/actions/create_contact", json=body, headers=headers, timeout=10)
        assert created.status_code == 201, created.text
    for _ in range(4):  # scrapes land on either worker; each one must see every request
        found = samples(served.url)
        assert count(found, "connector_http_requests_total", **ready) - before == len(processes)
        assert count(found, "connector_http_request_duration_seconds_count", **ready) - before == len(processes)
        created = {"connector": "egoi", "operation": "create_contact", "status": "201"}
        assert count(found, "connector_http_requests_total", **created) == 6
        upstream = {"connector": "egoi", "service": "marketing", "method": "POST", "status": "201"}
        assert count(found, "connector_upstream_requests_total", **upstream) == 6
        assert count(found, "connector_outbox_pending_events") == 0  # the gauges, read from the database


def test_serve_counts_in_a_directory_of_its_own_and_removes_it_when_it_stops(tmp_path):
    with connector_serve(tmp_path, {"CONNECTOR_WORKER": "off"}) as running:
        assert requests.get(f"{running.url}/healthz", timeout=5).status_code == 200
        directory = running.data_dir / f"metrics-{running.port}"
        files = sorted(path.name for path in directory.iterdir())
        assert any(name.startswith("counter_") for name in files)
        assert any(name.startswith("histogram_") for name in files)
    assert not directory.exists()


def test_a_given_directory_is_emptied_of_counts_before_serving(tmp_path, monkeypatch):
    """Counts of a previous run (files of processes long gone) would be added to this run's."""
    given = tmp_path / "given"
    given.mkdir()
    (given / "counter_1234.db").write_bytes(b"old counts")
    (given / "notes.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(given))
    assert metrics_directory(str(tmp_path / "data"), 8000) == str(given)
    assert sorted(path.name for path in given.iterdir()) == ["notes.txt"]
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    assert metrics_directory(str(tmp_path / "data"), 8000) == str((tmp_path / "data" / "metrics-8000").resolve())


def test_connector_worker_serves_its_delivery_metrics(tmp_path):
    """A `connector worker` process counts its own deliveries: ``--metrics-port`` shows them."""
    database_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    secret_key = Fernet.generate_key().decode()
    with running_subscriber() as subscriber:
        engine = create_engine(database_url)
        migrate(engine)
        store = SubscriptionStore(engine, Vault([secret_key]))
        subscription = store.create("demo", "when_item_event", "key", subscriber.url, {}).subscription
        store.enqueue(subscription.id, [(str(i), {"id": str(i)}) for i in range(3)])
        engine.dispose()
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")},
            "CONNECTOR_DATABASE_URL": database_url,
            "CONNECTOR_SECRET_KEY": secret_key,
            "CONNECTOR_ALLOW_PRIVATE_CALLBACKS": "true",
            "CONNECTOR_DATA_DIR": str(tmp_path),
            "CONNECTOR_LOG_LEVEL": "WARNING",
        }
        argv = [sys.executable, "-m", "connector.cli", "worker", "--metrics-port", str(port)]
        with running_server(argv, env, f"http://127.0.0.1:{port}/metrics", tmp_path / "worker.log"):
            # the subscriber has the events a moment before the worker records them as delivered
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                found = samples(f"http://127.0.0.1:{port}")
                if len(subscriber.delivered()) >= 3 and count(found, "connector_outbox_pending_events") == 0:
                    break
                time.sleep(0.05)
    assert len(subscriber.delivered()) == 3
    assert count(found, "connector_webhook_delivery_attempts_total", outcome="delivered") == 3
    assert count(found, "connector_webhook_delivery_attempt_duration_seconds_count", outcome="delivered") == 3
    assert count(found, "connector_outbox_pending_events") == 0
    assert count(found, "connector_webhook_subscriptions", connector="demo", status="active") == 1
