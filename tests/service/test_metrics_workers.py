"""``/metrics`` under real `connector serve` with 2 gunicorn workers: whichever worker answers a
scrape, the counts are those of both (prometheus-client's multiprocess mode, set up by ``serve``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from serving import Served, connector_serve


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


def test_serve_keeps_one_emptied_metrics_directory_per_port(served):
    directory = served.data_dir / f"metrics-{served.port}"
    files = sorted(path.name for path in directory.iterdir())
    assert files, "no worker wrote its counters"
    assert all(name.endswith(".db") for name in files)
    assert any(name.startswith("counter_") for name in files)
    assert any(name.startswith("histogram_") for name in files)
