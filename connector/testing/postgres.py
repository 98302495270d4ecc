"""A private PostgreSQL server started from the system's binaries (Debian's
``/usr/lib/postgresql/<version>/bin``, or ``initdb`` on ``PATH``), for tests and benchmarks that need
a real PostgreSQL without an installed service: its own directory, port and socket, removed afterwards."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from connector.testing.network import free_port


class PostgresMissing(RuntimeError):
    """No PostgreSQL binaries on this machine (Debian: ``apt-get install postgresql``)."""


@dataclass(frozen=True)
class PrivateServer:
    url: str  # SQLAlchemy URL of the server's ``postgres`` database
    version: str  # what ``postgres --version`` says, and how durable the server is
    log: str  # the server's log file (gone once the server is stopped)


def binaries() -> str | None:
    """The directory of ``initdb``, ``pg_ctl`` and ``postgres``; the newest Debian version first."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _as_postgres_user() -> list[str]:
    """initdb refuses to run as root: run the server as the ``postgres`` system user then."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "running as root needs the postgres system user (installed with Debian's postgresql)"
        ) from None
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def private_postgres(*, durable: bool = False, host: str = "127.0.0.1") -> Iterator[PrivateServer]:
    """A server on a free port of ``host``, stopped and deleted on exit. ``durable`` keeps fsync and
    synchronous commits on (what a benchmark of a real deployment measures); tests leave it off."""
    directory_of_binaries = binaries()
    if directory_of_binaries is None:
        raise PostgresMissing("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    prefix = _as_postgres_user()
    directory = tempfile.mkdtemp(prefix="connector-pg-")
    if prefix:
        shutil.chown(directory, "postgres", "postgres")
    data, log, port = os.path.join(directory, "data"), os.path.join(directory, "log"), free_port(host)

    def run(*args: str) -> str:
        return subprocess.run([*prefix, *args], check=True, capture_output=True, text=True).stdout

    try:
        run(f"{directory_of_binaries}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {directory} -c listen_addresses={host} -c max_connections=200"
        options += " -c fsync=on -c synchronous_commit=on" if durable else " -c fsync=off"
        run(f"{directory_of_binaries}/pg_ctl", "-D", data, "-l", log, "-w", "-o", options, "start")
        _wait_for(host, port)
        version = run(f"{directory_of_binaries}/postgres", "--version").strip()
        version += ", fsync=on, synchronous_commit=on" if durable else ", fsync=off"
        yield PrivateServer(f"postgresql+psycopg://postgres@{host}:{port}/postgres", version, log)
    finally:
        stop = [*prefix, f"{directory_of_binaries}/pg_ctl", "-D", data, "-m", "immediate", "stop"]
        subprocess.run(stop, capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for(host: str, port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
