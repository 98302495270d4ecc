"""No subscriber can hurt another: a total deadline per attempt, a lane that keeps failing subscribers
away from the healthy ones, lease tokens (one chain per subscription), endpoint health (disabled
after failing for long, enabled again by its owner), a cap on subscriptions per credential, and
callback URLs kept encrypted. Over real HTTP, with real slow subscribers kept short by configuration."""

from __future__ import annotations

import threading
import time
from collections import Counter

import orjson
import pytest
import requests
import sqlalchemy as sa
from test_triggers_framework import KEY, start_live, wait_for

from connector.app import create_app, create_worker
from connector.tables import events as events_table
from connector.tables import subscriptions as subscriptions_table
from connector.testing.subscriber import running_dribbler, running_subscriber
from connector.webhooks.deadlines import enforce_deadlines
from connector.webhooks.delivery import DeliverySettings, http_sender
from connector.webhooks.ssrf import delivery_session
from connector.wiring import runtime_of

FAST = {"DELIVERY_TIMEOUT": 0.5, "DELIVERY_LEASE": 2.0}


@pytest.fixture
def service(tmp_path):
    """A live service factory on SQLite; each call may set its own delivery settings."""
    started = []

    def start(**settings):
        running, server = start_live(f"sqlite:///{tmp_path / f'db{len(started)}.sqlite'}", **settings)
        started.append((running, server))
        return running

    yield start
    for running, server in started:
        worker = runtime_of(running.app).worker
        if worker is not None:
            worker.stop()
        server.shutdown()
        runtime_of(running.app).sandboxes["demo"].stop()


def drained(live) -> bool:
    """Deliver what is due now (for ``wait_for`` conditions that check what it did)."""
    live.worker.drain()
    return True


def listing(live):
    return requests.get(f"{live.url}/demo/subscriptions", headers=KEY, timeout=5).json()["items"]


# --- a total deadline per attempt ------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["head", "line", "body"])
def test_an_attempt_ends_at_its_deadline_however_slowly_the_subscriber_answers(phase):
    """A subscriber that sends a byte every 50 ms never trips a per-read timeout; the attempt's
    deadline cuts it whether it dribbles the status line and headers or the body."""
    session = delivery_session(allow_private=True, timeout=0.3)
    send = http_sender(session, 0.3)
    with running_dribbler(phase=phase, every=0.05, length=200) as dribbler:  # 10 s of answer
        attempt = send(dribbler.url, b"{}", {"content-type": "application/json"})
        wait_for(lambda: dribbler.cut == 1, timeout=5)  # the subscriber saw us hang up mid-answer
        assert dribbler.finished == 0
    assert attempt.status is None
    assert attempt.error == "no complete answer within 0.3 s"


def test_a_connection_back_in_the_pool_is_out_of_reach_of_its_exchanges_deadline():
    """Once an answer is read to the end its connection goes back to the pool, where another
    delivery may take it: the watchdog must not shut it when the first exchange's deadline passes."""
    from connector.webhooks.deadlines import Watchdog

    watchdog = Watchdog()
    session = enforce_deadlines(delivery_session(allow_private=True, timeout=2))
    with running_subscriber() as subscriber, watchdog.limit(0.2) as exchange:
        session.post(subscriber.url, data=b"{}", timeout=2).close()
        assert exchange.sock is None and exchange.done
        time.sleep(0.3)  # past the deadline
        assert not exchange.expired
        assert session.post(subscriber.url, data=b"{}", timeout=2).status_code == 200  # the pooled one works


def test_a_healthy_answer_is_read_and_its_connection_kept():
    session = enforce_deadlines(delivery_session(allow_private=True, timeout=2))
    send = http_sender(session, 2)
    with running_subscriber() as subscriber:
        attempts = [send(subscriber.url, b"{}", {"content-type": "application/json"}) for _ in range(3)]
    assert [a.status for a in attempts] == [200, 200, 200]
    assert all(a.error is None for a in attempts)


def test_lease_must_outlast_two_attempt_deadlines():
    with pytest.raises(ValueError, match="CONNECTOR_DELIVERY_LEASE"):
        DeliverySettings(schedule=(1.0,), timeout=10, lease=15)
    with pytest.raises(ValueError, match="CONNECTOR_DELIVERY_TIMEOUT"):
        create_app({"DELIVERY_TIMEOUT": 30, "DELIVERY_LEASE": 60, "DATABASE_URL": "sqlite://"}, catalogs=[])


# --- slow subscribers never hold the healthy ones ---------------------------------------------------


