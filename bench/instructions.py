"""Instructions per CreateContact, framework and baseline, counted by valgrind's callgrind.

    .venv/bin/python bench/instructions.py [--requests 300] [--apps framework,baseline]

CPU time moves with whatever else the machine runs; the number of instructions a call executes
does not. For each app this runs, under ``valgrind --tool=callgrind``, the same in-process caller
as ``bench/request_cpu.py`` (WSGI call, real HTTP to ``bench/fake_upstream.py``) twice: warm-up
only, then warm-up plus ``--requests`` calls, and prints the difference per call. Instructions
leave out system calls and cache misses, so compare them with each other, not with time. About a
minute per app under valgrind. Requires ``valgrind`` (``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for path in (str(ROOT), str(BENCH)):
    if path not in sys.path:
        sys.path.insert(0, path)

WARM_UP = 200


def run_calls(app: str, upstream: str, count: int) -> None:
    """What runs under valgrind: build both apps, warm one up, then make ``count`` calls."""
    import request_cpu

    with tempfile.TemporaryDirectory(prefix="connector-bench-") as data_dir:
        call = request_cpu.caller(request_cpu.apps(upstream, data_dir)[app], request_cpu.PATHS[app])
        call(WARM_UP)
        call(count)


def instructions(app: str, upstream: str, count: int) -> int:
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__]
    argv += ["--run", app, "--upstream", upstream, "--requests", str(count)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="calls counted per app (default 300)")
    parser.add_argument("--apps", default="framework,baseline", help="which apps (default framework,baseline)")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # the process valgrind runs
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        run_calls(args.run, args.upstream, args.requests)
        return 0
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt-get install -y valgrind)")
    import request_cpu

    with request_cpu.running_upstream() as url:
        print(f"# bench/instructions.py  {args.requests} calls per app after {WARM_UP} warm-up calls")
        for app in [a.strip() for a in args.apps.split(",") if a.strip()]:
            per_call = (instructions(app, url, args.requests) - instructions(app, url, 0)) / args.requests
            print(f"  {app:<9}  {per_call / 1e6:6.2f} M instructions per CreateContact", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
