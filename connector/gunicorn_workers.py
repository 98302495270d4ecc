"""gunicorn workers whose own error answers are ``application/problem+json`` like the app's.

gunicorn answers a request it cannot parse (request line over ``limit_request_line``, a header
over ``limit_request_field_size``, a control character in a header value, broken chunks) itself,
before the application sees it, with an HTML page. These workers keep gunicorn's classification,
warning and access-log line, and only change what is written to the client.

``connector serve`` uses them; with plain gunicorn::

    gunicorn -k connector.gunicorn_workers.ProblemThreadWorker --threads 8 \\
        --logger-class connector.accesslog.RedactingLogger 'connector.app:create_app()'
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from gunicorn import util
from gunicorn.http.errors import ParseException
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

from connector.accesslog import scrub
from connector.errors import Problem
from connector.jsonio import PROBLEM_JSON


class _Capture:
    """Stands in for the client socket while gunicorn writes its HTML error, to learn the status
    gunicorn chose without repeating its table of parse errors (which grows between releases)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def gettimeout(self) -> float:
        return 0.0

    def setblocking(self, _flag: bool) -> None:
        pass

    def send(self, data: bytes) -> int:
        self.data.extend(data)
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.data.extend(data)

    def status(self) -> int | None:
        """The status code of the first line gunicorn wrote (``HTTP/1.1 414 URI Too Long``)."""
        parts = bytes(self.data).split(b"\r\n", 1)[0].split(b" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def problem_detail(status: int, exc: BaseException, cfg: Any) -> str:
    """What the caller can do about it, naming the configured limit where one was hit."""
    if status == 414:
        return (
            f"The request line (method, path and query string) is longer than {cfg.limit_request_line} bytes. "
            "Send long values in a POST body."
        )
    if status == 431:
        return (
            f"A header field is longer than {cfg.limit_request_field_size} bytes, "
            f"or the request has more than {cfg.limit_request_fields} header fields."
        )
    if status >= 500 and not isinstance(exc, ParseException):
        return "An unexpected error occurred. It has been logged."
    text = scrub(str(exc))
    text = "".join(c if c.isprintable() else "?" for c in text)[:300]
    return f"The request is not valid HTTP/1.1: {text}"


def problem_bytes(status: int, detail: str) -> bytes:
    """A complete HTTP/1.1 answer carrying the problem; the connection is closed after it."""
    body = orjson.dumps(Problem(status, detail).to_dict())
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {PROBLEM_JSON}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class ProblemErrors:
    """Mixin for a gunicorn worker: the same errors, answered as problem+json."""

    cfg: Any
    log: Any

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        capture = _Capture()
        super().handle_error(req, capture, addr, exc)  # type: ignore[misc]  # logs and writes the access line
        status = capture.status() or (400 if isinstance(exc, ParseException) else 500)
        try:
            util.write_nonblock(client, problem_bytes(status, problem_detail(status, exc, self.cfg)))
        except Exception:
            self.log.debug("Failed to send error message.")


class ProblemSyncWorker(ProblemErrors, SyncWorker):
    """gunicorn's ``sync`` worker with problem+json error answers."""


class ProblemThreadWorker(ProblemErrors, ThreadWorker):
    """gunicorn's ``gthread`` worker with problem+json error answers."""