def test_subscribers_that_never_finish_answering_do_not_stall_a_healthy_one(service):
    """Eight subscriptions whose subscriber dribbles forever hold all four delivery threads; a
    healthy subscription subscribed after them still gets its event: each slow attempt ends at
    its deadline, and failing subscriptions then share one thread."""
    live = service(**FAST, DELIVERY_CONCURRENCY=4, DELIVERY_SCHEDULE=",".join(["0.2"] * 20))
    with running_dribbler(every=0.05) as dribbler, running_subscriber() as healthy:
        for n in range(8):
            assert live.subscribe(f"{dribbler.url}/{n}").status_code == 201
        live.fire([{"event_id": 1, "kind": "created"}])
        worker = create_worker(live.app)
        runtime_of(live.app).worker = worker
        worker.start()
        wait_for(lambda: dribbler.open >= 4, timeout=5)  # every thread is on a slow subscriber
        assert live.subscribe(healthy.url).status_code == 201
        live.fire([{"event_id": 2, "kind": "created"}])
        wait_for(lambda: healthy.delivered(), timeout=10)
        assert [orjson.loads(d["body"])["id"] for d in healthy.delivered()] == ["2"]
        assert dribbler.finished == 0  # the slow ones were never given the time to finish


def test_subscribers_slow_but_in_time_give_their_threads_back(service):
    """Four subscribers that answer 200 after 0.3 s (inside the 0.5 s deadline), with 60 events
    each, would hold all four threads for 18 s if a chain kept its thread for a whole batch; a
    chain gives it back after one attempt deadline, so a healthy subscription gets its turn."""
    live = service(**FAST, DELIVERY_CONCURRENCY=4)
    with running_subscriber(delay=0.3) as slow, running_subscriber() as healthy:
        for n in range(4):
            assert live.subscribe(f"{slow.url}/{n}").status_code == 201
        live.fire([{"event_id": n, "kind": "created"} for n in range(60)])
        worker = create_worker(live.app)
        runtime_of(live.app).worker = worker
        worker.start()
        wait_for(lambda: len(slow.received) >= 4, timeout=5)  # every thread is on a slow subscriber
        assert live.subscribe(healthy.url).status_code == 201
        live.fire([{"event_id": 100, "kind": "created"}])
        wait_for(lambda: healthy.delivered(), timeout=8)
        assert len(slow.received) < 4 * 60  # the healthy one did not wait for the slow ones to finish


def test_one_chain_per_subscription_with_a_subscriber_slower_than_the_lease(service):
    """Two workers, a lease of 1 s and a subscriber that would take minutes: at no time do two
    sends to the subscription overlap (the attempt ends before the lease it runs under)."""
    live = service(DELIVERY_TIMEOUT=0.3, DELIVERY_LEASE=1.0, DELIVERY_SCHEDULE=",".join(["0.05"] * 50))
    in_flight: Counter[str] = Counter()
    most = Counter()
    lock = threading.Lock()
    workers = []
    with running_dribbler(every=0.05) as dribbler:
        live.subscribe(dribbler.url)
        live.fire([{"event_id": n, "kind": "created"} for n in range(3)])
        for _ in range(2):
            worker = create_worker(live.app)
            sender = worker.sender

            def counted(url, body, headers, sender=sender):
                with lock:
                    in_flight[url] += 1
                    most[url] = max(most[url], in_flight[url])
                try:
                    return sender(url, body, headers)
                finally:
                    with lock:
                        in_flight[url] -= 1

            worker.sender = counted
            workers.append(worker)
            worker.start()
        try:
            wait_for(lambda: dribbler.accepted >= 8, timeout=15)  # several attempts, several leases
        finally:
            for worker in workers:
                worker.stop()
    assert most[dribbler.url] == 1
    assert dribbler.finished == 0


