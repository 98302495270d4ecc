"""A minimal, fast fake of E-goi's Marketing API for benchmarks: a plain WSGI function, no framework.

``POST /lists/<id>/contacts`` answers 201 ``{"contact_id":"0123456789"}``; anything else 404.
The request body is read (so keep-alive connections stay in sync) but not parsed.

Serve it with gunicorn's gthread worker, which keeps client connections alive (the sync worker
closes every connection, which would make the apps under test reconnect on every call)::

    .venv/bin/gunicorn --chdir bench -k gthread -w 4 --threads 2 --reuse-port -b 127.0.0.1:8901 fake_upstream:app

``bench/throughput.py`` starts it this way and measures it alone first, to show it is not the bottleneck
(about 12,800 req/s alone on the 2-core machine, against the ~1,500-1,900 the apps ask of it).
"""

from __future__ import annotations

CREATED = b'{"contact_id":"0123456789"}'
CREATED_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(CREATED)))]
NOT_FOUND = b'{"title":"Not Found"}'
NOT_FOUND_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(NOT_FOUND)))]


def _drain(environ: dict) -> None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        environ["wsgi.input"].read(length)


def _is_create_contact(method: str, path: str) -> bool:
    if method != "POST":
        return False
    parts = path.split("/")  # "", "lists", "<id>", "contacts"
    return len(parts) == 4 and parts[0] == "" and parts[1] == "lists" and parts[2].isdigit() and parts[3] == "contacts"


def app(environ: dict, start_response):  # type: ignore[no-untyped-def]
    _drain(environ)
    if _is_create_contact(environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")):
        start_response("201 Created", CREATED_HEADERS)
        return [CREATED]
    start_response("404 Not Found", NOT_FOUND_HEADERS)
    return [NOT_FOUND]
