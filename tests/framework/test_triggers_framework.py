"""The trigger framework end to end, over real HTTP, with the demo catalog (tests/demo_catalog.py):
polling with the state in the URL, subscriptions, the receiver, signed durable delivery."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import demo_catalog
import orjson
import pytest
import requests
from conftest import TEST_SETTINGS
from cryptography.fernet import Fernet
from standardwebhooks import Webhook
from werkzeug.serving import make_server

from connector.app import create_app, create_worker
from connector.tables import subscriptions as subscriptions_table
from connector.testing.network import free_port
from connector.testing.subscriber import running_subscriber
from connector.webhooks.delivery import Worker
from connector.wiring import runtime_of

KEY = {"X-Demo-Key": "demo-key"}
SECRET_KEY = Fernet.generate_key().decode()


@dataclass
class Live:
    app: Any
    url: str
    sandbox_url: str
    worker: Worker

    def items(self, *names: str) -> None:
        requests.post(f"{self.sandbox_url}/items", json={"names": list(names)}, headers=KEY, timeout=5)

    def fire(self, events: list[dict[str, Any]]) -> list[int]:
        return requests.post(f"{self.sandbox_url}/_fire", json=events, timeout=10).json()["statuses"]

    def calls(self) -> dict[str, int]:
        return dict(runtime_of(self.app).sandboxes["demo"].app.extensions["demo"]["calls"])

    def fail_upstream(self, fail: bool) -> None:
        requests.post(f"{self.sandbox_url}/_fail", json={"fail": fail}, timeout=5)

    def subscribe(self, callback: str, **body: Any) -> requests.Response:
        return requests.post(
            f"{self.url}/demo/triggers/when_item_event", json={"callback_url": callback, **body}, headers=KEY, timeout=5
        )


def start_live(database_url: str, **settings: Any) -> tuple[Live, Any]:
    port = free_port()
    config = {
        **TEST_SETTINGS,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SANDBOX": True,
        "DATABASE_URL": database_url,
        "ALLOW_PRIVATE_CALLBACKS": True,
        "DELIVERY_SCHEDULE": "0.05,0.05,0.05",
        "SECRET_KEY": SECRET_KEY,
        "POLL_INTERVAL": 30,
        **settings,
    }
    app = create_app(config, catalogs=[demo_catalog.catalog])
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    sandbox = runtime_of(app).sandboxes["demo"]
    return Live(app, f"http://127.0.0.1:{port}", sandbox.url, create_worker(app)), server


@pytest.fixture
def live(database_url):
    running, server = start_live(database_url)
    yield running
    server.shutdown()
    runtime_of(running.app).sandboxes["demo"].stop()
    runtime_of(running.app).engine.dispose()


@pytest.fixture
def sqlite_live(tmp_path):
    running, server = start_live(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield running
    server.shutdown()
    runtime_of(running.app).sandboxes["demo"].stop()


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


# --- polling, Power Automate style -----------------------------------------------------------------


def poll(live: Live, location: str | None = None, **params: Any) -> requests.Response:
    url = location or f"{live.url}/demo/triggers/when_item_created"
    return requests.get(url, params=None if location else params, headers=KEY, timeout=10, allow_redirects=False)


def state_of(response: requests.Response) -> str:
    return parse_qs(urlsplit(response.headers["Location"]).query)["triggerState"][0]


def test_polling_follows_the_contract(sqlite_live):
    live = sqlite_live
    live.items("old-1", "old-2")
    first = poll(live)
    assert first.status_code == 202 and first.headers["Retry-After"] == "30"
    assert first.headers["Location"].startswith(f"{live.url}/demo/triggers/when_item_created?triggerState=")

    calls = sum(live.calls().values())
    idle = poll(live, first.headers["Location"])
    assert idle.status_code == 202 and state_of(idle) == state_of(first)
    assert sum(live.calls().values()) - calls <= 1  # nothing new costs at most one upstream call

    live.items(*[f"new-{i}" for i in range(250)])  # more than two pages arrive between polls
    new = poll(live, idle.headers["Location"])
    assert new.status_code == 200 and new.headers["Retry-After"] == "30"
    names = [item["name"] for item in new.json()]
    assert names == [f"new-{i}" for i in reversed(range(250))]  # all, once, newest first
    assert state_of(new) != state_of(idle)

    again = poll(live, new.headers["Location"])
    assert again.status_code == 202 and state_of(again) == state_of(new)
    live.items("later")
    assert [i["name"] for i in poll(live, again.headers["Location"]).json()] == ["later"]


def test_the_query_parameters_stay_in_location(sqlite_live):
    first = poll(sqlite_live, prefix="a")
    assert parse_qs(urlsplit(first.headers["Location"]).query)["prefix"] == ["a"]
    sqlite_live.items("apple", "banana", "avocado")
    assert [i["name"] for i in poll(sqlite_live, first.headers["Location"]).json()] == ["avocado", "apple"]


def test_an_upstream_failure_never_advances_the_state(sqlite_live):
    live = sqlite_live
    first = poll(live)
    live.items("a", "b")
    live.fail_upstream(True)
    failed = poll(live, first.headers["Location"])
    assert failed.status_code == 502 and "Location" not in failed.headers
    live.fail_upstream(False)
    assert [i["name"] for i in poll(live, first.headers["Location"]).json()] == ["b", "a"]


def test_a_foreign_trigger_state_is_422(sqlite_live):
    for bad in ("not-base64!", "x" * 5000):
        response = poll(sqlite_live, f"{sqlite_live.url}/demo/triggers/when_item_created?triggerState={bad}")
        assert response.status_code == 422 and "triggerState" in response.json()["errors"]


def recent(live: Live, trigger: str = "when_item_created", headers: dict[str, str] = KEY, **params: Any) -> Any:
    return requests.get(f"{live.url}/demo/triggers/{trigger}/recent", params=params, headers=headers, timeout=5)


def test_recent_items_for_zapier_and_make(sqlite_live):
    sqlite_live.items("a", "b", "c")
    assert [item["id"] for item in recent(sqlite_live).json()] == [3, 2, 1]


def test_recent_items_are_100_unless_limit_says_fewer(sqlite_live):
    sqlite_live.items(*[f"n{i}" for i in range(130)])  # more than a poll's worth
    assert [item["id"] for item in recent(sqlite_live).json()] == list(range(130, 30, -1))
    assert [item["id"] for item in recent(sqlite_live, limit="3").json()] == [130, 129, 128]
    assert len(recent(sqlite_live, limit="").json()) == 100  # an unmapped limit: the default
    for bad in ("0", "101", "ten", "1.5", "-1"):
        response = recent(sqlite_live, limit=bad)
        assert response.status_code == 422 and list(response.json()["errors"]) == ["limit"], bad


def test_every_item_has_every_event_field_null_or_not(sqlite_live):
    """One shape per trigger: a field without a value is null, never left out."""
    with running_subscriber() as subscriber:
        sqlite_live.subscribe(subscriber.url)
        sqlite_live.fire([{"event_id": 1, "kind": "deleted"}])  # no name
        sqlite_live.worker.drain()
        delivered = orjson.loads(subscriber.delivered()[0]["body"])
    assert delivered == {"id": "1", "kind": "deleted", "name": None}
    assert recent(sqlite_live, "when_item_event").json() == [delivered]


# --- a webhook trigger's recent list ---------------------------------------------------------------


def test_a_webhook_triggers_recent_list_is_what_was_delivered(live):
    """Zapier's performList: the events received for the caller's subscriptions, newest first, each
    exactly as delivered (its id included), once, narrowed to the parameters asked for."""
    assert recent(live, "when_item_event").json() == []  # nothing received yet
    with running_subscriber() as subscriber:
        live.subscribe(subscriber.url, kinds=["created", "deleted"])
        live.subscribe(subscriber.url)  # a second subscription receives the same events: listed once
        live.fire([{"event_id": 1, "kind": "created", "name": "a"}, {"event_id": 2, "kind": "deleted"}])
        live.fire([{"event_id": 3, "kind": "renamed", "name": "c"}])
        live.worker.drain()
        delivered = {}
        for delivery in subscriber.delivered():
            delivered[orjson.loads(delivery["body"])["id"]] = orjson.loads(delivery["body"])
    listed = recent(live, "when_item_event").json()
    assert listed == [delivered["3"], delivered["2"], delivered["1"]]
    assert [e["id"] for e in recent(live, "when_item_event", kinds=["created", "deleted"]).json()] == ["2", "1"]
    assert [e["id"] for e in recent(live, "when_item_event", limit="1").json()] == ["3"]
    other = {"X-Demo-Key": "another-key"}
    assert recent(live, "when_item_event", headers=other).json() == []  # another credential's are not shown
    refused = recent(live, "when_item_event", callback_url="http://x.test/")
    assert refused.status_code == 422 and "callback_url" in refused.json()["errors"]
    assert recent(live, "when_item_event", headers={}).status_code == 401


def test_polling_needs_the_credential(sqlite_live):
    assert requests.get(f"{sqlite_live.url}/demo/triggers/when_item_created", timeout=5).status_code == 401


# --- subscriptions -------------------------------------------------------------------------------


def test_subscribe_answers_201_with_location_and_secret(live):
    with running_subscriber() as subscriber:
        response = live.subscribe(subscriber.url)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == body["url"] == f"{live.url}/demo/subscriptions/{body['id']}"
    assert body["secret"].startswith("whsec_") and len(body["id"]) >= 32


def test_zapier_target_url_is_accepted(live):
    with running_subscriber() as subscriber:
        url = f"{live.url}/demo/triggers/when_item_event"
        alone = requests.post(url, json={"target_url": subscriber.url}, headers=KEY, timeout=5)
        both = requests.post(
            url, json={"target_url": subscriber.url, "callback_url": subscriber.url}, headers=KEY, timeout=5
        )
        different = requests.post(
            url, json={"target_url": subscriber.url, "callback_url": subscriber.url + "x"}, headers=KEY, timeout=5
        )
        listed = requests.get(f"{live.url}/demo/subscriptions", headers=KEY, timeout=5).json()["items"]
    assert alone.status_code == 201 and both.status_code == 201
    assert different.status_code == 422 and list(different.json()["errors"]) == ["target_url"]
    assert [s["callback_url"] for s in listed] == [subscriber.url] * 2


@pytest.mark.parametrize(
    "callback",
    ["http://169.254.169.254/latest/meta-data", "http://10.0.0.1/hook", "http://127.0.0.1:9/hook", "ftp://x.test/"],
)
def test_unsafe_callbacks_are_refused_with_422(sqlite_live, tmp_path, callback):
    strict, server = start_live(f"sqlite:///{tmp_path / 'strict.sqlite'}", ALLOW_PRIVATE_CALLBACKS=False)
    try:
        response = strict.subscribe(callback)
        assert response.status_code == 422 and "callback_url" in response.json()["errors"]
        assert runtime_of(strict.app).sandboxes["demo"].app.extensions["demo"]["hooks"] == {}
    finally:
        server.shutdown()
        runtime_of(strict.app).sandboxes["demo"].stop()


def test_secrets_are_encrypted_at_rest(live):
    with running_subscriber() as subscriber:
        body = live.subscribe(subscriber.url).json()
    engine = runtime_of(live.app).engine
    with engine.connect() as connection:
        row = connection.execute(subscriptions_table.select()).one()
    assert body["secret"] not in row.secret and "demo-key" not in row.credential
    assert "whsec_" not in row.secret and row.upstream_ref and "hook_id" not in row.upstream_ref


# --- receiving and delivering ----------------------------------------------------------------------


def test_events_are_delivered_signed_one_per_delivery(live):
    with running_subscriber() as subscriber:
        secret = live.subscribe(subscriber.url).json()["secret"]
        assert live.fire([{"event_id": 1, "kind": "created", "name": "a"}, {"event_id": 2, "kind": "deleted"}]) == [200]
        live.worker.drain()
        delivered = subscriber.delivered()
    assert [orjson.loads(d["body"]) for d in delivered] == [
        {"id": "1", "kind": "created", "name": "a"},
        {"id": "2", "kind": "deleted", "name": None},
    ]
    verifier = Webhook(secret)
    for delivery in delivered:
        verifier.verify(delivery["body"], delivery["headers"])  # raises when the signature is wrong
        assert delivery["headers"]["Webhook-Id"].startswith("msg_")


def test_the_same_upstream_event_twice_is_delivered_once(live):
    with running_subscriber() as subscriber:
        live.subscribe(subscriber.url)
        live.fire([{"event_id": 7, "kind": "created"}])
        live.fire([{"event_id": 7, "kind": "created"}, {"event_id": 8, "kind": "created"}])
        live.worker.drain()
        assert [orjson.loads(d["body"])["id"] for d in subscriber.delivered()] == ["7", "8"]


def test_events_the_subscriber_did_not_pick_are_left_out(live):
    with running_subscriber() as subscriber:
        live.subscribe(subscriber.url, kinds=["deleted"])
        live.fire([{"event_id": 1, "kind": "created"}, {"event_id": 2, "kind": "deleted"}])
        live.worker.drain()
        assert [orjson.loads(d["body"])["id"] for d in subscriber.delivered()] == ["2"]


def test_a_wrong_receiver_token_is_refused_and_stores_nothing(live):
    response = requests.post(f"{live.url}/demo/hooks/not-a-token", json=[{"event_id": 1, "kind": "x"}], timeout=5)
    assert response.status_code == 404
    engine = runtime_of(live.app).engine
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM events").scalar() == 0


def test_a_subscriber_down_for_a_while_gets_every_event_in_order(live):
    down = [(503, {})] * 3
    with running_subscriber(answers=list(down)) as subscriber:
        live.subscribe(subscriber.url)
        live.fire([{"event_id": i, "kind": "created"} for i in range(1, 6)])
        deadline = time.monotonic() + 10
        while len(subscriber.delivered()) < 5 and time.monotonic() < deadline:
            live.worker.drain()
            time.sleep(0.02)
        delivered = subscriber.delivered()
    assert [orjson.loads(d["body"])["id"] for d in delivered] == ["1", "2", "3", "4", "5"]
    first_ids = {r["headers"]["Webhook-Id"] for r in subscriber.received[:4]}
    assert len(first_ids) == 1  # the retries of event 1 kept its webhook-id
    assert [r["status"] for r in subscriber.received[:4]] == [503, 503, 503, 200]


def test_retry_after_is_honoured(live):
    with running_subscriber(answers=[(429, {"Retry-After": "1"})]) as subscriber:
        live.subscribe(subscriber.url)
        live.fire([{"event_id": 1, "kind": "created"}])
        live.worker.drain()
        live.worker.drain()  # the 0.05 s schedule has passed, Retry-After has not
        assert len(subscriber.received) == 1
        wait_for(lambda: live.worker.drain() or subscriber.delivered(), timeout=5)
        assert subscriber.received[1]["at"] - subscriber.received[0]["at"] >= 0.95


def test_an_exhausted_schedule_marks_the_event_failed_and_visible(live):
    with running_subscriber(answers=[(500, {})] * 4) as subscriber:
        subscription = live.subscribe(subscriber.url).json()
        live.fire([{"event_id": 1, "kind": "created"}, {"event_id": 2, "kind": "created"}])
        wait_for(lambda: live.worker.drain() or subscriber.delivered(), timeout=5)
        deliveries = requests.get(
            f"{live.url}/demo/subscriptions/{subscription['id']}/deliveries", headers=KEY, timeout=5
        ).json()["items"]
    assert [(d["status"], d["attempts"], d["last_status"]) for d in deliveries] == [
        ("delivered", 1, 200),
        ("failed", 4, 500),
    ]
    assert deliveries[1]["last_error"] == "subscriber answered 500"
    assert [orjson.loads(d["body"])["id"] for d in subscriber.delivered()] == ["2"]


def test_410_ends_the_subscription_upstream_too(live):
    with running_subscriber(answers=[(410, {})]) as subscriber:
        subscription = live.subscribe(subscriber.url).json()
        live.fire([{"event_id": 1, "kind": "created"}, {"event_id": 2, "kind": "created"}])
        live.worker.drain()
        listed = requests.get(f"{live.url}/demo/subscriptions", headers=KEY, timeout=5).json()["items"]
        assert live.fire([{"event_id": 3, "kind": "created"}]) == []  # the upstream hook is gone
    assert len(subscriber.received) == 1
    assert [(s["id"], s["status"]) for s in listed] == [(subscription["id"], "ended")]


def test_delete_without_api_key_unsubscribes_upstream_and_stops_deliveries(live):
    with running_subscriber() as subscriber:
        subscription = live.subscribe(subscriber.url).json()
        live.fire([{"event_id": 1, "kind": "created"}])  # still in the outbox when the DELETE comes
        assert requests.delete(subscription["url"], timeout=5).status_code == 204
        assert live.fire([{"event_id": 2, "kind": "created"}]) == []  # upstream hook removed
        live.worker.drain()
        assert subscriber.received == []
        second = requests.delete(subscription["url"], timeout=5)
        assert second.status_code == 204
    assert requests.delete(f"{live.url}/demo/subscriptions/unknown", timeout=5).status_code == 404


def test_a_failed_upstream_unsubscription_is_retried_by_the_worker(live):
    with running_subscriber() as subscriber:
        subscription = live.subscribe(subscriber.url).json()
        live.fail_upstream(True)
        assert requests.delete(subscription["url"], timeout=5).status_code == 204
        hooks = runtime_of(live.app).sandboxes["demo"].app.extensions["demo"]["hooks"]
        assert len(hooks) == 1  # the upstream was down
        live.fail_upstream(False)
        live.worker.maintain(force=True)
        assert hooks == {}


def test_subscriptions_and_deliveries_are_listed_per_credential(live):
    with running_subscriber() as subscriber:
        mine = live.subscribe(subscriber.url).json()
        requests.post(
            f"{live.url}/demo/triggers/when_item_event",
            json={"callback_url": subscriber.url},
            headers={"X-Demo-Key": "someone-else"},
            timeout=5,
        )
    listed = requests.get(f"{live.url}/demo/subscriptions", headers=KEY, timeout=5).json()["items"]
    assert [s["id"] for s in listed] == [mine["id"]]
    other = requests.get(
        f"{live.url}/demo/subscriptions/{mine['id']}/deliveries", headers={"X-Demo-Key": "someone-else"}, timeout=5
    )
    assert other.status_code == 404


ISO_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def test_listings_write_times_iso_8601_with_a_zone(sqlite_live):
    live = sqlite_live
    with running_subscriber() as subscriber:
        subscription = live.subscribe(subscriber.url).json()
        live.fire([{"event_id": 1, "kind": "created"}])
        live.worker.drain()
    (listed,) = requests.get(f"{live.url}/demo/subscriptions", headers=KEY, timeout=5).json()["items"]
    assert re.fullmatch(ISO_UTC, listed["created_at"]) and listed["failing_since"] is None
    url = f"{live.url}/demo/subscriptions/{subscription['id']}/deliveries"
    (delivery,) = requests.get(url, headers=KEY, timeout=5).json()["items"]
    assert re.fullmatch(ISO_UTC, delivery["created_at"]) and re.fullmatch(ISO_UTC, delivery["delivered_at"])
    assert delivery["created_at"] <= delivery["delivered_at"]


def test_the_embedded_worker_delivers_without_being_asked(sqlite_live):
    worker = create_worker(sqlite_live.app)
    runtime_of(sqlite_live.app).worker = worker
    worker.start()
    try:
        with running_subscriber() as subscriber:
            sqlite_live.subscribe(subscriber.url)
            sqlite_live.fire([{"event_id": 1, "kind": "created"}])
            wait_for(lambda: subscriber.delivered(), timeout=5)
    finally:
        worker.stop()


def test_the_description_gives_every_trigger_a_recent_list_with_a_limit():
    """What the platforms read: each trigger's GET .../recent, the trigger it lists (recent_of), its
    ``limit`` (1-100, default 100), the Event as items, and a webhook trigger's parameters without the
    callback URL."""
    from connector.spec.description import describe

    recent = {e.recent_of: e for e in describe(demo_catalog.catalog) if e.recent_of}
    assert set(recent) == {"WhenItemCreated", "WhenItemEvent"}
    for trigger, endpoint in recent.items():
        assert (endpoint.method, endpoint.operation_id) == ("get", f"{trigger}Recent")
        (limit,) = endpoint.parameters
        assert (limit.name, limit.location, limit.schema) == (
            "limit",
            "query",
            {"type": "integer", "minimum": 1, "maximum": 100, "default": 100},
        )
        assert endpoint.responses[0].schema["items"] in (demo_catalog.ItemEvent, demo_catalog.HookEvent)
    assert recent["WhenItemEvent"].path == "/triggers/when_item_event/recent"
    assert set(recent["WhenItemEvent"].query().fields) == {"kinds"}


def test_a_callback_body_of_another_shape_is_400_and_stores_nothing(live):
    with running_subscriber() as subscriber:
        live.subscribe(subscriber.url)
        assert live.fire([{"kind": "created"}]) == [400]  # no event_id: the receiver says so, never a 500
    engine = runtime_of(live.app).engine
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM events").scalar() == 0
