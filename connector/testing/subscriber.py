"""A webhook subscriber on loopback for tests: records what it receives, answers as told (or, the
``Dribbler``, never finishes answering)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Subscriber:
    """``answers`` are popped one per request (status, extra headers); then ``default`` answers."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    default: int = 200
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)  # every request, answered or not
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            status, headers = self.answers.pop(0) if self.answers else (self.default, {})
            self.received.append(
                {
                    "headers": dict(request.headers),
                    "body": body,
                    "status": status,
                    "at": time.time(),
                    "url": request.url,
                }
            )
        return Response(b"ok", status=status, headers=headers)(environ, start_response)

    def delivered(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.received if 200 <= r["status"] < 300]


@contextmanager
def running_subscriber(**kwargs: Any) -> Iterator[Subscriber]:
    subscriber = Subscriber(**kwargs)
    server = make_server("127.0.0.1", 0, subscriber, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    subscriber.url = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        yield subscriber
    finally:
        server.shutdown()
        thread.join(5)


@dataclass
class Dribbler:
    """A subscriber that never finishes its answer: it reads the request, then sends its answer one
    byte every ``every`` seconds, in the headers (``phase="head"``), in one header line without a colon
    (``"line"``) or in the body (``"body"``).
    ``cut`` counts the connections the sender closed before the answer was complete."""

    phase: str = "head"
    every: float = 0.05
    length: int = 1_000_000  # bytes dribbled: long enough to last the whole test
    url: str = ""
    accepted: int = 0
    cut: int = 0
    finished: int = 0
    open: int = 0
    most_open: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, connection: socket.socket) -> None:
        with connection:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            while len(body) < length:
                body += connection.recv(65536)
            if self.phase == "line":  # a header line that never ends (no colon): EOF would look like its end
                connection.sendall(b"HTTP/1.1 200 OK\r\n")
                answer = b"a" * self.length
            elif self.phase == "head":
                answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * self.length + b"\r\nContent-Length: 0\r\n\r\n"
            else:
                answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % self.length + b"a" * self.length
                connection.sendall(answer[: answer.index(b"\r\n\r\n") + 4])
                answer = answer[answer.index(b"\r\n\r\n") + 4 :]
            try:
                for i in range(len(answer)):
                    connection.sendall(answer[i : i + 1])
                    time.sleep(self.every)
            except OSError:
                with self.lock:
                    self.cut += 1
                return
            with self.lock:
                self.finished += 1

    def track(self, connection: socket.socket) -> None:
        with self.lock:
            self.open += 1
            self.most_open = max(self.most_open, self.open)
        try:
            self.serve(connection)
        finally:
            with self.lock:
                self.open -= 1


@contextmanager
def running_dribbler(**kwargs: Any) -> Iterator[Dribbler]:
    dribbler = Dribbler(**kwargs)
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    listener.settimeout(0.1)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(None)
            with dribbler.lock:
                dribbler.accepted += 1
            threading.Thread(target=dribbler.track, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    dribbler.url = f"http://127.0.0.1:{listener.getsockname()[1]}/slow"
    try:
        yield dribbler
    finally:
        stop.set()
        thread.join(5)
        listener.close()
