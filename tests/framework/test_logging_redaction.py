"""No log line carries a capability: callback URLs' signatures (``sig=``), receiver tokens and
subscription ids are masked in our lines and in third-party libraries' alike."""

from __future__ import annotations

import io
import logging
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from connector.accesslog import RedactingLogger, configure_logging, scrub

CALLBACK = "/workflows/1/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SECRET"


@pytest.fixture
def root_log() -> Iterator[io.StringIO]:
    """A real handler on the root logger, as ``basicConfig`` leaves one, filtered as the service does."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    try:
        configure_logging("INFO")
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def broken_headers_server() -> Iterator[int]:
    """Answers once with a header line that has no colon, which urllib3 warns about, URL and all."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def answer() -> None:
        client, _ = server.accept()
        with client:
            client.recv(65536)
            client.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nno colon on this line\r\nX-A: b\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    thread.join(timeout=5)
    server.close()


def test_urllib3_warning_never_shows_the_signature(root_log, broken_headers_server):
    session = requests.Session()
    session.trust_env = False
    answer = session.post(f"http://127.0.0.1:{broken_headers_server}{CALLBACK}", json={}, timeout=5)
    assert answer.status_code == 202
    logged = root_log.getvalue()
    assert "Failed to parse headers (url=http://127.0.0.1:" in logged  # the warning was logged ...
    assert "/paths/invoke?***" in logged
    assert "SECRET" not in logged  # ... without the signature
    assert "HeaderParsingError" in logged  # with its traceback


def test_logic_apps_url_in_any_library_warning(root_log):
    logging.getLogger("urllib3.connection").warning(
        "Failed to parse headers (url=%s): %s", f"https://x.logic.azure.com{CALLBACK}", "[defect]"
    )
    logging.getLogger("some.library").error("Max retries exceeded with url: %s (Caused by x)", CALLBACK)
    try:
        raise ValueError(f"cannot post to https://x.logic.azure.com{CALLBACK}")
    except ValueError:
        logging.getLogger("connector.webhooks.delivery").exception("delivery failed")
    logged = root_log.getvalue()
    assert "SECRET" not in logged
    assert "https://x.logic.azure.com/workflows/1/triggers/manual/paths/invoke?***" in logged
    assert "ValueError: cannot post to https://x.logic.azure.com/workflows/1/triggers/manual/paths/invoke?***" in logged


def test_gunicorn_error_and_access_logs_are_filtered(tmp_path):
    from gunicorn.config import Config

    config = Config()
    config.set("errorlog", str(tmp_path / "error.log"))
    config.set("accesslog", str(tmp_path / "access.log"))
    logger = RedactingLogger(config)
    logger.error("Invalid request from ip=1.2.3.4: Invalid HTTP request line: 'GET %s HTTP/1.1 x'", CALLBACK)
    logger.access_log.info('"POST /egoi/hooks/AbCdEfGhIjKlMnOp?sig=SECRET HTTP/1.1" 202')
    for handler in logger.error_log.handlers + logger.access_log.handlers:
        handler.flush()
    logged = (tmp_path / "error.log").read_text() + (tmp_path / "access.log").read_text()
    assert "SECRET" not in logged
    assert "AbCdEfGh" not in logged
    assert "/egoi/hooks/AbCd…?***" in logged


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        (
            f"url=https://x.logic.azure.com{CALLBACK})",
            "url=https://x.logic.azure.com/workflows/1/triggers/manual/paths/invoke?***",
        ),
        ('https://h:443 "POST /p?sig=S HTTP/1.1" 202 0', 'https://h:443 "POST /p?*** HTTP/1.1" 202 0'),
        ("GET /egoi/subscriptions/AbCdEfGhIj HTTP/1.1", "GET /egoi/subscriptions/AbCd… HTTP/1.1"),
        ("postgresql+psycopg://user:pw@db/connector?sslmode=require", "postgresql+psycopg://***@db/connector?***"),
        ("{'callback_url': 'https://h/p#access_token=T'}", "{'callback_url': 'https://h/p#***'}"),
        ("GET /healthz HTTP/1.1 200", "GET /healthz HTTP/1.1 200"),
        ("is 3/4? yes", "is 3/4? yes"),
    ],
)
def test_scrub(line, masked):
    assert scrub(line) == masked


@pytest.mark.parametrize(
    "url, secret",
    [
        ("https://hooks.zapier.com/hooks/standard/1234567/8f3a9c2e7b1d4e5f/", "8f3a9c2e7b1d4e5f"),
        ("https://hook.eu1.make.com/abcd1234efgh5678ijkl9012mnop3456", "abcd1234efgh5678ijkl9012mnop3456"),
        ("https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXXXXXXXXXX", "XXXXXXXXXXXXXXXXXXXXXXXX"),
        ("https://n8n.example.com/webhook/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "4b5a-6978-8796-a5b4c3d2e1f0"),
    ],
)
def test_secrets_in_the_path_of_a_hook_url_never_reach_a_log_line(url, secret):
    """Zapier, Make, Slack and n8n hooks are capabilities by their path alone."""
    line = scrub(f"delivery to {url} failed")
    assert secret not in line
    assert url.split("/")[2] in line  # the host stays, to tell subscribers apart
