"""Delivery across real processes: a service killed with SIGKILL mid-delivery loses nothing, and two
`connector worker` processes sharing one PostgreSQL never deliver one event twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson
import sqlalchemy as sa
from cryptography.fernet import Fernet

from connector.database import create_engine, migrate
from connector.tables import events
from connector.testing.network import free_port
from connector.testing.subscriber import running_subscriber
from connector.vault import Vault
from connector.webhooks.delivery import DeliverySettings
from connector.webhooks.subscriptions import SubscriptionStore

SECRET_KEY = Fernet.generate_key().decode()
CONNECTOR = str(Path(sys.executable).with_name("connector"))


def environment(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CONNECTOR_DATABASE_URL": database_url,
        "CONNECTOR_SECRET_KEY": SECRET_KEY,
        "CONNECTOR_ALLOW_PRIVATE_CALLBACKS": "true",
        "CONNECTOR_DATA_DIR": str(tmp_path),
        "CONNECTOR_DELIVERY_SCHEDULE": "0.1,0.1,0.1",
        "CONNECTOR_LOG_LEVEL": "WARNING",
        **extra,
    }


def fill_outbox(database_url: str, callback: str, subscriptions: int, per_subscription: int) -> list[list[str]]:
    """Subscriptions with events already accepted; returns each subscription's webhook-ids in order."""
    engine = create_engine(database_url)
    migrate(engine)
    store = SubscriptionStore(engine, Vault([SECRET_KEY]))
    order = []
    for s in range(subscriptions):
        subscription = store.create("demo", "when_item_event", "key", callback, {}).subscription
        store.enqueue(subscription.id, [(f"{s}-{i}", {"id": f"{s}-{i}"}) for i in range(per_subscription)])
        with engine.connect() as connection:
            order.append(
                connection.execute(
                    sa.select(events.c.webhook_id).where(events.c.subscription_id == subscription.id).order_by(events.c.id)
                ).scalars().all()
            )  # fmt: skip
    engine.dispose()
    return order


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [CONNECTOR, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    process.wait(20)


def test_sigkill_of_the_service_loses_nothing(database_url, tmp_path):
    with running_subscriber(delay=0.01) as subscriber:
        (order,) = fill_outbox(database_url, subscriber.url, 1, 150)
        env = environment(
            database_url,
            tmp_path,
            CONNECTOR_DELIVERY_LEASE="1",
            CONNECTOR_DELIVERY_TIMEOUT="0.4",
            CONNECTOR_CATALOGS="egoi",
        )
        port = free_port()
        service = start(["serve", "--port", str(port)], env)  # the embedded worker delivers
        try:
            wait_until(lambda: len(subscriber.delivered()) >= 30, 60, "the first deliveries")
        finally:
            stop(service, signal.SIGKILL)  # the whole process group, mid-delivery
        delivered_before = len(subscriber.delivered())
        assert delivered_before < 150, "the kill came too late to test anything"
        service = start(["serve", "--port", str(port)], env)
        try:
            wait_until(lambda: len({d["headers"]["Webhook-Id"] for d in subscriber.delivered()}) >= 150, 60, "all")
        finally:
            stop(service)
        received = [d["headers"]["Webhook-Id"] for d in subscriber.delivered()]
    first_seen = list(dict.fromkeys(received))
    assert first_seen == order  # every event, with the webhook-id it was given, in order
    # at most the deliveries not yet written when the kill came were sent again (one group)
    assert len(received) - len(first_seen) <= DeliverySettings.group


def test_two_workers_on_one_postgresql_never_deliver_an_event_twice(postgres_url, tmp_path):
    with running_subscriber() as subscriber:
        order = fill_outbox(postgres_url, subscriber.url, 20, 40)
        env = environment(postgres_url, tmp_path, CONNECTOR_CATALOGS="egoi", CONNECTOR_DELIVERY_CONCURRENCY="4")
        workers = [start(["worker"], env) for _ in range(2)]
        try:
            wait_until(lambda: len(subscriber.delivered()) >= 800, 90, "800 deliveries")
            time.sleep(0.5)  # anything delivered twice would arrive now
        finally:
            for worker in workers:
                stop(worker)
        received = [d["headers"]["Webhook-Id"] for d in subscriber.delivered()]
        senders = Counter(orjson.loads(d["body"])["id"].split("-")[0] for d in subscriber.delivered())
    duplicates = [webhook_id for webhook_id, n in Counter(received).items() if n > 1]
    assert duplicates == [] and len(received) == 800
    for subscription_order in order:  # each subscription's events arrived in order
        assert [r for r in received if r in set(subscription_order)] == subscription_order
    assert len(senders) == 20


def test_a_killed_workers_subscriptions_move_to_another_within_seconds(database_url, tmp_path):
    """A ``connector worker`` killed mid-delivery holds its subscription under a 600 s lease; a second
    worker takes it over once the first has been silent for DELIVERY_DEAD_AFTER (2 s here): within
    the test's waits, only the heartbeat can explain it. At most one unwritten group is re-sent."""
    with running_subscriber(delay=0.02) as subscriber:
        (order,) = fill_outbox(database_url, subscriber.url, 1, 300)
        env = environment(
            database_url,
            tmp_path,
            CONNECTOR_CATALOGS="egoi",
            CONNECTOR_DELIVERY_DEAD_AFTER="2",
            CONNECTOR_DELIVERY_LEASE="600",
        )
        first = start(["worker"], env)
        try:
            wait_until(lambda: len(subscriber.delivered()) >= 30, 60, "the first deliveries")
        finally:
            stop(first, signal.SIGKILL)
        delivered_before = len(subscriber.delivered())
        assert delivered_before < 300, "the kill came too late to test anything"
        second = start(["worker"], env)
        try:
            wait_until(lambda: len(subscriber.delivered()) > delivered_before, 30, "the takeover")
            wait_until(lambda: len({d["headers"]["Webhook-Id"] for d in subscriber.delivered()}) >= 300, 60, "all")
        finally:
            stop(second)
        received = [d["headers"]["Webhook-Id"] for d in subscriber.delivered()]
    first_seen = list(dict.fromkeys(received))
    assert first_seen == order
    assert len(received) - len(first_seen) <= DeliverySettings.group
