"""Webhook delivery throughput of ONE worker process, on SQLite and on PostgreSQL.

    .venv/bin/python bench/delivery.py [--events 10000] [--subscriptions 1,16,100] [--db both]
                                       [--modes subprocess,drain] [--quick] [--no-profile] [--no-round-trips]

The target: webhook relay at >= 1,000 delivered events/s per worker process on PostgreSQL,
durably; a burst of 10,000 events drained in <= 15 s. For each database and each number of
subscriptions (events spread evenly over them; one subscription's events are sent strictly one
after another, so the subscription count bounds the parallelism), it:

1. creates a fresh database (SQLite file in WAL mode, or a new database on a private PostgreSQL
   server started from Debian's binaries with ``fsync=on``: durable commits), migrates it, creates
   the subscriptions with ``SubscriptionStore.create`` and puts the whole burst in the outbox with
   ``SubscriptionStore.enqueue`` (untimed);
2. drains it, timed until the ``events`` table has no pending row, either
   * ``subprocess``: a real ``connector worker`` process (``Worker.run``, the production loop),
     timed from its "running" line to the last pending row gone (polled every 20 ms); or
   * ``drain``: ``Worker.drain()`` in this process (``Worker`` wired like ``create_worker`` does);
3. reports the burst's drain time and the steady-state rate: events per second between the 10th
   and 90th percentile of the subscriber's arrival times (no start-up, no tail); it also checks that
   every event arrived, in order per subscription (duplicates are counted: at-least-once).

The subscriber is a separate process (``--serve-subscriber``): asyncio streams speaking HTTP/1.1
keep-alive, answering ``200`` with ``Content-Length: 0``. Its own ceiling is measured first with
wrk (when installed) and printed, to show it is not the bottleneck.

Then it profiles one in-process drain (cProfile per delivery thread, CPU time, merged; top 15
cumulative of our modules) and counts the statements PostgreSQL receives per delivered event. (The
prototypes of a faster worker it first measured are now in ``connector/webhooks/delivery.py``: see
bench/README.md.)

This prints figures; it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import http.client
import io
import json
import os
import platform
import pstats
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from connector.testing.network import free_port  # noqa: E402  (after the checkout is on sys.path)
from connector.testing.postgres import private_postgres  # noqa: E402

HOST = "127.0.0.1"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
SEQ = re.compile(rb'"seq":(\d+)')


# --- the subscriber (runs in its own process) ------------------------------------------------------


class Recorder:
    """What the subscriber saw: per path, the arrival times and the seq of each body."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.times: list[float] = []
        self.connections = 0  # connections that carried at least one delivery
        self.last: dict[bytes, int] = {}
        self.out_of_order = 0
        self.duplicates = 0
        self.seen: set[tuple[bytes, int]] = set()

    def record(self, path: bytes, body: bytes) -> None:
        self.times.append(time.time())
        match = SEQ.search(body)
        if match is None:
            return
        seq = int(match.group(1))
        if (path, seq) in self.seen:
            self.duplicates += 1
            return
        self.seen.add((path, seq))
        if seq < self.last.get(path, -1):
            self.out_of_order += 1
        self.last[path] = seq

    def stats(self) -> bytes:
        return json.dumps(
            {"times": self.times, "unique": len(self.seen), "duplicates": self.duplicates,
             "out_of_order": self.out_of_order, "connections": self.connections}
        ).encode()  # fmt: skip


def serve_subscriber(port: int) -> None:
    recorder = Recorder()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counted = False
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lower = head.lower()
                at = lower.find(b"\r\ncontent-length:")
                length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)]) if at >= 0 else 0
                body = await reader.readexactly(length) if length else b""
                path = head[head.index(b" ") + 1 : head.index(b" ", head.index(b" ") + 1)]
                if path.startswith(b"/hook/"):
                    if not counted:
                        recorder.connections, counted = recorder.connections + 1, True
                    recorder.record(path, body)
                    writer.write(OK)
                elif path == b"/stats":
                    data = recorder.stats()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data))
                elif path == b"/reset":
                    recorder.reset()
                    writer.write(OK)
                else:  # /wrk: the ceiling, nothing recorded
                    writer.write(OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, HOST, port, backlog=1024)
        print("subscriber ready", flush=True)
        async with server:
            await server.serve_forever()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(main())


