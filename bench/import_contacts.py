"""A sandbox import of 10,000 contacts with ``connector import``: how long it takes, and how many calls
reach the service and the (emulated) upstream.

    .venv/bin/python bench/import_contacts.py [--rows 10000] [--batch-size 1000] [--bad 0]

It starts ``connector serve --sandbox`` on a free port (its own data directory), writes a CSV of
``--rows`` distinct contacts (every tenth with a birth date and a cellphone; ``--bad`` of them with an
impossible date, to show the rejects' cost), runs ``connector import`` as a person would, in a
subprocess, timed from start to exit (the vendor's import finished: the importer waits for it), then
reads the sandbox's counters: upstream calls answered (``/egoi/_sandbox/requests``) and the imports
it received with their reports (``/egoi/_sandbox/imports``). Then it runs the same command again,
to time a re-run that has nothing left to send.

This prints figures; it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from connector.testing.network import free_port

ROOT = Path(__file__).resolve().parent.parent


def write_csv(path: Path, rows: int, bad: int) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "first_name", "last_name", "cellphone", "birth_date"])
        for i in range(rows):
            date = "1990-02-30" if i < bad else (f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}" if i % 10 == 0 else "")
            phone = f"351-91{i:07d}" if i % 10 == 0 else ""
            writer.writerow([f"bench{i}@example.com", f"Name{i}", "Bench", phone, date])


def serve(directory: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env.update(HOME=str(directory), CONNECTOR_DATA_DIR=str(directory / "data"))
    log = (directory / "serve.log").open("wb")
    argv = [sys.executable, "-m", "connector.cli", "serve", "--sandbox", "--port", str(port)]
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"connector serve did not start: {(directory / 'serve.log').read_text()[-2000:]}")


def run_import(url: str, path: Path, batch_size: int) -> tuple[float, str]:
    argv = [sys.executable, "-m", "connector.cli", "import", str(path), "--connector", "egoi", "--list", "1"]
    argv += ["--url", url, "--batch-size", str(batch_size)]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env={**os.environ, "EGOI_API_KEY": "bench"}, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"connector import failed ({done.returncode}): {done.stdout}{done.stderr}")
    return elapsed, done.stdout.strip()


def validation_time(path: Path, batch_size: int) -> float:
    """The importer's own work before its first call (read, map, validate, plan), in this process."""
    from connector.bulk.importer import Request, prepare
    from connector.registry import discover

    catalog = discover("egoi")[0]
    started = time.perf_counter()
    prepare(Request(path, catalog, list_value="1", batch_size=batch_size))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--bad", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        directory = Path(tmp)
        path = directory / "contacts.csv"
        write_csv(path, args.rows, args.bad)
        checking = validation_time(path, args.batch_size)
        process, url = serve(directory)
        try:
            before = requests.get(f"{url}/egoi/_sandbox/requests", timeout=5).json()
            elapsed, output = run_import(url, path, args.batch_size)
            after = requests.get(f"{url}/egoi/_sandbox/requests", timeout=5).json()
            imports = requests.get(f"{url}/egoi/_sandbox/imports", timeout=5).json()
            again, output_again = run_import(url, path, args.batch_size)
            last = requests.get(f"{url}/egoi/_sandbox/requests", timeout=5).json()
        finally:
            process.terminate()
            process.wait(timeout=15)
    upstream = after["marketing"] - before["marketing"]
    bulk = len(imports)
    received = sum(item["contacts"] for item in imports)
    imported = sum(item["report"]["imported"] for item in imports if item["report"])
    print(f"rows: {args.rows} ({args.bad} invalid), batch size {args.batch_size}")
    print(
        f"connector import: {elapsed:.2f} s wall, from start to the vendor's import finished ({args.rows / elapsed:,.0f} rows/s)"
    )
    print(f"  {output}".replace("\n", "\n  "))
    print(f"  of which reading and validating every row before the first call: {checking:.2f} s")
    print(
        f"upstream calls: {upstream} ({bulk} import-bulk, {upstream - bulk} status look-ups); "
        f"{received} contacts received, {imported} imported ({received / max(bulk, 1):,.0f} per import call)"
    )
    print(
        f"re-run: {again:.2f} s, {last['marketing'] - after['marketing']} upstream calls "
        f"(the status look-up only: nothing sent again)"
    )
    print(f"  {output_again}".replace("\n", "\n  "))


if __name__ == "__main__":
    main()
