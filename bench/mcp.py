"""Tool calls per second of CreateContact over MCP, next to the same action over plain HTTP.

    .venv/bin/python bench/mcp.py [--duration 8] [--connections 32] [--rounds 2] [--worker-class sync]

One run, one server: the framework under gunicorn (2 workers) against the fake E-goi upstream
(``bench/fake_upstream.py``), loaded alternately with wrk through ``POST /egoi/actions/create_contact``
and through ``POST /egoi/mcp`` with a ``tools/call`` of ``create_contact`` carrying the same
arguments (the 2026-07-28 revision: ``_meta`` envelope and mirrored headers). Both are checked
first (the fake contact id comes back, in ``structuredContent`` for MCP), then warmed up. The best
run of each is reported with the ratio (the goal: MCP at least 0.8 x HTTP). Figures only; no
assertion on time. Requires ``wrk``. Reuses the machinery of ``bench/throughput.py``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from throughput import (  # noqa: E402  (bench/ is on sys.path above)
    API_KEY,
    BODY,
    FAKE_CONTACT,
    HOST,
    PATH,
    WRK_SCRIPT,
    Bench,
    Run,
    best,
    clean_env,
    free_port,
    gunicorn,
    lua_string,
)

MCP_PATH = "/egoi/mcp"
VERSION = "2026-07-28"
CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {
        "name": "create_contact",
        "arguments": BODY,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": VERSION,
            "io.modelcontextprotocol/clientCapabilities": {},
        },
    },
}
MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": VERSION,
    "Mcp-Method": "tools/call",
    "Mcp-Name": "create_contact",
}


def mcp_script(counting_tail: str) -> str:
    text = WRK_SCRIPT.format(method="POST", body=lua_string(json.dumps(CALL)), api_key=API_KEY)
    text += "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in MCP_HEADERS.items())
    return text + counting_tail


def check(port: int) -> None:
    """One call each way: the fake contact id comes back (a tool error would still be HTTP 200)."""
    headers = {"Content-Type": "application/json", "Apikey": API_KEY}
    for path, body, extra in ((PATH, BODY, {}), (MCP_PATH, CALL, MCP_HEADERS)):
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        try:
            conn.request("POST", path, body=json.dumps(body), headers={**headers, **extra})
            response = conn.getresponse()
            answer = json.loads(response.read())
        finally:
            conn.close()
        result = answer.get("result", {}) if path == MCP_PATH else {}
        got = result.get("structuredContent", {}) if path == MCP_PATH else answer
        if got.get("contact_id") != FAKE_CONTACT or result.get("isError"):
            raise RuntimeError(f"{path}: unexpected answer {response.status} {answer}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8, help="seconds of load per run (default 8)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each path (default 2)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per path (default 3)")
    parser.add_argument("--retries", type=int, default=1, help="extra attempts of an unbalanced run (default 1)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (default sync)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install -y wrk)")
    print(f"# bench/mcp.py  gunicorn {args.worker_class}, 2 workers  wrk -c{args.connections} -d{args.duration:g}s")
    runs: dict[str, list[Run]] = {"http": [], "mcp": []}
    with tempfile.TemporaryDirectory(prefix="connector-bench-mcp-") as tmpdir:
        bench = Bench(args, Path(tmpdir))
        for counting in (False, True):
            path = bench.paths["mcp", counting] = Path(tmpdir) / f"mcp{'-counting' if counting else ''}.lua"
            tail = bench.paths["create", True].read_text().split(WRK_SCRIPT.format(
                method="POST", body=lua_string(json.dumps(BODY)), api_key=API_KEY), 1)[1] if counting else ""  # fmt: skip
            path.write_text(mcp_script(tail))
        try:
            up_port = free_port()
            upstream = bench.start(
                "upstream",
                gunicorn("fake_upstream:app", up_port, "gthread", workers=4, threads=2, chdir=BENCH, reuse_port=True),
                up_port,
                clean_env(),
            )
            env = clean_env(
                CONNECTOR_EGOI_API_URL=upstream.url,
                CONNECTOR_EGOI_TRANSACTIONAL_URL=upstream.url,
                CONNECTOR_RATE_LIMIT="100000000 per 1 second",
                CONNECTOR_LOG_LEVEL="WARNING",
                CONNECTOR_SANDBOX="false",
                CONNECTOR_DATA_DIR=str(Path(tmpdir) / "data"),
            )
            port = free_port()
            server = bench.start(
                "framework",
                gunicorn("connector.app:create_app()", port, args.worker_class, reuse_port=args.worker_class != "sync"),
                port,
                env,
                ready="/healthz",
            )
            check(port)
            targets = {"http": (PATH, "create"), "mcp": (MCP_PATH, "mcp")}
            for path, script in targets.values():
                bench.warm(server, path, script)
            order = list(targets)
            for _ in range(args.rounds):
                for name in order:
                    path, script = targets[name]
                    runs[name] += bench.measure(name, args.worker_class, server, path, script, {"upstream": upstream})
                order.reverse()
        finally:
            bench.stop_all()
    http_run, mcp_run = best(runs["http"]), best(runs["mcp"])
    print("\nBest run of each:")
    for label, run in (("HTTP action  ", http_run), ("MCP tools/call", mcp_run)):
        print(
            f"  {label} {run.rps:7.0f} calls/s  p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms  "
            f"app cpu {run.cpu_ms_per_request:.3f} ms/call"
        )
    print(f"  MCP / HTTP = {mcp_run.rps / http_run.rps:.2f} (goal >= 0.80)")
    # On a shared machine the CPU the app spends per call is steadier than calls per second.
    print(f"  by the app's CPU per call: MCP = {http_run.cpu_ms_per_request / mcp_run.cpu_ms_per_request:.2f} x HTTP")
    return 1 if any(r.errors for rs in runs.values() for r in rs) else 0


if __name__ == "__main__":
    sys.exit(main())
