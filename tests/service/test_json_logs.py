"""``CONNECTOR_LOG_FORMAT=json`` and ``X-Request-Id``: under real `connector serve`, every log line is
a JSON object, each request's access line carries its request id (the caller's when safe, else a
new one, returned in the response), and no line carries a credential or a capability."""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Iterator

import orjson
import pytest
import requests
from conftest import TEST_SETTINGS
from serving import Served, connector_serve

from connector.accesslog import JsonFormatter, RedactingFilter
from connector.app import create_app
from connector.testing.network import free_port

GENERATED = re.compile(r"[0-9a-f]{32}")
API_KEY = "json-logs-key-7c1e55aa"
SIGNATURE = "sig0123456789SECRET"
# A Logic Apps callback URL (its sig starts the flow), on a port where nothing listens: deliveries fail.
CALLBACK = f"http://127.0.0.1:9/workflows/1/triggers/manual/paths/invoke?api-version=1&sig={SIGNATURE}"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    env = {
        "CONNECTOR_LOG_FORMAT": "json",
        "CONNECTOR_ALLOW_PRIVATE_CALLBACKS": "true",
        "CONNECTOR_DELIVERY_SCHEDULE": "0.1,0.1",
    }
    with connector_serve(tmp_path_factory.mktemp("json-logs"), env, ("--workers", "2")) as running:
        yield running


def log_lines(served: Served) -> list[dict]:
    """Every line the service wrote (stdout and stderr), each parsed as JSON: one that does not
    parse fails the test."""
    lines = [line for line in served.logs().splitlines() if line.strip()]
    assert lines
    return [orjson.loads(line) for line in lines]


def access_line(served: Served, request_id: str, timeout: float = 10.0) -> dict:
    """The access line of the request with this id (gunicorn writes it once the answer is sent)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in log_lines(served) if e["logger"] == "gunicorn.access" and e.get("request_id") == request_id]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, request_id
            return found[0]
        time.sleep(0.05)


def test_the_callers_request_id_is_returned_and_logged(served):
    answer = requests.get(f"{served.url}/healthz", headers={"X-Request-Id": "trace-4bf92f35.77:a=1"}, timeout=5)
    assert answer.headers["X-Request-Id"] == "trace-4bf92f35.77:a=1"
    entry = access_line(served, "trace-4bf92f35.77:a=1")
    assert (entry["method"], entry["path"], entry["status"], entry["level"]) == ("GET", "/healthz", 200, "INFO")
    assert entry["message"] == "GET /healthz 200"
    assert entry["duration_ms"] >= 0 and entry["time"].endswith("Z")


@pytest.mark.parametrize(
    "sent",
    [None, "", "has space", 'quote"and<angle>', "x" * 129, "línea", "id\tTab", "https://evil.example/x?y=1"],
)
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(served, sent):
    headers = {} if sent is None else {"X-Request-Id": sent}
    answer = requests.get(f"{served.url}/healthz", headers=headers, timeout=5)
    made = answer.headers["X-Request-Id"]
    assert GENERATED.fullmatch(made) and made != sent
    assert access_line(served, made)["status"] == 200


def test_errors_carry_the_request_id_too(served):
    answer = requests.post(
        f"{served.url}/egoi/actions/create_contact",
        json={"list_id": 1, "email": "x@example.com", "cellphone": "+351 9"},
        headers={"Apikey": API_KEY, "X-Request-Id": "bad-phone-1"},
        timeout=5,
    )
    assert answer.status_code == 422 and answer.headers["X-Request-Id"] == "bad-phone-1"
    assert access_line(served, "bad-phone-1")["status"] == 422


def test_no_secret_reaches_a_json_log_line_or_a_metric(served):
    """A subscription whose callback carries a signature, an event delivered to it and failing,
    a query string and a capability path: none of their secrets in a line or on /metrics."""
    headers = {"Apikey": API_KEY}
    subscription = {"callback_url": CALLBACK, "list_id": 1, "actions": ["subscription"]}
    subscribed = requests.post(
        f"{served.url}/egoi/triggers/when_contact_event", json=subscription, headers=headers, timeout=10
    )
    assert subscribed.status_code == 201, subscribed.text
    contact = {"list_id": 1, "email": "json-logs@example.com"}
    assert (
        requests.post(
            f"{served.url}/egoi/actions/create_contact", json=contact, headers=headers, timeout=10
        ).status_code
        == 201
    )
    deadline = time.monotonic() + 20
    while 'outcome="unanswered"' not in (page := requests.get(f"{served.url}/metrics", timeout=5).text):
        assert time.monotonic() < deadline, "the event was never attempted"
        time.sleep(0.1)
    requests.get(f"{served.url}/egoi/triggers/x?sig={SIGNATURE}", headers={**headers, "X-Request-Id": "q-1"}, timeout=5)
    requests.delete(
        f"{served.url}/egoi/subscriptions/AbCdEfGhIjKlMnOpQrStUv", headers={"X-Request-Id": "cap-1"}, timeout=5
    )
    assert access_line(served, "q-1")["path"] == "/egoi/triggers/x?***"
    assert access_line(served, "cap-1")["path"] == "/egoi/subscriptions/AbCd…"
    logged = served.logs()
    subscription_id = subscribed.json()["id"]
    for secret in (API_KEY, SIGNATURE, "EfGhIjKlMnOp", subscription_id[4:]):
        assert secret not in logged
        assert secret not in page
    assert "127.0.0.1:9" not in page
    assert {e["logger"] for e in log_lines(served)} >= {"gunicorn.access", "gunicorn.error", "connector.cli"}


# --- in process: the formatter, and request ids on the lines logged while a request is served ----


@pytest.fixture
def json_root_log() -> Iterator[io.StringIO]:
    """A handler on the root logger, as ``basicConfig`` leaves one; the app sets its format."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    try:
        yield stream
    finally:
        from connector.accesslog import configure_logging

        root.removeHandler(handler)
        configure_logging("INFO", "text")  # the other handlers back to their own formatters
        root.setLevel(level)