@dataclass
class Subscriber:
    port: int
    process: subprocess.Popen

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def call(self, path: str) -> dict[str, Any]:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            connection.request("POST", path, body=b"")
            data = connection.getresponse().read()
        finally:
            connection.close()
        return json.loads(data) if data else {}

    def reset(self) -> None:
        self.call("/reset")

    def stats(self) -> dict[str, Any]:
        return self.call("/stats")


@contextlib.contextmanager
def running_subscriber() -> Iterator[Subscriber]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve-subscriber", str(port)],
        stdout=subprocess.PIPE, text=True, start_new_session=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        if "ready" not in process.stdout.readline():
            raise RuntimeError("the subscriber did not start")
        yield Subscriber(port, process)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(5)


def subscriber_ceiling(subscriber: Subscriber, seconds: int, body_size: int) -> str:
    wrk = shutil.which("wrk") or ("/usr/bin/wrk" if os.path.exists("/usr/bin/wrk") else None)
    if not wrk:
        return "wrk not installed (apt-get install wrk): subscriber ceiling not measured"
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(f'wrk.method = "POST"\nwrk.body = string.rep("x", {body_size})\n')
    try:
        out = subprocess.run(
            [wrk, "-t1", "-c16", f"-d{seconds}s", "-s", str(script), f"{subscriber.base}/wrk"],
            capture_output=True, text=True, timeout=seconds + 30,
        ).stdout  # fmt: skip
    finally:
        script.unlink()
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return f"{float(match.group(1)):,.0f} req/s (wrk -t1 -c16, {body_size}-byte POSTs)" if match else out


# --- PostgreSQL: a private server, as the tests start it (connector.testing.postgres), but durable ---


@contextlib.contextmanager
def postgres_server(fsync: bool) -> Iterator[tuple[str, str, str | None]]:
    """Yields (SQLAlchemy URL of the server's ``postgres`` database, server version, its log file)."""
    url = os.environ.get("CONNECTOR_BENCH_POSTGRES_URL")
    if url:
        yield url, "external (CONNECTOR_BENCH_POSTGRES_URL)", None
        return
    with private_postgres(durable=fsync, host=HOST) as server:
        yield server.url, server.version, server.log


# --- one database with a burst in its outbox -------------------------------------------------------


@dataclass
class Outbox:
    url: str
    engine: Any
    store: Any
    secret_key: str
    subscriptions: list[str]
    events: int

    def cleanup(self) -> None:
        self.engine.dispose()

    def pending(self) -> int:
        import sqlalchemy as sa

        from connector.tables import events

        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count()).select_from(events).where(events.c.status == "pending")
            ).scalar_one()


class Databases:
    """Hands out an empty, migrated database of one kind: created and migrated once, emptied after."""

    def __init__(self, kind: str, workdir: Path, pg_url: str | None) -> None:
        self.kind, self.workdir, self.pg_url, self.url = kind, workdir, pg_url, None

    def fresh(self) -> str:
        import sqlalchemy as sa

        from connector.database import create_engine, migrate

        if self.url is None:
            if self.kind == "sqlite":
                self.url = f"sqlite:///{self.workdir / 'bench.db'}"
            else:
                assert self.pg_url
                admin = sa.create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(sa.text("DROP DATABASE IF EXISTS bench WITH (FORCE)"))
                    connection.execute(sa.text("CREATE DATABASE bench"))
                admin.dispose()
                self.url = self.pg_url.rsplit("/", 1)[0] + "/bench"
            engine = create_engine(self.url)
            migrate(engine)
        else:
            engine = create_engine(self.url)
            with engine.begin() as connection:
                if self.kind == "sqlite":
                    connection.execute(sa.text("DELETE FROM events"))
                    connection.execute(sa.text("DELETE FROM subscriptions"))
                else:
                    connection.execute(sa.text("TRUNCATE events, subscriptions RESTART IDENTITY"))
        engine.dispose()
        return self.url


