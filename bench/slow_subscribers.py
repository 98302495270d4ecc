"""Do slow subscribers delay healthy ones? One ``connector worker`` process, with and without 16
subscriptions whose subscriber never finishes its answer.

    .venv/bin/python bench/slow_subscribers.py [--db sqlite|postgresql] [--slow 16] [--healthy 4]
                                               [--events 4000] [--deadline 2] [--cap 60]

Each run makes a fresh database with ``--healthy`` subscriptions sharing ``--events`` events and a
probe subscription, plus (second run) ``--slow`` subscriptions whose subscriber reads the request,
then sends its answer one byte every 0.5 s forever (it would never trip a per-read timeout), each
with 50 events. A real ``connector worker`` (``CONNECTOR_DELIVERY_TIMEOUT`` = ``--deadline``,
default concurrency 16) then drains it, while every 0.5 s this script puts one event for the probe
subscription in the outbox, stamped with the time it did.

Printed per run: the healthy events' delivery rate (events/s from the worker's start to the last
healthy event, and as a ratio of the run without slow subscribers), and the probe events' latency
(from the outbox to the subscriber: median and worst, in seconds and in attempt deadlines). The
goal: the worst probe latency under two attempt deadlines. A run that has not delivered everything
healthy after ``--cap`` seconds says so. This prints figures; it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
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
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from delivery import HOST, free_port, postgres_server, start_connector_worker  # noqa: E402  (bench/delivery.py)

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


# --- the subscribers (one asyncio process: /fast/... answers at once, /slow/... never finishes) -----


def serve(port: int) -> None:
    seen: dict[str, Any] = {"healthy": [], "probes": [], "slow_connections": 0}

    async def dribble(writer: asyncio.StreamWriter) -> None:
        seen["slow_connections"] += 1
        writer.write(b"HTTP/1.1 200 OK\r\n")
        while True:  # a header that never ends
            writer.write(b"a")
            await writer.drain()
            await asyncio.sleep(0.5)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lower = head.lower()
                at = lower.find(b"\r\ncontent-length:")
                length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)]) if at >= 0 else 0
                body = await reader.readexactly(length) if length else b""
                path = head.split(b" ", 2)[1]
                now = time.time()
                if path.startswith(b"/slow/"):
                    await dribble(writer)
                elif path.startswith(b"/probe"):
                    seen["probes"].append(now - json.loads(body)["t"])
                    writer.write(OK)
                elif path.startswith(b"/fast/"):
                    seen["healthy"].append(now)
                    writer.write(OK)
                elif path == b"/stats":
                    data = json.dumps(seen).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, HOST, port, backlog=1024)
        print("ready", flush=True)
        async with server:
            await server.serve_forever()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(main())


@contextlib.contextmanager
def subscribers() -> Any:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert process.stdout is not None and "ready" in process.stdout.readline()
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(5)


def stats(port: int) -> dict[str, Any]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    connection.request("POST", "/stats", body=b"")
    return json.loads(connection.getresponse().read())


# --- one run -------------------------------------------------------------------------------------


def run(url: str, port: int, args: argparse.Namespace, slow: int, workdir: Path) -> dict[str, Any]:
    import sqlalchemy as sa
    from cryptography.fernet import Fernet

    from connector.database import create_engine, migrate
    from connector.vault import Vault
    from connector.webhooks.subscriptions import SubscriptionStore

    key = Fernet.generate_key().decode()
    engine = create_engine(url)
    migrate(engine)
    store = SubscriptionStore(engine, Vault([key]))
    base = f"http://{HOST}:{port}"

    def subscribe(path: str) -> str:
        return store.create("bench", "bench", "bench-key", f"{base}{path}", {}).subscription.id

    for n in range(slow):
        store.enqueue(subscribe(f"/slow/{n}"), [(f"s{i}", {"seq": i}) for i in range(50)])
    healthy = [subscribe(f"/fast/{n}") for n in range(args.healthy)]
    for n in range(args.events):
        store.enqueue(healthy[n % len(healthy)], [(f"h{n}", {"seq": n, "data": "x" * 200})])
    probe = subscribe("/probe")

    process = start_connector_worker(
        url,
        key,
        workdir,
        CONNECTOR_DELIVERY_TIMEOUT=str(args.deadline),
        CONNECTOR_DELIVERY_LEASE=str(max(60.0, 3 * args.deadline)),
        CONNECTOR_DELIVERY_SCHEDULE=",".join(["1"] * 50),
    )
    try:
        start, probes, done = time.time(), 0, None
        while time.time() - start < args.cap:
            store.enqueue(probe, [(f"p{probes}", {"probe": probes, "t": time.time()})])
            probes += 1
            time.sleep(0.5)
            seen = stats(port)
            if len(seen["healthy"]) >= args.events and done is None:
                done = max(seen["healthy"])
            if done is not None and probes >= args.probes:
                break
        time.sleep(2 * args.deadline + 1)  # let the last probes arrive
        seen = stats(port)
    finally:
        stopped = stop(process)
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM events"))
            connection.execute(sa.text("DELETE FROM subscriptions"))
        engine.dispose()
    return {
        "slow": slow,
        "healthy_delivered": len(seen["healthy"]),
        "rate": args.events / (done - start) if done else None,
        "probes_sent": probes,
        "latencies": seen["probes"],
        "slow_connections": seen["slow_connections"],
        "stopped": stopped,
    }


def stop(process: subprocess.Popen) -> bool:
    """SIGTERM, then SIGKILL after 15 s; True when the worker stopped by itself."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
        return True
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(15)
        return False