def test_a_line_logged_while_serving_a_request_carries_its_id(json_root_log):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: the upstream call fails and is logged
    app = create_app({**TEST_SETTINGS, "CATALOGS": "egoi", "EGOI_API_URL": closed, "LOG_FORMAT": "json"})
    answer = app.test_client().post(
        "/egoi/actions/create_contact",
        json={"list_id": 1, "email": "a@example.com"},
        headers={"Apikey": API_KEY, "X-Request-Id": "upstream-down-1"},
    )
    assert answer.status_code == 502 and answer.headers["X-Request-Id"] == "upstream-down-1"
    entries = [orjson.loads(line) for line in json_root_log.getvalue().splitlines()]
    (warning,) = [e for e in entries if e["logger"] == "connector.upstream"]
    assert warning["request_id"] == "upstream-down-1"
    assert warning["level"] == "WARNING" and "unreachable" in warning["message"]
    assert API_KEY not in json_root_log.getvalue()


def test_json_lines_are_redacted_like_text_lines():
    record = logging.LogRecord("urllib3", logging.WARNING, __file__, 1, "Failed (url=%s)", (CALLBACK,), None)
    try:
        raise ValueError(f"cannot post to {CALLBACK}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    record.path = "/egoi/hooks/AbCdEfGhIjKlMnOp?sig=S"  # an extra field, as the access line has
    RedactingFilter().filter(record)
    entry = orjson.loads(JsonFormatter().format(record))
    text = orjson.dumps(entry).decode()
    assert SIGNATURE not in text and "EfGhIjKl" not in text
    assert entry["message"] == "Failed (url=http://127.0.0.1:9/workflows/1/triggers/manual/paths/invoke?***"
    assert entry["exception"].endswith("paths/invoke?***")
    assert entry["path"] == "/egoi/hooks/AbCd…?***"


def test_an_unknown_log_format_stops_the_start_up():
    with pytest.raises(ValueError, match="CONNECTOR_LOG_FORMAT must be one of text, json"):
        create_app({**TEST_SETTINGS, "LOG_FORMAT": "xml"})


def test_back_to_text_a_handler_gets_its_own_formatter_again():
    from connector.accesslog import configure_logging

    handler = logging.StreamHandler(io.StringIO())
    own = logging.Formatter("%(name)s says %(message)s")
    handler.setFormatter(own)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    try:
        configure_logging("INFO", "json")
        assert isinstance(handler.formatter, JsonFormatter)
        configure_logging("INFO", "text")
        assert handler.formatter is own
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