def fill(databases: Databases, subscriber: Subscriber, subscriptions: int, total: int) -> Outbox:
    from cryptography.fernet import Fernet

    from connector.database import create_engine
    from connector.vault import Vault
    from connector.webhooks.subscriptions import SubscriptionStore

    url = databases.fresh()
    engine = create_engine(url)
    key = Fernet.generate_key().decode()
    store = SubscriptionStore(engine, Vault([key]))
    ids = [
        store.create("bench", "event", "bench-key", f"{subscriber.base}/hook/{i}", {"i": i}).subscription.id
        for i in range(subscriptions)
    ]
    data = {"email": "ana@example.com", "list_id": 1, "fields": {"first_name": "Ana", "last_name": "Silva"}}
    for i, subscription_id in enumerate(ids):  # event n goes to subscription n % subscriptions
        seqs = range(i, total, subscriptions)
        store.enqueue(subscription_id, [(f"e{n}", {"seq": n, "type": "contact.created", "data": data}) for n in seqs])
    return Outbox(url, engine, store, key, ids, total)


# --- the workers ---------------------------------------------------------------------------------------


def delivery_settings(**overrides: Any) -> Any:
    from connector.webhooks.delivery import DeliverySettings

    return DeliverySettings(schedule=(1.0, 1.0, 1.0), allow_private=True, **overrides)


def in_process_worker(outbox: Outbox, cls: Any = None, **overrides: Any) -> Any:
    """A ``Worker`` wired as ``connector.app.create_worker`` wires it."""
    from connector.webhooks.delivery import Worker, http_sender
    from connector.webhooks.ssrf import BlockedAddress, delivery_session

    settings = delivery_settings(**overrides)
    session = delivery_session(allow_private=True, timeout=settings.timeout)
    if getattr(cls, "wide_pool", False):  # keep as many connections per host as chains run at once
        for adapter in set(session.adapters.values()):
            adapter._pool_maxsize = settings.concurrency
            adapter.init_poolmanager(adapter._pool_connections, settings.concurrency, adapter._pool_block)
    return (cls or Worker)(outbox.store, settings, http_sender(session, settings.timeout, blocked=(BlockedAddress,)))


@dataclass
class Result:
    db: str
    mode: str
    subscriptions: int
    events: int
    drain_s: float
    steady: float
    delivered: int
    duplicates: int
    out_of_order: int
    pending_left: int
    cpu_s: float | None = None
    connections: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def overall(self) -> float:
        return self.events / self.drain_s if self.drain_s else 0.0


def steady_rate(times: list[float]) -> float:
    """Events/s between the 10th and 90th percentile of arrival times."""
    if len(times) < 20:
        return 0.0
    times = sorted(times)
    lo, hi = len(times) // 10, len(times) * 9 // 10
    span = times[hi] - times[lo]
    return (hi - lo) / span if span > 0 else 0.0


def finish(outbox: Outbox, subscriber: Subscriber, db: str, mode: str, drain_s: float, cpu: float | None) -> Result:
    stats = subscriber.stats()
    return Result(
        db, mode, len(outbox.subscriptions), outbox.events, drain_s, steady_rate(stats["times"]), stats["unique"],
        stats["duplicates"], stats["out_of_order"], outbox.pending(), cpu, stats.get("connections", 0),
    )  # fmt: skip


