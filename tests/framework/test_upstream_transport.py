"""The upstream transport over real HTTP, against a raw socket server written here: what goes on
the wire, pooled connections reused (and rebuilt after the adapter is closed), and answers that
break off or stall in their body mapped to our problems rather than escaping as a 500."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from connector.errors import Problem
from connector.upstream import ServiceAdapter, UpstreamService, UpstreamSettings, build_session

SETTINGS = UpstreamSettings(connect_timeout=2.0, read_timeout=0.5, write_timeout=0.5, retries=0, backoff=0.0)

Answer = Callable[[socket.socket, bytes], bool]  # writes an answer to one request; False closes the connection


def read_request(conn: socket.socket, buffer: bytearray) -> bytes | None:
    """One whole request (head and Content-Length body) from the connection, or None at its end."""
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:  # the client went away mid-body
            return None
        rest += chunk
    buffer[:] = rest[length:]
    return head + b"\r\n\r\n" + rest[:length]


class Upstream:
    """A threaded TCP server answering each request with ``answer``; it records every request
    and the number of the connection it came on."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[tuple[int, bytes]] = []
        self.connections = 0
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer.connections += 1
                number = outer.connections
                buffer = bytearray()
                while (raw := read_request(self.request, buffer)) is not None:
                    outer.requests.append((number, raw))
                    if not outer.answer(self.request, raw):
                        return

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def json_answer(body: bytes = b'{"id": 7}', status: str = "200 OK") -> Answer:
    def answer(conn: socket.socket, _raw: bytes) -> bool:
        head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        conn.sendall(head.encode() + body)
        return True

    return answer


@pytest.fixture
def upstream() -> Iterator[Callable[[Answer], Upstream]]:
    started: list[Upstream] = []

    def start(answer: Answer) -> Upstream:
        started.append(Upstream(answer))
        return started[-1]

    yield start
    for server in started:
        server.close()


def service_at(url: str, settings: UpstreamSettings = SETTINGS) -> UpstreamService:
    return UpstreamService(
        name="Acme API", base_url=url, auth_header="X-Acme-Key", session=build_session(settings), config=settings
    )


def test_a_call_sends_exactly_the_method_path_credential_and_json_body(upstream):
    server = upstream(json_answer())
    assert service_at(server.url).bind("secret-key").post("/items/3?x=1", json={"name": "Ana"}) == {"id": 7}
    ((_, raw),) = server.requests
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode().split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    assert request_line == "POST /items/3?x=1 HTTP/1.1"
    assert body == b'{"name":"Ana"}'
    assert headers["x-acme-key"] == "secret-key"
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == str(len(body))


def test_a_cookie_set_by_an_answer_is_never_sent_with_a_later_call(upstream):
    def set_cookie(conn: socket.socket, _raw: bytes) -> bool:
        body = b'{"id": 7}'
        head = f"HTTP/1.1 200 OK\r\nSet-Cookie: session=for-key-a; Path=/\r\nContent-Length: {len(body)}\r\n\r\n"
        conn.sendall(head.encode() + body)
        return True

    server = upstream(set_cookie)
    service = service_at(server.url)
    service.bind("key-a").get("/items")
    service.bind("key-b").get("/items")
    assert len(server.requests) == 2
    assert all(b"\r\ncookie:" not in raw.lower() for _, raw in server.requests)


def test_calls_reuse_one_pooled_connection_and_get_a_new_pool_after_close(upstream):
    server = upstream(json_answer())
    service = service_at(server.url)
    call = service.bind("k")
    for _ in range(3):
        assert call.get("/items", params={"q": "a b"}) == {"id": 7}
    assert [number for number, _ in server.requests] == [1, 1, 1]
    assert server.requests[0][1].startswith(b"GET /items?q=a+b HTTP/1.1\r\n")
    assert isinstance(service.adapter, ServiceAdapter)
    service.adapter.close()  # closes its pools: the next call opens a fresh one rather than failing
    assert call.get("/items") == {"id": 7}
    assert [number for number, _ in server.requests] == [1, 1, 1, 2]


def test_an_answer_that_stalls_in_its_body_is_a_504_not_a_500(upstream):
    def stall(conn: socket.socket, _raw: bytes) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{")
        time.sleep(2)  # past the read timeout (0.5 s) with 39 bytes still to come
        return False

    server = upstream(stall)
    started = time.monotonic()
    with pytest.raises(Problem) as raised:
        service_at(server.url).bind("k").get("/slow")
    assert (raised.value.status, raised.value.detail) == (504, "Acme API did not answer in time.")
    assert time.monotonic() - started < 1.8


def test_an_answer_cut_short_in_its_body_is_a_502(upstream):
    def cut(conn: socket.socket, _raw: bytes) -> bool:
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"id"')
        return False  # closes the connection 35 bytes early

    server = upstream(cut)
    with pytest.raises(Problem) as raised:
        service_at(server.url).bind("k").get("/cut")
    assert (raised.value.status, raised.value.detail) == (502, "Acme API could not be reached.")


def test_a_refused_connection_is_a_502_and_a_silent_server_a_504(upstream):
    with socket.socket() as bound:  # bound but not listening: connections are refused, and no
        bound.bind(("127.0.0.1", 0))  # other process can take the port meanwhile
        with pytest.raises(Problem) as raised:
            service_at(f"http://127.0.0.1:{bound.getsockname()[1]}").bind("k").get("/x")
    assert raised.value.status == 502

    server = upstream(lambda _conn, _raw: time.sleep(2) or False)  # reads the request, never answers
    with pytest.raises(Problem) as raised:
        service_at(server.url, replace(SETTINGS, read_timeout=0.3)).bind("k").get("/x")
    assert raised.value.status == 504
