"""The service's HTTP edges, met over real HTTP against `connector serve` (gunicorn):

- a body over ``CONNECTOR_MAX_BODY_BYTES`` is refused with 413 whether or not it has a
  Content-Length, JSON or form, and nothing is done (Werkzeug alone stops reading a chunked
  body at the limit and hands on what it read as if it were all);
- what gunicorn refuses before the application sees it (request line, header size, malformed
  headers) is answered in problem+json too.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator

import pytest
import requests
from flask import Flask
from serving import Served, connector_serve, exchange
from werkzeug.serving import make_server

from connector.errors import register_error_handlers
from connector.runtime import read_body

LIMIT = 1000
KEY = {"Apikey": "edges"}


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("edges")
    with connector_serve(directory, {"CONNECTOR_MAX_BODY_BYTES": str(LIMIT), "CONNECTOR_WORKER": "off"}) as served:
        yield served


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body[: int(headers.get("content-length", len(body)))]


def problem(raw: bytes, status: int) -> dict:
    code, headers, body = parse(raw)
    assert code == status, raw[:500]
    assert headers["content-type"] == "application/problem+json", raw[:500]
    document = json.loads(body)
    assert document["status"] == status
    assert {"type", "title", "detail"} <= set(document)
    return document


def chunked(body: bytes, size: int = 100) -> bytes:
    pieces = (body[i : i + size] for i in range(0, len(body), size))
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def post(path: str, content_type: str, body: bytes, *, chunks: bool) -> bytes:
    framing = b"Transfer-Encoding: chunked\r\n" if chunks else b"Content-Length: %d\r\n" % len(body)
    return (
        b"POST %s HTTP/1.1\r\nHost: test\r\nApikey: edges\r\nConnection: close\r\nContent-Type: %s\r\n%s\r\n"
        % (path.encode(), content_type.encode(), framing)
    ) + (chunked(body) if chunks else body)


def contacts(served: Served) -> list[dict]:
    answer = requests.get(f"{served.url}/egoi/lookups/contacts", params={"list_id": 1}, headers=KEY, timeout=10)
    return answer.json()["items"]


def form_of_size(size: int, email: str) -> bytes:
    """Padding between the fields is empty pairs (``&&&``), which parsers skip, so no field grows
    past its maxLength; ``last_name`` comes last, where a cut would drop it."""
    head = f"list_id=1&email={email.replace('@', '%40')}&first_name=Ana".encode()
    tail = b"&last_name=Tail"
    return head + b"&" * (size - len(head) - len(tail)) + tail


def multipart_of_size(size: int, email: str) -> tuple[str, bytes]:
    """Padding is an attached file, which the actions ignore; ``last_name`` comes last."""
    boundary = "edgeboundary"

    def part(name: str, value: str, filename: str | None = None) -> str:
        file = f'; filename="{filename}"' if filename else ""
        return f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{file}\r\n\r\n{value}\r\n'

    head = part("list_id", "1") + part("email", email) + part("first_name", "Ana")
    tail = part("last_name", "Tail") + f"--{boundary}--\r\n"
    filler = size - len((head + part("padding", "", "pad.txt") + tail).encode())
    body = (head + part("padding", "a" * filler, "pad.txt") + tail).encode()
    assert len(body) == size
    return f"multipart/form-data; boundary={boundary}", body


def json_of_size(size: int, email: str) -> bytes:
    body = json.dumps({"list_id": 1, "email": email, "first_name": "Ana", "last_name": "Tail"}).encode()
    return body + b" " * (size - len(body))  # white space keeps it valid JSON of the exact size


BODIES = {
    "urlencoded": lambda size, email: ("application/x-www-form-urlencoded", form_of_size(size, email)),
    "multipart": multipart_of_size,
    "json": lambda size, email: ("application/json", json_of_size(size, email)),
}


@pytest.mark.parametrize("chunks", [True, False], ids=["chunked", "content-length"])
@pytest.mark.parametrize("kind", list(BODIES))
def test_a_body_over_the_limit_is_413_and_nothing_is_done(served, kind, chunks):
    email = f"over-{kind}-{chunks}@example.com"
    content_type, body = BODIES[kind](LIMIT + 200, email)
    raw = exchange(served.port, post("/egoi/actions/create_contact", content_type, body, chunks=chunks))
    assert str(LIMIT) in problem(raw, 413)["detail"]
    assert email not in [c.get("email") for c in contacts(served)]


@pytest.mark.parametrize("kind", list(BODIES))
def test_a_chunked_body_of_exactly_the_limit_is_read_whole(served, kind):
    email = f"exact-{kind}@example.com"
    content_type, body = BODIES[kind](LIMIT, email)
    code, _, answer = parse(
        exchange(served.port, post("/egoi/actions/create_contact", content_type, body, chunks=True))
    )
    assert code == 201, answer
    created = [c for c in contacts(served) if c.get("email") == email]
    assert len(created) == 1
    assert (created[0]["first_name"], created[0]["last_name"]) == ("Ana", "Tail")  # nothing cut off


def test_a_chunked_body_one_byte_over_the_limit_is_413(served):
    raw = exchange(
        served.port,
        post("/egoi/actions/create_contact", "application/json", json_of_size(LIMIT + 1, "x@example.com"), chunks=True),
    )
    problem(raw, 413)


def test_a_long_chunked_stream_is_refused_and_the_client_reads_the_answer(served):
    body = b"first_name=" + b"a" * (3 * 1024 * 1024)
    raw = exchange(
        served.port, post("/egoi/actions/create_contact", "application/x-www-form-urlencoded", body, chunks=True)
    )
    problem(raw, 413)


def test_malformed_chunks_are_a_client_error(served):
    request = (
        b"POST /egoi/actions/create_contact HTTP/1.1\r\nHost: test\r\nApikey: edges\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    )
    code, headers, _ = parse(exchange(served.port, request))
    assert code == 400
    assert headers["content-type"] == "application/problem+json"


def test_a_query_string_over_the_request_line_limit_is_414_problem(served):
    raw = exchange(
        served.port,
        b"GET /egoi/lookups/contacts?list_id=1&q="
        + b"a" * 9 * 1024
        + b" HTTP/1.1\r\nHost: test\r\nApikey: edges\r\n\r\n",
    )
    assert "8190" in problem(raw, 414)["detail"]


def test_a_query_string_of_6_kb_reaches_the_application(served):
    """gunicorn's default request line limit (4094) would refuse it; the service raises it to 8190."""
    answer = requests.get(
        f"{served.url}/egoi/lookups/contacts", params={"list_id": 1, "q": "a" * 6 * 1024}, headers=KEY, timeout=10
    )
    assert answer.status_code != 414
    assert answer.status_code < 500


