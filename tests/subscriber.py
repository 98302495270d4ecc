"""A webhook subscriber on loopback for tests: records what it receives, answers as told."""

from __future__ import annotations

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
            self.received.append({"headers": dict(request.headers), "body": body, "status": status, "at": time.time()})
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
