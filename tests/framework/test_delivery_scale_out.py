"""Delivery shared by several workers, on SQLite and PostgreSQL: fair shares of the busy
subscriptions, a claim that takes each subscription's oldest pending event through the index,
heartbeats (a silent worker's subscriptions move at once), and retention of old events."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from connector.database import create_engine, migrate
from connector.tables import events, subscriptions, workers
from connector.vault import Vault
from connector.webhooks.delivery import Attempt, DeliverySettings, Worker
from connector.webhooks.subscriptions import SubscriptionStore, due

DAY = 86400.0


@pytest.fixture
def store(database_url):
    engine = create_engine(database_url)
    migrate(engine)
    yield SubscriptionStore(engine, Vault([Fernet.generate_key().decode()]))
    engine.dispose()


def sent_to(log: list[str]):
    def send(url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        log.append(url)
        return Attempt(200)

    return send


def worker(store: SubscriptionStore, log: list[str] | None = None, **settings) -> Worker:
    delivery = DeliverySettings(schedule=(0.05,), allow_private=True, dead_after=2.0, **settings)
    return Worker(store, delivery, sent_to([] if log is None else log))


def busy(store: SubscriptionStore, count: int, events_each: int = 3) -> list[str]:
    ids = []
    for n in range(count):
        subscription_id = store.create("demo", "t", "key", f"http://127.0.0.1:9/{n}", {}).subscription.id
        store.enqueue(subscription_id, [(f"{n}-{i}", {"n": i}) for i in range(events_each)])
        ids.append(subscription_id)
    return ids


# --- fair shares -----------------------------------------------------------------------------------


def test_two_live_workers_share_the_busy_subscriptions(store):
    busy(store, 10)
    first, second = worker(store), worker(store)
    with first.alive():
        assert first.fair_share() == first.settings.concurrency  # alone: everything
        with second.alive():
            assert first.fair_share() == second.fair_share() == 5
            mine = first.claim_lanes({})
            theirs = second.claim_lanes({})
    assert len(mine) == len(theirs) == 5
    assert not {lease.subscription_id for lease in mine} & {lease.subscription_id for lease in theirs}


def test_a_chain_gives_its_lease_back_after_its_turn(store):
    log: list[str] = []
    (subscription_id,) = busy(store, 1, events_each=5)
    solo = worker(store, log, batch=2, timeout=1e-6)  # a turn: min(1 s, the attempt deadline)
    with solo.alive():
        (lease,) = solo.claim(10)
        assert solo.deliver_subscription(lease) == 1  # the turn ended after one send
        with store.engine.connect() as connection:
            row = connection.execute(sa.select(subscriptions).where(subscriptions.c.id == subscription_id)).one()
        assert row.lease_owner is None and row.lease_worker is None  # free for the next claim, anyone's
        assert solo.drain() == 4
    assert len(log) == 5


def test_a_turn_goes_on_from_batch_to_batch(store):
    log: list[str] = []
    busy(store, 1, events_each=5)
    solo = worker(store, log, batch=2)
    with solo.alive():
        (lease,) = solo.claim(10)
        assert solo.deliver_subscription(lease) == 5  # three batches in one turn (1 s)
    assert len(log) == 5


def test_subscriptions_take_turns(store):
    """The least recently served subscription is claimed first, so none waits behind busier ones."""
    ids = busy(store, 3, events_each=4)
    solo = worker(store, batch=1, timeout=1e-6)
    order = []
    with solo.alive():
        for _ in range(6):
            (lease,) = solo.claim(1)
            order.append(lease.subscription_id)
            solo.deliver_subscription(lease)
    assert sorted(order[:3]) == sorted(ids) and order[3:] == order[:3]


# --- the claim --------------------------------------------------------------------------------------


def test_the_claim_takes_a_subscription_only_when_its_oldest_pending_event_is_due(store):
    waiting, ready = busy(store, 2)
    with store.engine.begin() as connection:  # waiting's head is retried later; the rest are due now
        head = connection.execute(
            sa.select(sa.func.min(events.c.id)).where(events.c.subscription_id == waiting)
        ).scalar()
        connection.execute(events.update().where(events.c.id == head).values(next_attempt_at=time.time() + 60))
    solo = worker(store)
    with solo.alive():
        assert [lease.subscription_id for lease in solo.claim(10)] == [ready]


def test_the_claim_reads_the_outbox_through_its_index_without_statistics(postgres_url):
    """On PostgreSQL, with 20,000 pending events and no ANALYZE, the plan probes ix_events_pending
    per subscription (no scan of the events table, whatever the planner believes)."""
    engine = create_engine(postgres_url)
    migrate(engine)
    store = SubscriptionStore(engine, Vault([Fernet.generate_key().decode()]))
    ids = busy(store, 20, events_each=0)
    now = time.time()
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE events SET (autovacuum_enabled = false)"))
        connection.execute(
            events.insert(),
            [
                {"subscription_id": ids[n % 20], "event_key": f"k{n}", "webhook_id": f"msg_{n}", "payload": b"{}",
                 "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
                for n in range(20_000)
            ],
        )  # fmt: skip
    solo = worker(store)
    query = sa.select(subscriptions.c.id).where(due(time.time()))
    with engine.connect() as connection:
        plan = "\n".join(
            connection.execute(
                sa.text("EXPLAIN " + str(query.compile(engine, compile_kwargs={"literal_binds": True})))
            ).scalars()
        )
    assert "ix_events_pending" in plan
    assert "Seq Scan on events" not in plan
    with solo.alive():
        assert len(solo.claim(100)) == 20
    engine.dispose()


# --- heartbeats ------------------------------------------------------------------------------------


def test_a_silent_workers_subscriptions_are_claimed_before_its_lease_ends(store):
    busy(store, 1)
    first, second = worker(store, lease=600.0), worker(store, lease=600.0)
    first.beat()
    (lease,) = first.claim(10)
    with second.alive():
        assert second.claim(10) == []  # first is alive: its lease holds
        with store.engine.begin() as connection:  # first stops beating (killed)
            connection.execute(workers.update().where(workers.c.name == first.name).values(last_seen=0.0))
        (taken,) = second.claim(10)
    assert taken.subscription_id == lease.subscription_id and taken.token != lease.token


def test_a_worker_that_stops_leaves_the_roll(store):
    solo = worker(store)
    with solo.alive():
        with store.engine.connect() as connection:
            assert connection.execute(sa.select(workers.c.name)).scalars().all() == [solo.name]
    with store.engine.connect() as connection:
        assert connection.execute(sa.select(workers.c.name)).scalars().all() == []


# --- the subscription cap and the receiver --------------------------------------------------------


def test_concurrent_subscribes_never_pass_the_cap(store):
    from concurrent.futures import ThreadPoolExecutor

    from connector.webhooks.subscriptions import TooManySubscriptions

    store.max_per_owner = 2

    def create(n: int) -> bool:
        try:
            store.create("demo", "t", "same-key", f"http://127.0.0.1:9/{n}", {})
            return True
        except TooManySubscriptions:
            return False

    with ThreadPoolExecutor(10) as pool:
        assert sum(pool.map(create, range(20))) == 2
    with store.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(subscriptions)).scalar() == 2


def test_events_reaching_a_disabled_subscription_are_held_and_an_ended_one_takes_none(store):
    held, ended = busy(store, 2, events_each=0)
    store.disable(held, "disabled by its owner")
    store.end(ended, "unsubscribed")
    assert store.enqueue(held, [("a", {"n": 1})]) == 1
    assert store.enqueue(ended, [("b", {"n": 2})]) == 0
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(events.c.subscription_id, events.c.status)).all()
    assert [tuple(row) for row in rows] == [(held, "failed")]


# --- retention ---------------------------------------------------------------------------------------


def test_old_events_are_pruned_by_status_and_age(store):
    (subscription_id,) = busy(store, 1, events_each=0)
    now = time.time()
    ages = {"delivered": [8, 6], "cancelled": [8], "failed": [31, 20], "pending": [90]}
    # received 10 days ago, delivered today (after a re-enable): kept, its age is its delivery's
    rows = [
        {"subscription_id": subscription_id, "event_key": f"{status}{age}", "webhook_id": f"msg_{status}{age}",
         "payload": b"{}", "status": status, "attempts": 1, "next_attempt_at": now + DAY,
         "created_at": now - age * DAY, "delivered_at": None}
        for status, days in ages.items() for age in days
    ]  # fmt: skip
    rows.append({**rows[0], "event_key": "late", "webhook_id": "msg_late", "created_at": now - 10 * DAY,
                 "delivered_at": now})  # fmt: skip
    (disabled,) = busy(store, 1, events_each=0)
    store.disable(disabled, "disabled by its owner")
    rows.append({**rows[0], "subscription_id": disabled, "event_key": "held", "webhook_id": "msg_held",
                 "status": "failed", "created_at": now - 90 * DAY})  # fmt: skip
    with store.engine.begin() as connection:
        connection.execute(events.insert(), rows)
    solo = worker(store, prune_batch=1)  # one row per transaction: the batches really loop
    assert solo.prune() == 3
    with store.engine.connect() as connection:
        left = sorted(connection.execute(sa.select(events.c.event_key)).scalars())
    assert left == ["delivered6", "failed20", "held", "late", "pending90"]
