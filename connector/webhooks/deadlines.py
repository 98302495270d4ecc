"""A total deadline for one blocking HTTP exchange (connect, send, the whole answer).

Socket timeouts bound each read, not the exchange: a subscriber that answers one byte every few
seconds never trips a 10 s read timeout and can hold a delivery thread for minutes, or forever.
Here a single watchdog thread keeps the deadlines of the exchanges in flight and, when one
passes, shuts its socket down; the read blocked on it returns at once and the caller sees an
error it can attribute to the deadline (:attr:`Exchange.expired`).

The socket is found through urllib3's connection classes: a pool built with
:func:`enforce_deadlines` reports each connection's socket (new or reused from the pool) to the
exchange open in the current thread.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Exchange:
    """One exchange under a deadline; ``expired`` once the watchdog has cut it."""

    __slots__ = ("_lock", "deadline", "done", "expired", "sock")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.sock: socket.socket | None = None
        self.expired = self.done = False
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self.sock = sock
            if self.expired:  # connected just after the deadline: cut it now
                _shut(sock)

    def expire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.expired = True
            if self.sock is not None:
                _shut(self.sock)

    def detach(self) -> bool:
        """The exchange is over and its connection goes back to the pool: from now on the watchdog
        must not touch that socket, which another exchange may take. True if it ended in time."""
        with self._lock:
            self.sock, self.done = None, True
            return not self.expired

    def finish(self) -> bool:
        """End the exchange: the watchdog will not cut it now. True if it ended before its deadline."""
        with self._lock:
            self.done = True
            return not self.expired


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv/send on it
    except OSError:
        pass  # already closed


class Watchdog:
    """The thread that cuts exchanges past their deadline (one per process is enough)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Exchange]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextmanager
    def limit(self, seconds: float) -> Iterator[Exchange]:
        """Run the body as one exchange that is cut ``seconds`` from now."""
        exchange = Exchange(time.monotonic() + seconds)
        with self._wake:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="delivery-deadlines", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (exchange.deadline, next(self._order), exchange))
            if self._heap[0][2] is exchange:
                self._wake.notify()
        previous, _current.exchange = getattr(_current, "exchange", None), exchange
        try:
            yield exchange
        finally:
            exchange.finish()
            _current.exchange = previous

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                deadline, _, exchange = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
            exchange.expire()


WATCHDOG = Watchdog()


def _attach(sock: socket.socket | None) -> None:
    exchange = getattr(_current, "exchange", None)
    if exchange is not None:
        exchange.attach(sock)


class _ReportsSocket:
    """Mixin for urllib3 connections: tell the current exchange which socket it runs on."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        _attach(sock)
        return sock

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _attach(self.sock)  # type: ignore[attr-defined]  # the TLS socket replaces the raw one

    def request(self, *args: Any, **kwargs: Any) -> Any:
        _attach(self.sock)  # type: ignore[attr-defined]  # a connection reused from the pool
        return super().request(*args, **kwargs)  # type: ignore[misc]


class DeadlineHTTPConnection(_ReportsSocket, HTTPConnection):
    pass


class DeadlineHTTPSConnection(_ReportsSocket, HTTPSConnection):
    pass


class _DetachesOnReturn:
    """Mixin for urllib3 pools: a connection coming back (its answer read to the end) leaves the
    current exchange first; one whose exchange was already cut is closed instead of pooled."""

    def _put_conn(self, conn: Any) -> None:
        exchange = getattr(_current, "exchange", None)
        if conn is not None and exchange is not None and not exchange.detach():
            conn.close()
        super()._put_conn(conn)  # type: ignore[misc]


class DeadlineHTTPConnectionPool(_DetachesOnReturn, HTTPConnectionPool):
    ConnectionCls = DeadlineHTTPConnection


class DeadlineHTTPSConnectionPool(_DetachesOnReturn, HTTPSConnectionPool):
    ConnectionCls = DeadlineHTTPSConnection


def enforce_deadlines(session: requests.Session) -> requests.Session:
    """Make ``session``'s connection pools report their sockets to :meth:`Watchdog.limit`."""
    for adapter in session.adapters.values():
        manager = getattr(adapter, "poolmanager", None)
        if manager is not None:
            manager.pool_classes_by_scheme = {"http": DeadlineHTTPConnectionPool, "https": DeadlineHTTPSConnectionPool}
    return session
