"""Cold start: from interpreter start to a service that can answer (target: <= 0.45 s).

    .venv/bin/python bench/cold_start.py [--repeat 5]

Each measurement is a fresh ``python`` subprocess (run from the repository root, no sandbox,
upstream URLs on 127.0.0.1 though nothing is contacted at start-up). Reported, min and median:

* milestones inside one process, timed from just before the parent spawns it (so they include
  exec and interpreter start-up): interpreter ready; ``import connector.app`` done;
  ``create_app()`` done (it discovers the catalogs, builds schemas and sessions, and generates
  and encodes every spec); then, in the same process, both specs (Swagger 2.0 and OpenAPI 3) plus
  apiProperties of every connector built once more, which is what spec generation alone costs;
* the total wall time of ``python -c "from connector.app import create_app; create_app()"``;
* the wall time of ``python -c pass``: the interpreter alone, for reference.

Two modes: as the environment is (here ``PYTHONDONTWRITEBYTECODE=1`` is set, so the project's own
modules, which have no ``__pycache__``, are compiled from source at every start), and with a
bytecode cache, as an installed service has (``PYTHONPYCACHEPREFIX`` in a temporary directory,
filled by one untimed run first; nothing is written into the repository).

This prints figures; it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 0.45

# Runs in the child. argv[1] is the parent's time.monotonic() just before spawning (CLOCK_MONOTONIC
# is system-wide on Linux, so the two processes' readings compare).
MILESTONES = """
import json, sys, time
spawned = float(sys.argv[1])
marks = {"interpreter ready": time.monotonic()}
from connector.app import create_app
marks["import connector.app"] = time.monotonic()
app = create_app()
marks["create_app() (includes specs)"] = time.monotonic()
from connector.config import Settings
from connector.registry import discover
from connector.spec.documents import Documents
settings = Settings.load()
catalogs = discover(settings.catalogs)
before = time.monotonic()
for catalog in catalogs:
    Documents.build(catalog, settings.public_url)
specs = time.monotonic() - before
out = {name: t - spawned for name, t in marks.items()}
out["specs of every connector, alone"] = specs
out["connectors"] = len(catalogs)
print(json.dumps(out))
"""

CREATE_APP = "from connector.app import create_app; create_app()"


def child_env(bytecode_cache: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("CONNECTOR_")}
    env.update(
        CONNECTOR_SANDBOX="false",
        CONNECTOR_EGOI_API_URL="http://127.0.0.1:9",
        CONNECTOR_EGOI_TRANSACTIONAL_URL="http://127.0.0.1:9",
        CONNECTOR_LOG_LEVEL="WARNING",
    )
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = bytecode_cache
    return env


def run(code: str, env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}):\n{done.stderr}")
    return wall, done.stdout


def measure(repeat: int, env: dict[str, str]) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    for _ in range(repeat):  # interleaved, so drift on the machine spreads over all figures
        spawned = time.monotonic()
        _, out = run(MILESTONES, env, repr(spawned))
        for name, value in json.loads(out).items():
            if name != "connectors":
                results.setdefault(name, []).append(value)
        wall, _ = run(CREATE_APP, env)
        results.setdefault(f'total: python -c "{CREATE_APP}"', []).append(wall)
        wall, _ = run("pass", env)
        results.setdefault('reference: python -c "pass"', []).append(wall)
    return results


def report(title: str, results: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    width = max(map(len, results))
    print(f"  {'':<{width}}  {'min':>7}  {'median':>7}  all (s)")
    for name, values in results.items():
        print(
            f"  {name:<{width}}  {min(values):7.3f}  {statistics.median(values):7.3f}  "
            + " ".join(f"{v:.3f}" for v in values)
        )
    total = next(v for k, v in results.items() if k.startswith("total"))
    print(f"  target: total <= {TARGET_S} s; median {statistics.median(total):.3f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per figure (default 5)")
    args = parser.parse_args(argv)
    _, out = run(MILESTONES, child_env(None), repr(time.monotonic()))
    print(
        f"# bench/cold_start.py  {time.strftime('%Y-%m-%d %H:%M %Z')}  {platform.node()}  {os.cpu_count()} CPUs  "
        f"Python {platform.python_version()}  {json.loads(out)['connectors']} connector(s)  repeat {args.repeat}  "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    as_is = "set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "not set"
    report(f"As the environment is (PYTHONDONTWRITEBYTECODE {as_is}):", measure(args.repeat, child_env(None)))
    with tempfile.TemporaryDirectory(prefix="connector-pycache-") as cache:
        run(MILESTONES, child_env(cache), repr(time.monotonic()))  # fills the cache, untimed
        report(
            "With a bytecode cache (PYTHONPYCACHEPREFIX, filled by one untimed run):",
            measure(args.repeat, child_env(cache)),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
