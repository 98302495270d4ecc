"""CPU per request of CreateContact, the framework next to the hand-written baseline, in process.

    .venv/bin/python bench/request_cpu.py [--requests 500] [--repeats 7] [--profile]

bench/throughput.py measures requests per second under wrk, which on a small shared machine moves
by 15-40 % from run to run (the load generator, the fake upstream and both apps share the cores).
This measures the figure behind it that moves least: the CPU time one request costs the process that
serves it (``time.process_time``: every thread of this process, nothing of the others). Each app is
called through its WSGI callable, with the same body, the same ``Apikey`` and the same fake upstream
(``bench/fake_upstream.py`` under gunicorn, started here), over real HTTP to that upstream; the two
apps are measured alternately, ``--repeats`` batches each, and the best batch of each is reported.

The framework runs as ``connector serve`` configures it (CreateContact's rate limit, in memory,
counting every call; metrics and request ids; no embedded delivery worker, which the baseline does
not have either). This prints figures; it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for path in (str(ROOT), str(BENCH)):
    if path not in sys.path:
        sys.path.insert(0, path)

from connector.testing.network import free_port  # noqa: E402  (after the checkout is on sys.path)

BODY = {"list_id": 1, "email": "ana@example.com", "cellphone": "351-912345678", "birth_date": "1990-01-31"}
PATHS = {"framework": "/egoi/actions/create_contact", "baseline": "/egoi/actions/create_contact"}


@contextmanager
def running_upstream() -> Iterator[str]:
    """The fake upstream under gunicorn on a free port, for the block's duration; yields its URL."""
    port = free_port()
    upstream = start_upstream(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(upstream.pid, 15)
        upstream.wait(10)


def start_upstream(port: int) -> subprocess.Popen:
    argv = [sys.executable, "-m", "gunicorn", "--chdir", str(BENCH), "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", "2", "--worker-class", "gthread", "--threads", "4", "--log-level", "warning"]
    server = subprocess.Popen([*argv, "fake_upstream:app"], start_new_session=True)
    deadline = time.monotonic() + 20
    import socket

    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("the fake upstream did not start")


def apps(upstream: str, data_dir: str) -> dict:
    os.environ.update(
        CONNECTOR_EGOI_API_URL=upstream,
        CONNECTOR_EGOI_TRANSACTIONAL_URL=upstream,
        CONNECTOR_RATE_LIMIT="100000000 per 1 second",
        CONNECTOR_LOG_LEVEL="WARNING",
        CONNECTOR_SANDBOX="false",
        CONNECTOR_WORKER="off",
        CONNECTOR_DATA_DIR=data_dir,
        BENCH_UPSTREAM=upstream,
    )
    from baseline_app import app as baseline

    from connector.app import create_app

    return {"framework": create_app(), "baseline": baseline}


def caller(app, path: str):  # type: ignore[no-untyped-def]
    from werkzeug.test import EnvironBuilder

    body = json.dumps(BODY).encode()
    headers = {"Apikey": "k" * 40, "Content-Type": "application/json"}
    base = EnvironBuilder(path=path, method="POST", data=body, headers=headers).get_environ()

    def start_response(status: str, _headers: list, _exc: object = None) -> None:
        if not status.startswith("201"):
            raise SystemExit(f"{path}: {status}")

    def call(count: int) -> None:
        for _ in range(count):
            environ = dict(base)
            environ["wsgi.input"] = io.BytesIO(body)
            b"".join(app.wsgi_app(environ, start_response))

    return call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per batch (default 500)")
    parser.add_argument("--repeats", type=int, default=7, help="batches per app (default 7)")
    parser.add_argument("--profile", action="store_true", help="print the framework's cProfile, by own time")
    args = parser.parse_args(argv)
    with running_upstream() as upstream, tempfile.TemporaryDirectory(prefix="connector-bench-") as data_dir:
        calls = {name: caller(app, PATHS[name]) for name, app in apps(upstream, data_dir).items()}
        for call in calls.values():
            call(200)  # warm-up: connections, caches
        best = {name: float("inf") for name in calls}
        for _ in range(args.repeats):
            for name, call in calls.items():
                started = time.process_time()
                call(args.requests)
                best[name] = min(best[name], (time.process_time() - started) / args.requests * 1e6)
        print(
            f"# bench/request_cpu.py  {time.strftime('%Y-%m-%d %H:%M %Z')}  {os.cpu_count()} CPUs  "
            f"load average {os.getloadavg()[0]:.2f}  {args.repeats} x {args.requests} requests each"
        )
        for name, value in best.items():
            print(f"  {name:<9}  {value:6.0f} us CPU per CreateContact (best batch)")
        ratio = best["baseline"] / best["framework"]
        print(
            f"  baseline / framework: {ratio:.2f}x (the requests per second one core allows, framework over baseline)"
        )
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(calls["framework"], args.requests)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