def test_a_header_value_with_a_control_character_is_400_problem(served):
    raw = exchange(served.port, b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Note: a\x01b\r\n\r\n")
    problem(raw, 400)


def test_an_over_long_header_is_431_problem(served):
    raw = exchange(served.port, b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Note: " + b"a" * 9 * 1024 + b"\r\n\r\n")
    assert "8190" in problem(raw, 431)["detail"]


def test_a_malformed_request_line_is_400_problem(served):
    problem(exchange(served.port, b"GET /healthz?sig=SECRET HTTP/1.1 extra\r\nHost: test\r\n\r\n"), 400)


def test_gunicorn_logs_mask_query_strings(served):
    """The error log (a malformed request line quoted whole) and the access log both."""
    exchange(served.port, b"GET /egoi/docs?sig=SECRET1 HTTP/1.1 junk\r\nHost: test\r\n\r\n")
    requests.get(f"{served.url}/egoi/docs", params={"sig": "SECRET2"}, timeout=10)
    requests.get(f"{served.url}/healthz", timeout=10)  # the access log line of the one before is written by now
    logs = served.logs()
    assert "/egoi/docs?***" in logs
    assert "SECRET" not in logs


# read_body under another WSGI server: Werkzeug's own, which also ends chunked bodies itself


@pytest.fixture(scope="module")
def echo_server() -> Iterator[int]:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 10
    register_error_handlers(app)
    app.add_url_rule("/echo", "echo", lambda: read_body(), methods=["POST"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()


@pytest.mark.parametrize("chunks", [True, False], ids=["chunked", "content-length"])
def test_read_body_under_werkzeug(echo_server, chunks):
    def send(body: bytes) -> tuple[int, bytes]:
        framing = b"Transfer-Encoding: chunked\r\n" if chunks else b"Content-Length: %d\r\n" % len(body)
        request = b"POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + framing + b"\r\n"
        code, _, answer = parse(exchange(echo_server, request + (chunked(body, 3) if chunks else body)))
        return code, answer

    assert send(b"0123456789") == (200, b"0123456789")
    code, answer = send(b"0123456789X")
    assert code == 413
    assert json.load(io.BytesIO(answer))["status"] == 413


def test_a_chunked_body_a_server_does_not_end_is_411_not_an_empty_input():
    """Under a WSGI server that passes a chunked body on without ``wsgi.input_terminated``, the
    body cannot be read safely: 411 asks for a Content-Length instead of acting on no input."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    app = Flask(__name__)
    register_error_handlers(app)
    app.add_url_rule("/echo", "echo", lambda: {"read": len(read_body())}, methods=["POST"])
    environ = EnvironBuilder(
        path="/echo", method="POST", headers={"Transfer-Encoding": "chunked"}, input_stream=io.BytesIO(b"{}")
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.pop("wsgi.input_terminated", None)
    body, status, headers = run_wsgi_app(app, environ)
    assert status.startswith("411")
    assert headers["Content-Type"] == "application/problem+json"
    assert "Content-Length" in json.loads(b"".join(body))["detail"]
