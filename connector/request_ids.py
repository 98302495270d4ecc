"""A request id on every request: the caller's ``X-Request-Id`` when it is safe to log, else a new
one; returned in the response and carried by the request's log lines (the JSON access line, and
any line logged while the request is served), so a caller's report and the logs meet.

A caller's id is kept only if it is 1 to 128 characters of letters, digits and ``._:=+-`` (UUIDs,
W3C trace ids, AWS's ``Root=1-...`` ids): anything else (spaces, quotes, control characters, a
URL) could forge or break a log line, so it is replaced rather than echoed.
"""

from __future__ import annotations

import random
import re

from flask import Flask, Response, has_request_context, request

HEADER = "X-Request-Id"
ENVIRON_KEY = "connector.request_id"  # where the id is kept in the WSGI environ (gunicorn's access log reads it)
MAX_LENGTH = 128
VALID = re.compile(rf"[A-Za-z0-9._:=+-]{{1,{MAX_LENGTH}}}", re.ASCII)


def new_request_id() -> str:
    """128 random bits as 32 hex digits. An id only has to be unique, not secret, so it comes from
    ``random`` (reseeded in every forked worker) rather than a system call per request."""
    return f"{random.getrandbits(128):032x}"


def request_id_of(value: str | None) -> str:
    """The caller's id if it is safe to log and echo, else a new one."""
    if value and VALID.fullmatch(value):
        return value
    return new_request_id()


def current_request_id() -> str | None:
    """The id of the request being served in this thread, if any (for log records)."""
    if not has_request_context():
        return None
    return request.environ.get(ENVIRON_KEY)


def install(app: Flask) -> None:
    """Give each request its id first thing, and return it on every answer, errors included."""

    def take_request_id() -> None:
        environ = request._get_current_object().environ  # the proxy resolved once
        environ[ENVIRON_KEY] = request_id_of(environ.get("HTTP_X_REQUEST_ID"))

    def return_request_id(response: Response) -> Response:
        environ = request._get_current_object().environ
        request_id = environ.get(ENVIRON_KEY)
        if request_id is None:  # a before_request hook ahead of ours answered or failed
            request_id = environ[ENVIRON_KEY] = new_request_id()
        response.headers[HEADER] = request_id
        return response

    app.before_request_funcs.setdefault(None, []).insert(0, take_request_id)
    app.after_request(return_request_id)