def run_drain(outbox: Outbox, subscriber: Subscriber, db: str, cls: Any = None, mode: str = "drain",
              **overrides: Any) -> Result:  # fmt: skip
    worker = in_process_worker(outbox, cls, **overrides)
    subscriber.reset()
    cpu0, start = time.process_time(), time.perf_counter()
    worker.drain(timeout=600)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    return finish(outbox, subscriber, db, mode, elapsed, cpu)


def start_connector_worker(database_url: str, secret_key: str, workdir: Path, **extra: str) -> subprocess.Popen:
    """A ``connector worker`` of the checkout this file is in (``PYTHONPATH``: a copy of the bench
    in an older checkout measures that checkout), returned once it says it is running."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        PYTHONPATH=str(ROOT),
        CONNECTOR_DATABASE_URL=database_url,
        CONNECTOR_SECRET_KEY=secret_key,
        CONNECTOR_ALLOW_PRIVATE_CALLBACKS="1",
        CONNECTOR_DATA_DIR=str(workdir),
        CONNECTOR_LOG_LEVEL="WARNING",
        **extra,
    )
    process = subprocess.Popen(
        [sys.executable, "-c", "from connector.cli import main; main()", "worker"],
        env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    started = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if "running" in line:
                started.set()

    threading.Thread(target=read, daemon=True).start()
    if not started.wait(60):
        raise RuntimeError("connector worker did not start")
    return process


def run_subprocess(outbox: Outbox, subscriber: Subscriber, db: str, workdir: Path) -> Result:
    """A real ``connector worker`` process (``Worker.run``) drains the burst."""
    subscriber.reset()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        CONNECTOR_DATABASE_URL=outbox.url,
        CONNECTOR_SECRET_KEY=outbox.secret_key,
        CONNECTOR_ALLOW_PRIVATE_CALLBACKS="1",
        CONNECTOR_DATA_DIR=str(workdir / "data"),
        CONNECTOR_LOG_LEVEL="WARNING",
        CONNECTOR_DELIVERY_SCHEDULE="1,1,1",
    )
    executable = Path(sys.executable).with_name("connector")
    command = [str(executable), "worker"] if executable.exists() else [sys.executable, "-m", "connector.cli", "worker"]
    spawned = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True)
    started, lines = threading.Event(), []
    start_at = [0.0]

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "running" in line and not started.is_set():
                start_at[0] = time.perf_counter()
                started.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not started.wait(60):
            raise RuntimeError("connector worker did not start:\n" + "".join(lines))
        cpu_at_start = process_cpu(process.pid) or 0.0
        deadline = time.monotonic() + 600
        while outbox.pending() and time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("connector worker died:\n" + "".join(lines))
            time.sleep(0.02)
        done = time.perf_counter()
        cpu = process_cpu(process.pid)
        cpu = cpu - cpu_at_start if cpu is not None else None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)
    result = finish(outbox, subscriber, db, "subprocess", done - start_at[0], cpu)
    result.extra["startup_s"] = start_at[0] - spawned
    return result


def process_cpu(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields_ = stat[stat.rindex(")") + 2 :].split()
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


# --- round trips --------------------------------------------------------------------------------


class RoundTrips:
    """Counts what reaches the database: statements, commits, rollbacks, pool checkouts, pings."""

    def __init__(self, engine: Any) -> None:
        import sqlalchemy as sa

        self.counts: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        self.engine = engine

        def bump(name: str) -> Any:
            def listener(*_: Any, **__: Any) -> None:
                with self.lock:
                    self.counts[name] += 1

            return listener

        self.listeners = [
            (engine, "before_cursor_execute", bump("statements")),
            (engine, "commit", bump("commits")),
            (engine, "rollback", bump("rollbacks")),
            (engine.pool, "checkout", bump("checkouts")),
            (engine.pool, "reset", bump("resets")),
        ]
        for target, name, fn in self.listeners:
            sa.event.listen(target, name, fn)
        dialect = engine.dialect
        self._ping = dialect.do_ping

        def ping(connection: Any) -> Any:
            with self.lock:
                self.counts["pings"] += 1
            return self._ping(connection)

        dialect.do_ping = ping

    def close(self) -> None:
        import sqlalchemy as sa

        for target, name, fn in self.listeners:
            sa.event.remove(target, name, fn)
        self.engine.dialect.do_ping = self._ping


def profile_drain(outbox: Outbox, subscriber: Subscriber, top: int) -> str:
    """cProfile (CPU time of each delivery thread, merged) of one in-process drain, with round trips."""
    from connector.webhooks.delivery import Worker

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    class Profiled(Worker):
        def deliver_subscription(self, subscription_id: str) -> int:
            profile = cProfile.Profile(time.thread_time)
            profile.enable()
            try:
                return super().deliver_subscription(subscription_id)
            finally:
                profile.disable()
                with lock:
                    profiles.append(profile)

        def claim(self, limit: int) -> list[str]:
            profile = cProfile.Profile(time.thread_time)
            profile.enable()
            try:
                return super().claim(limit)
            finally:
                profile.disable()
                with lock:
                    profiles.append(profile)

    trips = RoundTrips(outbox.engine)
    try:
        result = run_drain(outbox, subscriber, outbox.engine.dialect.name, Profiled, mode="drain (profiled)")
    finally:
        trips.close()
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    n = max(1, result.delivered)
    out = io.StringIO()
    out.write(
        f"{result.db}, {result.subscriptions} subscriptions, {result.events} events: drained in {result.drain_s:.2f} s "
        f"under the profiler ({result.overall:,.0f} events/s), process CPU {result.cpu_s:.2f} s "
        f"= {1000 * (result.cpu_s or 0) / n:.3f} ms/event\n"
    )
    out.write("Database round trips per delivered event: " + ", ".join(
        f"{name} {count / n:.2f}" for name, count in sorted(trips.counts.items())) + "\n")  # fmt: skip

    # CPU by area (own time of every function, grouped by where it lives)
    areas: dict[str, float] = defaultdict(float)
    for (filename, _line, name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        areas[area_of(filename, name)] += tt
    total = sum(areas.values()) or 1.0
    out.write("CPU of the delivery threads by area (own time, ms/event):\n")
    for name, seconds in sorted(areas.items(), key=lambda kv: -kv[1]):
        out.write(f"  {name:<44} {1000 * seconds / n:7.3f}  {100 * seconds / total:5.1f} %\n")

    text = io.StringIO()
    stats.stream = text  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(r"/connector/", top)
    lines = [line for line in text.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    out.write(f"Top {top} cumulative, our modules (CPU seconds summed over threads):\n")
    out.write("\n".join(lines[start:]) + "\n")
    return out.getvalue()


STATEMENT = re.compile(r"LOG:  (?:statement|execute [^:]*): (.*)")


def server_round_trips(databases: Databases, log: str, subscriber: Subscriber, count: int, total: int,
                       variants: dict[str, Any]) -> str:  # fmt: skip
    """Statements PostgreSQL received per delivered event (``log_statement=all``), for each variant."""
    import sqlalchemy as sa

    admin = sa.create_engine(databases.pg_url, isolation_level="AUTOCOMMIT")
    rows = []
    try:
        for label, cls in variants.items():
            outbox = fill(databases, subscriber, count, total)
            with admin.connect() as connection:
                connection.execute(sa.text("ALTER SYSTEM SET log_statement = 'all'"))
                connection.execute(sa.text("SELECT pg_reload_conf()"))
            time.sleep(0.3)
            size = os.path.getsize(log)
            try:
                result = run_drain(outbox, subscriber, "postgresql", cls)
            finally:
                with admin.connect() as connection:
                    connection.execute(sa.text("ALTER SYSTEM RESET log_statement"))
                    connection.execute(sa.text("SELECT pg_reload_conf()"))
                outbox.engine.dispose()
                outbox.cleanup()
            with open(log, "rb") as handle:
                handle.seek(size)
                text = handle.read().decode(errors="replace")
            kinds: dict[str, int] = defaultdict(int)
            for match in STATEMENT.finditer(text):
                statement = match.group(1).strip()
                word = [w.strip(",") for w in statement.split(None, 2)[:2]]
                kind = {";": "ping (;)", "": "ping (;)"}.get(statement, " ".join(word).upper())
                if kind.startswith("SELECT COUNT") or kind.startswith("ALTER") or "PG_RELOAD_CONF" in kind:
                    continue
                kinds[kind] += 1
            n = max(1, result.delivered)
            total_trips = sum(kinds.values())
            detail = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
            rows.append(f"| {label} | {total_trips / n:.2f} | {kinds.get('COMMIT', 0) / n:.2f} | {detail} |")
    finally:
        admin.dispose()
    head = "| worker | statements/event | COMMITs/event | by kind (per event) |\n|---|---|---|---|\n"
    return f"PostgreSQL, {count} subscriptions, {total} events, as the server logged them:\n\n" + head + "\n".join(rows)


def area_of(filename: str, name: str) -> str:
    rules = [
        ("/connector/", "connector (our code)"),
        ("/sqlalchemy/", "SQLAlchemy (Core, pool)"),
        ("/psycopg", "psycopg (driver)"),
        ("sqlite3", "sqlite3 (driver)"),
        ("/requests_hardened/", "requests / urllib3 / http.client"),
        ("/requests/", "requests / urllib3 / http.client"),
        ("/urllib3/", "requests / urllib3 / http.client"),
        ("http/client", "requests / urllib3 / http.client"),
        ("email/", "requests / urllib3 / http.client"),
        ("/standardwebhooks/", "signing (standardwebhooks, hmac, base64)"),
        ("hmac", "signing (standardwebhooks, hmac, base64)"),
        ("base64", "signing (standardwebhooks, hmac, base64)"),
        ("/cryptography/", "vault (Fernet)"),
        ("socket", "sockets (send/recv, connect)"),
        ("threading", "threads, locks, queues"),
        ("queue", "threads, locks, queues"),
    ]
    key = f"{filename} {name}"
    if filename == "~":  # built-ins: classify by name
        if any(s in name for s in ("sqlite3",)):
            return "sqlite3 (driver)"
        if any(s in name for s in ("socket", "recv", "send", "connect", "select", "poll")):
            return "sockets (send/recv, connect)"
        if any(s in name for s in ("hmac", "_hashlib", "b64", "binascii")):
            return "signing (standardwebhooks, hmac, base64)"
        if any(s in name for s in ("lock", "acquire", "release")):
            return "threads, locks, queues"
        return "built-ins (other)"
    for needle, label in rules:
        if needle in key:
            return label
    return "other Python (stdlib, datetime, ...)"


# --- the report ----------------------------------------------------------------------------------------


def environment(pg_version: str | None) -> str:
    import sqlite3

    import psycopg
    import requests
    import sqlalchemy
    import urllib3

    load = os.getloadavg()
    return (
        f"CPUs: {os.cpu_count()} ({platform.processor() or platform.machine()}), load {load[0]:.2f}; "
        f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
        f"PostgreSQL: {pg_version or 'not used'}; SQLAlchemy {sqlalchemy.__version__}, psycopg {psycopg.__version__}, "
        f"requests {requests.__version__}, urllib3 {urllib3.__version__}"
    )


def table(results: list[Result]) -> str:
    head = ("| DB | worker | subs | events | drain s | events/s overall | steady events/s | CPU ms/event "
            "| delivered | dup | out of order | pending left | TCP conns |")  # fmt: skip
    rows = [head, "|" + "---|" * 13]
    for r in results:
        cpu = f"{1000 * r.cpu_s / max(1, r.delivered):.3f}" if r.cpu_s is not None else "-"
        rows.append(
            f"| {r.db} | {r.mode} | {r.subscriptions} | {r.events:,} | {r.drain_s:.2f} | {r.overall:,.0f} "
            f"| {r.steady:,.0f} | {cpu} | {r.delivered:,} | {r.duplicates} | {r.out_of_order} | {r.pending_left} | {r.connections:,} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="events in the burst [10000]")
    parser.add_argument("--subscriptions", default="1,16,100", help="comma-separated counts [1,16,100]")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--modes", default="subprocess,drain", help="subprocess (connector worker), drain (in-process)")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run (< 30 s)")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-round-trips", action="store_true", help="skip counting PostgreSQL statements per event")
    parser.add_argument("--profile-subscriptions", type=int, default=16)
    parser.add_argument("--pg-fsync", choices=("on", "off"), default="on", help="on: durable commits [on]")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--serve-subscriber", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_subscriber:
        serve_subscriber(args.serve_subscriber)
        return 0
    if args.quick:
        args.events, args.subscriptions = min(args.events, 300), "1,16"
    counts = [int(c) for c in args.subscriptions.split(",") if c.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    import logging

    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # "pool is full" warnings: see README

    results: list[Result] = []
    notes: list[str] = []
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="connector-bench-delivery-")))
        pg_url, pg_version, pg_log = None, None, None
        if "postgresql" in kinds:
            pg_url, pg_version, pg_log = stack.enter_context(postgres_server(args.pg_fsync == "on"))
        subscriber = stack.enter_context(running_subscriber())
        print(environment(pg_version), flush=True)
        print(f"Subscriber ceiling: {subscriber_ceiling(subscriber, 1 if args.quick else 3, 200)}", flush=True)

        dbs = {kind: Databases(kind, workdir, pg_url) for kind in kinds}
        for kind in kinds:
            databases = dbs[kind]
            for count in counts:
                for mode in modes:
                    outbox = fill(databases, subscriber, count, args.events)
                    try:
                        if mode == "subprocess":
                            outbox.engine.dispose()
                            result = run_subprocess(outbox, subscriber, kind, workdir)
                            notes.append(f"{kind} {count} subs: connector worker started in "
                                         f"{result.extra['startup_s']:.2f} s (not counted)")  # fmt: skip
                        else:
                            result = run_drain(outbox, subscriber, kind)
                    finally:
                        outbox.engine.dispose()
                        outbox.cleanup()
                    results.append(result)
                    print(table([result]).splitlines()[-1], flush=True)

        trips = ""
        if pg_log and not args.no_round_trips:
            trips = server_round_trips(dbs["postgresql"], pg_log, subscriber,
                                       args.profile_subscriptions, min(args.events, 1000), {"Worker.drain": None})  # fmt: skip

        profiles: list[str] = []
        if not args.no_profile:
            for kind in kinds[-1:] if args.quick else kinds:
                outbox = fill(dbs[kind], subscriber, args.profile_subscriptions, min(args.events, 2000))
                try:
                    profiles.append(profile_drain(outbox, subscriber, 15))
                finally:
                    outbox.engine.dispose()
                    outbox.cleanup()

    print("\n## Environment\n" + environment(pg_version))
    print("\n## One worker process: a burst in the outbox, drained (steady = 10th..90th percentile of arrivals)\n")
    print(table(results))
    for note in notes:
        print(f"- {note}")
    if trips:
        print("\n## Database round trips\n")
        print(trips)
    for text in profiles:
        print("\n## Profile\n")
        print(text)
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in results], indent=2))
    bad = [r for r in results if r.pending_left or r.delivered != r.events or r.out_of_order]
    if bad:
        print(f"\n{len(bad)} run(s) did not deliver every event exactly in order: see the table")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
