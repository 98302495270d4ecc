"""Delivery across several workers, on PostgreSQL (and SQLite for the claim).

    .venv/bin/python bench/scale_out.py [--events 10000] [--subscriptions 10] [--parts throughput,claim,takeover]

Three figures, each printed, none asserted:

1. **throughput**: events/s of 1 and of 2 ``connector worker`` processes draining a burst of
   ``--events`` spread over ``--subscriptions`` subscriptions (PostgreSQL, fsync on), and the ratio.
2. **claim**: how long one claim of 16 subscriptions takes with 10,000 and 100,000 pending events
   over 100 subscriptions, in a database whose statistics were gathered when the outbox was
   empty (then autovacuum off on ``events``, and the burst: stale statistics), on PostgreSQL and SQLite:
   the claim of this checkout, and the claim before it (a NOT EXISTS over the events table, kept
   here as the baseline), median of 5.
3. **takeover**: a ``connector worker`` delivering to one subscription is killed (SIGKILL); a second
   one is started at once: seconds from the kill to its first delivery (``DELIVERY_LEASE`` 60 s,
   ``DELIVERY_DEAD_AFTER`` 10 s, the defaults).

Workers run the code of the checkout this file is in (``PYTHONPATH``), so a copy of this file in
an older checkout measures that checkout.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from delivery import Databases, Outbox, fill, postgres_server, running_subscriber, start_connector_worker  # noqa: E402


def start_worker(outbox: Outbox, workdir: Path, **extra: str) -> subprocess.Popen:
    return start_connector_worker(outbox.url, outbox.secret_key, workdir, CONNECTOR_DELIVERY_SCHEDULE="1,1,1", **extra)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    process.wait(30)


# --- 1. throughput of 1 and 2 workers ------------------------------------------------------------


def throughput(databases: Databases, args: argparse.Namespace, workdir: Path) -> None:
    with running_subscriber() as subscriber:
        rates = {}
        for count in (1, 2):
            outbox = fill(databases, subscriber, args.subscriptions, args.events)
            subscriber.reset()
            processes = [start_worker(outbox, workdir) for _ in range(count)]
            start = time.perf_counter()
            try:
                while outbox.pending():
                    time.sleep(0.02)
                elapsed = time.perf_counter() - start
            finally:
                for process in processes:
                    stop(process)
            stats = subscriber.stats()
            rates[count] = args.events / elapsed
            print(
                f"  {count} worker{'s' if count > 1 else ''}: {args.events:,} events over {args.subscriptions} "
                f"subscriptions in {elapsed:.2f} s = {rates[count]:,.0f} events/s "
                f"(duplicates {stats['duplicates']}, out of order {stats['out_of_order']})",
                flush=True,
            )
            outbox.cleanup()
        print(f"  2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")


# --- 2. the claim with stale statistics ------------------------------------------------------------


def previous_claim(now: float, limit: int, pg: bool) -> Any:
    """The claim before this change: due heads found with NOT EXISTS over the whole events table."""
    import sqlalchemy as sa

    from connector.tables import events, subscriptions

    head, earlier = events.alias("head"), events.alias("earlier")
    due = sa.select(head.c.subscription_id).where(
        head.c.status == "pending",
        head.c.next_attempt_at <= now,
        ~sa.exists().where(
            earlier.c.subscription_id == head.c.subscription_id,
            earlier.c.status == "pending",
            earlier.c.id < head.c.id,
        ),
    )
    query = (
        sa.select(subscriptions.c.id)
        .where(subscriptions.c.status == "active", subscriptions.c.lease_until < now, subscriptions.c.id.in_(due))
        .limit(limit)
    )
    return query.with_for_update(skip_locked=True) if pg else query


def claim_times(url: str, pending: int, subscriptions_count: int = 100) -> tuple[float, float]:
    """Median seconds of (this claim, the previous claim) over 5 runs, each rolled back."""
    import sqlalchemy as sa
    from cryptography.fernet import Fernet

    from connector.database import create_engine
    from connector.tables import events
    from connector.vault import Vault
    from connector.webhooks.delivery import DeliverySettings, Worker
    from connector.webhooks.subscriptions import SubscriptionStore

    engine = create_engine(url)
    pg = engine.dialect.name == "postgresql"
    store = SubscriptionStore(engine, Vault([Fernet.generate_key().decode()]))
    ids = [
        store.create("b", "t", "k", f"http://127.0.0.1:9/{n}", {}).subscription.id for n in range(subscriptions_count)
    ]
    now = time.time()
    with engine.begin() as connection:
        if pg:
            connection.execute(sa.text("ALTER TABLE events SET (autovacuum_enabled = false)"))
        rows = [
            {"subscription_id": ids[n % subscriptions_count], "event_key": f"k{n}", "webhook_id": f"msg_{n}",
             "payload": b"{}", "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
            for n in range(pending)
        ]  # fmt: skip
    with engine.begin() as connection:  # statistics of an idle outbox: empty
        connection.execute(sa.text("ANALYZE events" if pg else "ANALYZE"))
    with engine.begin() as connection:  # then the burst, with no ANALYZE after it
        for start in range(0, pending, 10_000):
            connection.execute(events.insert(), rows[start : start + 10_000])
    worker = Worker(store, DeliverySettings(schedule=(1.0,), allow_private=True), lambda *a: None)
    worker.beat()

    def timed(run: Any) -> float:
        times = []
        for _ in range(5):
            with engine.connect() as connection:
                start = time.perf_counter()
                run(connection)
                times.append(time.perf_counter() - start)
                connection.rollback()
        return statistics.median(times)

    def ours(connection: Any) -> None:
        connection.execute(worker.candidates(time.time(), 16)).all()

    def theirs(connection: Any) -> None:
        connection.execute(previous_claim(time.time(), 16, pg)).all()

    result = timed(ours), timed(theirs)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM events"))
        connection.execute(sa.text("DELETE FROM workers"))
        connection.execute(sa.text("DELETE FROM subscriptions"))
    engine.dispose()
    return result


def claim(databases: dict[str, Databases]) -> None:
    for kind, database in databases.items():
        for pending in (10_000, 100_000):
            url = database.fresh()
            ours, theirs = claim_times(url, pending)
            print(
                f"  {kind}, {pending:,} pending events over 100 subscriptions, stale statistics: this claim "
                f"{ours * 1000:.1f} ms, the previous claim {theirs * 1000:.1f} ms",
                flush=True,
            )


# --- 3. takeover after a worker is killed -----------------------------------------------------------


def takeover(databases: Databases, workdir: Path) -> None:
    with running_subscriber() as subscriber:
        outbox = fill(databases, subscriber, 1, 200_000)  # more than the first worker can send in time
        subscriber.reset()
        first = start_worker(outbox, workdir)
        while subscriber.stats()["unique"] < 1000:
            time.sleep(0.05)
        stop(first, signal.SIGKILL)
        killed = time.time()
        before = subscriber.stats()["unique"]
        second = start_worker(outbox, workdir)
        started = time.time() - killed
        try:
            while subscriber.stats()["unique"] <= before:
                time.sleep(0.05)
            moved = time.time() - killed
        finally:
            stop(second, signal.SIGKILL)  # its measure is taken; it need not finish the burst
        stats = subscriber.stats()
        print(
            f"  killed mid-delivery; the second worker's first delivery came {moved:.1f} s after the kill "
            f"(it was running {started:.1f} s after the kill; DELIVERY_LEASE 60 s, DELIVERY_DEAD_AFTER 10 s); "
            f"events sent again: {stats['duplicates']}"
        )
        outbox.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--parts", default="throughput,claim,takeover")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    workdir = Path(tempfile.mkdtemp(prefix="connector-bench-scale-"))
    with postgres_server(fsync=True) as (pg_url, version, _):
        print(f"{version}; {os.cpu_count()} cores")
        postgres = Databases("postgresql", workdir, pg_url)
        if "throughput" in parts:
            print("throughput (PostgreSQL):", flush=True)
            throughput(postgres, args, workdir)
        if "claim" in parts:
            print("claim:", flush=True)
            claim(
                {"PostgreSQL": Databases("postgresql", workdir, pg_url), "SQLite": Databases("sqlite", workdir, None)}
            )
        if "takeover" in parts:
            print("takeover (PostgreSQL):", flush=True)
            takeover(postgres, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