def describe(result: dict[str, Any], baseline: dict[str, Any] | None, args: argparse.Namespace) -> str:
    lines = [f"  {result['slow']} slow subscriptions:"]
    if result["rate"] is None:
        lines.append(f"    healthy: {result['healthy_delivered']:,} of {args.events:,} delivered in {args.cap:g} s")
    else:
        ratio = f" ({result['rate'] / baseline['rate']:.2f}x the run without)" if baseline and baseline["rate"] else ""
        lines.append(f"    healthy: {args.events:,} events at {result['rate']:,.0f}/s{ratio}")
    latencies = result["latencies"]
    lost = result["probes_sent"] - len(latencies)
    if latencies:
        median, worst = statistics.median(latencies), max(latencies)
        lines.append(
            f"    probe latency: median {median:.2f} s, worst {worst:.2f} s = {worst / args.deadline:.2f} attempt "
            f"deadlines ({len(latencies)} probes{f', {lost} not delivered' if lost else ''})"
        )
    else:
        lines.append(f"    probe latency: none of {result['probes_sent']} probes delivered")
    if result["slow"]:
        lines.append(f"    attempts on slow subscribers: {result['slow_connections']}")
    if not result["stopped"]:
        lines.append("    the worker did not stop within 15 s of SIGTERM (killed)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--slow", type=int, default=16)
    parser.add_argument("--healthy", type=int, default=4)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--deadline", type=float, default=2.0, help="CONNECTOR_DELIVERY_TIMEOUT, seconds")
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--cap", type=float, default=60.0, help="give up on a run after this many seconds")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="connector-bench-slow-"))
    with contextlib.ExitStack() as stack:
        if args.db == "postgresql":
            url, version, _ = stack.enter_context(postgres_server(fsync=True))
        else:
            url, version = f"sqlite:///{workdir / 'bench.db'}", "SQLite (WAL)"
        print(f"one connector worker, {version}, attempt deadline {args.deadline:g} s, {os.cpu_count()} cores")
        with subscribers() as port:  # each run its own subscriber process: fresh counts
            baseline = run(url, port, args, 0, workdir)
        print(describe(baseline, None, args), flush=True)
        with subscribers() as port:
            print(describe(run(url, port, args, args.slow, workdir), baseline, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
