"""`connector serve` in a subprocess, for tests that must meet gunicorn itself over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import requests

from connector.testing.network import free_port

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Served:
    url: str
    port: int
    data_dir: Path
    stdout: Path
    stderr: Path

    def logs(self) -> str:
        """Everything the service logged so far (access log on stdout, the rest on stderr)."""
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group, SIGKILL after 15 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def running_server(
    argv: list[str], env: Mapping[str, str], ready_url: str, stdout: Path, stderr: Path | None = None
) -> Iterator[subprocess.Popen]:
    """``argv`` in its own process group, logging to files, yielded once ``ready_url`` answers 200
    (or failing with its logs); stopped with SIGTERM at the end."""
    with stdout.open("wb") as out, stderr.open("wb") if stderr else nullcontext(subprocess.STDOUT) as err:
        process = subprocess.Popen(argv, cwd=ROOT, env=dict(env), stdout=out, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(ready_url, timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or busy starting
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                logs = stdout.read_text(errors="replace") + (stderr.read_text(errors="replace") if stderr else "")
                raise RuntimeError(f"{argv[2:4]} did not start: {logs[-3000:]}")
            time.sleep(0.1)
        yield process
    finally:
        stop(process)


@contextmanager
def connector_serve(
    directory: Path, env: Mapping[str, str] | None = None, args: tuple[str, ...] = ()
) -> Iterator[Served]:
    """``python -m connector.cli serve --sandbox`` with its own data directory and HOME, up and
    ready; its logs go to files in ``directory``, and it is stopped with SIGTERM at the end."""
    port = free_port()
    data_dir = directory / "data"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    environ.pop("XDG_RUNTIME_DIR", None)
    environ.update({"HOME": str(directory), "CONNECTOR_DATA_DIR": str(data_dir), **(env or {})})
    stdout, stderr = directory / "stdout.log", directory / "stderr.log"
    served = Served(f"http://127.0.0.1:{port}", port, data_dir, stdout, stderr)
    argv = [sys.executable, "-m", "connector.cli", "serve", "--sandbox", "--port", str(port), *args]
    with running_server(argv, environ, f"{served.url}/readyz", stdout, stderr):
        yield served


def exchange(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, read the answer until the server closes (or stops sending)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered before reading everything: its answer is still there
        received = bytearray()
        try:
            while chunk := sock.recv(65536):
                received.extend(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
        return bytes(received)