def test_a_lease_taken_over_can_neither_renew_nor_record(service):
    """Fencing: once another claim holds the subscription, the old chain's writes change nothing."""
    from connector.webhooks.delivery import Attempt, _Recorder

    live = service()
    with running_subscriber() as subscriber:
        subscription = live.subscribe(subscriber.url).json()
        live.fire([{"event_id": 1, "kind": "created"}])
    first, second = create_worker(live.app), create_worker(live.app)
    (old,) = first.claim(10)
    engine = runtime_of(live.app).engine
    with engine.begin() as connection:  # the old lease ran out
        connection.execute(subscriptions_table.update().values(lease_until=0.0))
    (new,) = second.claim(10)
    assert (old.subscription_id, new.subscription_id) == (subscription["id"], subscription["id"])
    assert old.token != new.token
    with engine.connect() as connection:
        event = connection.execute(sa.select(events_table)).one()
        recorder = _Recorder(connection, old, first.settings)
        recorder.delivered(event, 200)
        assert recorder.flush() is False  # neither renewed nor written
        assert first._record_failure(connection, old, event, Attempt(500, "subscriber answered 500")) == "cancelled"
    first._release(old)  # does not release the new holder's lease
    with engine.connect() as connection:
        row = connection.execute(sa.select(subscriptions_table)).one()
        event = connection.execute(sa.select(events_table)).one()
    assert row.lease_owner == new.token and row.lease_until > time.time()
    assert (event.status, event.attempts, row.failing_since) == ("pending", 0, None)


# --- endpoint health -----------------------------------------------------------------------------


def test_a_subscription_failing_for_too_long_is_disabled_then_enabled_by_its_owner(service):
    live = service(DELIVERY_DISABLE_AFTER=0.3, DELIVERY_SCHEDULE=",".join(["0.05"] * 100))
    with running_subscriber(default=500) as subscriber:
        subscription = live.subscribe(subscriber.url).json()
        live.fire([{"event_id": 1, "kind": "created"}, {"event_id": 2, "kind": "created"}])
        wait_for(lambda: drained(live) and listing(live)[0]["status"] == "disabled", timeout=10)
        (listed,) = listing(live)
        assert listed["disabled_reason"].startswith("every delivery failed since ")
        assert "subscriber answered 500" in listed["disabled_reason"]
        assert listed["failing_since"] is not None
        attempts = len(subscriber.received)
        # Events that arrive while it is disabled are kept, as failed, and not sent.
        assert live.fire([{"event_id": 3, "kind": "created"}]) == [200]
        live.worker.drain()
        assert len(subscriber.received) == attempts
        deliveries = requests.get(f"{subscription['url']}/deliveries", headers=KEY, timeout=5).json()["items"]
        assert [d["status"] for d in deliveries] == ["failed", "failed", "failed"]
        assert all(d["last_error"] for d in deliveries)

        enable = f"{subscription['url']}/enable"
        assert requests.post(enable, timeout=5).status_code == 401
        assert requests.post(enable, headers={"X-Demo-Key": "someone-else"}, timeout=5).status_code == 404
        subscriber.default = 200
        enabled = requests.post(enable, headers=KEY, timeout=5)
        assert enabled.status_code == 200
        assert enabled.json() == {"id": subscription["id"], "status": "active", "requeued": 3}
        wait_for(lambda: drained(live) and len(subscriber.delivered()) == 3, timeout=10)
        assert [orjson.loads(d["body"])["id"] for d in subscriber.delivered()] == ["1", "2", "3"]
    (listed,) = listing(live)
    assert (listed["status"], listed.get("disabled_reason"), listed.get("failing_since")) == ("active", None, None)


def test_the_owner_can_disable_and_a_deleted_subscription_cannot_be_enabled(service):
    live = service()
    with running_subscriber() as subscriber:
        subscription = live.subscribe(subscriber.url).json()
        disabled = requests.post(f"{subscription['url']}/disable", headers=KEY, timeout=5)
        assert disabled.json()["status"] == "disabled"
        live.fire([{"event_id": 1, "kind": "created"}])
        live.worker.drain()
        assert subscriber.received == []
        assert listing(live)[0]["disabled_reason"] == "disabled by its owner"
        assert requests.delete(subscription["url"], timeout=5).status_code == 204
        again = requests.post(f"{subscription['url']}/enable", headers=KEY, timeout=5)
    assert again.status_code == 409
    assert again.headers["Content-Type"] == "application/problem+json"


def test_disabling_leaves_a_running_chains_lease_so_enabling_cannot_start_a_second_one(service):
    """Disable then enable while a chain holds the subscription: the chain keeps its lease until it
    gives it back, so no other claim can send to the subscription beside it."""
    live = service()
    with running_subscriber() as subscriber:
        subscription = live.subscribe(subscriber.url).json()
        live.fire([{"event_id": 1, "kind": "created"}])
    first, second = create_worker(live.app), create_worker(live.app)
    with first.alive(), second.alive():
        (lease,) = first.claim(10)
        store = runtime_of(live.app).subscriptions
        assert store.disable(subscription["id"], "disabled by its owner")
        assert store.enable(subscription["id"]) == 1
        assert second.claim(10) == []  # still the first chain's
        first._release(lease)
        assert [taken.subscription_id for taken in second.claim(10)] == [subscription["id"]]


