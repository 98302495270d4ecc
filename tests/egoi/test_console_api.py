"""The delivery console's API over real HTTP: every attempt kept, pages and status filter, retry of a
failed event, replay since a time with the original webhook-id, the 24-hour counts, and one API
key never seeing another's subscriptions."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import requests
import sqlalchemy as sa
from conftest import TEST_SETTINGS
from cryptography.fernet import Fernet
from werkzeug.serving import make_server

from actions.egoi.sandbox.webhooks import wait_idle
from connector.app import create_app, create_worker
from connector.tables import attempts
from connector.testing.network import free_port
from connector.testing.subscriber import running_subscriber
from connector.wiring import runtime_of

KEY = {"Apikey": "console-key"}
OTHER = {"Apikey": "someone-else"}


@pytest.fixture
def service(database_url):
    """The service on a real port in sandbox mode, on SQLite and on PostgreSQL."""
    port = free_port()
    app = create_app(
        {
            **TEST_SETTINGS,
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "SANDBOX": True,
            "CATALOGS": "egoi",
            "DATABASE_URL": database_url,
            "SECRET_KEY": Fernet.generate_key().decode(),
            "ALLOW_PRIVATE_CALLBACKS": True,
            "DELIVERY_SCHEDULE": "0.05,0.05",
        }
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    app.config["URL"] = f"http://127.0.0.1:{port}/egoi"
    yield app
    server.shutdown()
    runtime_of(app).sandboxes["egoi"].stop()


def call(app, method: str, path: str, headers=KEY, **kwargs):
    return requests.request(method, f"{app.config['URL']}{path}", headers=headers, timeout=10, **kwargs)


def settle(app, until=None, timeout: float = 10) -> None:
    """Deliver what is due, again and again (retries are 50 ms apart) until ``until()`` holds."""
    assert wait_idle(runtime_of(app).sandboxes["egoi"].app, 10)
    worker, deadline = create_worker(app), time.monotonic() + timeout
    worker.drain()
    while until is not None and not until():
        assert time.monotonic() < deadline, "the deliveries did not settle"
        time.sleep(0.05)
        worker.drain()


def subscribe(app, url: str, headers=KEY) -> dict:
    answer = call(
        app,
        "POST",
        "/triggers/when_contact_event",
        headers=headers,
        json={"callback_url": url, "list_id": 1, "actions": ["subscription"]},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def new_contact(app, email: str) -> None:
    assert call(app, "POST", "/actions/create_contact", json={"list_id": 1, "email": email}).status_code == 201


def deliveries(app, subscription_id: str, **params) -> dict:
    answer = call(app, "GET", f"/subscriptions/{subscription_id}/deliveries", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_failed_attempts_are_listed_one_by_one_and_a_retry_delivers(service):
    with running_subscriber(answers=[(500, {}), (503, {}), (500, {})]) as subscriber:
        subscription = subscribe(service, subscriber.url)
        new_contact(service, "ana@example.com")
        settle(service, lambda: deliveries(service, subscription["id"])["items"][0]["status"] == "failed")
        (event,) = deliveries(service, subscription["id"])["items"]
        assert [a["status_code"] for a in event["attempt_log"]] == [500, 503, 500]
        assert [a["error"] for a in event["attempt_log"]] == [f"subscriber answered {c}" for c in (500, 503, 500)]
        assert all(a["duration_ms"] >= 0 and a["attempted_at"] >= event["created_at"] for a in event["attempt_log"])
        summary = call(service, "GET", "/deliveries/summary").json()
        assert (summary["pending"], summary["delivered"], summary["failed"]) == (0, 0, 1)

        retried = call(service, "POST", f"/subscriptions/{subscription['id']}/deliveries/{event['webhook_id']}/retry")
        assert retried.status_code == 200 and retried.json() == {"id": subscription["id"], "requeued": 1}
        settle(service, lambda: len(subscriber.delivered()) == 1)
        (event,) = deliveries(service, subscription["id"])["items"]
        assert event["status"] == "delivered"
        assert [a["status_code"] for a in event["attempt_log"]] == [500, 503, 500, 200]
        assert subscriber.delivered()[0]["headers"]["Webhook-Id"] == event["webhook_id"]

        again = call(service, "POST", f"/subscriptions/{subscription['id']}/deliveries/{event['webhook_id']}/retry")
        assert again.status_code == 409 and "delivered" in again.json()["detail"]
        unknown = call(service, "POST", f"/subscriptions/{subscription['id']}/deliveries/msg_nope/retry")
        assert unknown.status_code == 404
    summary = call(service, "GET", "/deliveries/summary").json()
    assert (summary["pending"], summary["delivered"], summary["failed"]) == (0, 1, 0)


def test_replay_since_a_time_sends_again_with_the_same_webhook_ids(service):
    with running_subscriber() as subscriber:
        subscription = subscribe(service, subscriber.url)
        new_contact(service, "old@example.com")
        settle(service, lambda: len(subscriber.delivered()) == 1)
        time.sleep(1.1)  # RFC 3339 to the second: "since" falls between the two events
        since = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        new_contact(service, "new1@example.com")
        new_contact(service, "new2@example.com")
        settle(service, lambda: len(subscriber.delivered()) == 3)
        first_ids = [d["headers"]["Webhook-Id"] for d in subscriber.delivered()]

        replayed = call(service, "POST", f"/subscriptions/{subscription['id']}/replay", json={"since": since})
        assert replayed.status_code == 200 and replayed.json()["requeued"] == 2
        settle(service, lambda: len(subscriber.delivered()) == 5)
        again = [d["headers"]["Webhook-Id"] for d in subscriber.delivered()[3:]]
    assert again == first_ids[1:]  # the same ids, oldest first; the older event was not sent again
    assert [e["status"] for e in deliveries(service, subscription["id"])["items"]] == ["delivered"] * 3


def test_pages_and_status_filter(service):
    with running_subscriber() as subscriber:
        subscription = subscribe(service, subscriber.url)
        for i in range(5):
            new_contact(service, f"user{i}@example.com")
        settle(service, lambda: len(subscriber.delivered()) == 5)
    first = deliveries(service, subscription["id"], limit=2)
    second = deliveries(service, subscription["id"], limit=2, before=first["next_before"])
    third = deliveries(service, subscription["id"], limit=2, before=second["next_before"])
    ids = [e["webhook_id"] for page in (first, second, third) for e in page["items"]]
    assert len(ids) == len(set(ids)) == 5 and "next_before" not in third
    received = [e["created_at"] for page in (first, second, third) for e in page["items"]]
    assert received == sorted(received, reverse=True)  # newest first
    assert deliveries(service, subscription["id"], status="failed")["items"] == []
    assert len(deliveries(service, subscription["id"], status="delivered")["items"]) == 5
    wrong = call(service, "GET", f"/subscriptions/{subscription['id']}/deliveries", params={"status": "lost"})
    assert wrong.status_code == 422 and "status" in wrong.json()["errors"]


def test_another_key_sees_nothing_and_cannot_act(service):
    with running_subscriber() as subscriber:
        mine = subscribe(service, subscriber.url + "?sig=secret-capability")
        listed = call(service, "GET", "/subscriptions").json()["items"]
        assert [s["id"] for s in listed] == [mine["id"]]
        assert "sig" not in listed[0]["callback_url"] and listed[0]["callback_url"].endswith("/hook")
        assert call(service, "GET", "/subscriptions", headers=OTHER).json()["items"] == []
        for method, path, body in (
            ("GET", f"/subscriptions/{mine['id']}/deliveries", None),
            ("POST", f"/subscriptions/{mine['id']}/replay", {"since": "2026-01-01T00:00:00Z"}),
            ("POST", f"/subscriptions/{mine['id']}/deliveries/msg_x/retry", None),
        ):
            assert call(service, method, path, headers=OTHER, json=body).status_code == 404
        assert call(service, "GET", "/deliveries/summary", headers=OTHER).json()["pending"] == 0


def test_replay_names_a_bad_since_and_refuses_a_disabled_subscription(service):
    with running_subscriber() as subscriber:
        subscription = subscribe(service, subscriber.url)
        for since in ("yesterday", "2026-11-27T09:00:00", ""):
            answer = call(service, "POST", f"/subscriptions/{subscription['id']}/replay", json={"since": since})
            assert answer.status_code == 422 and "since" in answer.json()["errors"], since
        assert call(service, "POST", f"/subscriptions/{subscription['id']}/disable").status_code == 200
        answer = call(
            service, "POST", f"/subscriptions/{subscription['id']}/replay", json={"since": "2026-01-01T00:00:00Z"}
        )
        assert answer.status_code == 409 and "enable" in answer.json()["detail"]


def test_retention_removes_the_attempts_with_their_event(service):
    with running_subscriber(answers=[(500, {})]) as subscriber:
        subscription = subscribe(service, subscriber.url)
        new_contact(service, "kept@example.com")
        settle(service, lambda: len(subscriber.delivered()) == 1)
    engine = runtime_of(service).engine
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(attempts)).scalar() == 2
    worker = create_worker(service)
    worker.settings = replace(worker.settings, retention=-1.0)  # everything delivered is old enough
    assert worker.prune() == 1
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(attempts)).scalar() == 0
    assert deliveries(service, subscription["id"])["items"] == []