# --- the cap on subscriptions per credential --------------------------------------------------------


def test_subscriptions_per_credential_are_capped(service):
    live = service(MAX_SUBSCRIPTIONS=2)
    first = live.subscribe("http://127.0.0.1:9/a").json()
    live.subscribe("http://127.0.0.1:9/b")
    refused = live.subscribe("http://127.0.0.1:9/c")
    assert refused.status_code == 409
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["type"].endswith("too-many-subscriptions")
    assert "2 subscriptions" in refused.json()["detail"]
    hooks = runtime_of(live.app).sandboxes["demo"].app.extensions["demo"]["hooks"]
    assert len(hooks) == 2  # nothing registered upstream for the refused one
    other = requests.post(
        f"{live.url}/demo/triggers/when_item_event",
        json={"callback_url": "http://127.0.0.1:9/d"},
        headers={"X-Demo-Key": "someone-else"},
        timeout=5,
    )
    assert other.status_code == 201  # the cap is per credential
    assert requests.delete(first["url"], timeout=5).status_code == 204
    assert live.subscribe("http://127.0.0.1:9/c").status_code == 201


# --- callback URLs are capabilities --------------------------------------------------------------


SIGNED = "/workflows/1/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sig=S3CR3T"


def test_a_hook_url_with_its_secret_in_the_path_is_listed_without_it(service):
    """Zapier's REST hooks (and Make's, Slack's) carry their secret in the path, not the query."""
    live = service()
    live.subscribe("http://127.0.0.1:9/hooks/standard/1234567/8f3a9c2e7b1d4e5f/")
    (listed,) = listing(live)
    assert "8f3a9c2e7b1d4e5f" not in listed["callback_url"]
    assert listed["callback_url"].startswith("http://127.0.0.1:9/hooks/standard/")
    engine = runtime_of(live.app).engine
    with engine.connect() as connection:
        dump = "\n".join(str(tuple(row)) for row in connection.execute(sa.select(subscriptions_table)))
    assert "8f3a9c2e7b1d4e5f" not in dump


def test_a_callback_url_is_encrypted_at_rest_listed_without_its_query_and_delivered_whole(service):
    live = service()
    with running_subscriber() as subscriber:
        base = subscriber.url.removesuffix("/hook")
        live.subscribe(base + SIGNED)
        live.fire([{"event_id": 1, "kind": "created"}])
        live.worker.drain()
        (delivered,) = subscriber.delivered()
    assert delivered["url"].endswith("sig=S3CR3T")
    assert listing(live)[0]["callback_url"] == base + "/workflows/1/triggers/manual/paths/invoke"
    engine = runtime_of(live.app).engine
    with engine.connect() as connection:
        dump = "\n".join(str(tuple(row)) for row in connection.execute(sa.select(subscriptions_table)))
    assert "S3CR3T" not in dump and "api-version" not in dump


def test_callback_urls_stored_in_clear_by_an_earlier_version_are_encrypted_when_the_database_opens(service, tmp_path):
    live = service()
    with running_subscriber() as subscriber:
        live.subscribe(subscriber.url + "?sig=OLD")
        engine = runtime_of(live.app).engine
        with engine.begin() as connection:  # as version 0002 kept it
            connection.execute(
                subscriptions_table.update().values(callback_url=subscriber.url + "?sig=OLD", callback_display=None)
            )
        settings = runtime_of(live.app).settings
        again = create_app({**settings.values, "SANDBOX": False, "DEMO_API_URL": "http://127.0.0.1:9"}, catalogs=[])
        runtime_of(again).stores  # noqa: B018 - opening the database (serve does it at start) seals them
        with engine.connect() as connection:
            row = connection.execute(sa.select(subscriptions_table)).one()
        assert "OLD" not in row.callback_url and row.callback_display == subscriber.url
        live.fire([{"event_id": 1, "kind": "created"}])
        live.worker.drain()
        assert subscriber.delivered()[0]["url"].endswith("?sig=OLD")


# --- polling state ---------------------------------------------------------------------------------


def test_a_trigger_state_too_long_has_its_own_422(service):
    live = service()
    response = requests.get(
        f"{live.url}/demo/triggers/when_item_created", params={"triggerState": "A" * 5000}, headers=KEY, timeout=5
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("trigger-state-too-long")
    assert "triggerState" in response.json()["errors"]
