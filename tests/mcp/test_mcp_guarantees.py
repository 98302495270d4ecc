"""The guarantees of the HTTP actions hold for tool calls: per-credential rate limits (a tool call
counts as the action it calls), idempotency keys checked as the header is, and the credential in no
answer or log line. In-process (Flask's test client): every call here is refused before any
upstream call, so no upstream is needed."""

from __future__ import annotations

import logging

import pytest

from connector.app import create_app

KEY = "guarantee-key-9d8e7f"
HEADERS = {"Apikey": KEY}
BAD_PHONE = {"list_id": 1, "cellphone": "+351 912345678"}


def call(client, arguments, meta=None, headers=HEADERS, name="create_contact"):
    params = {"name": name, "arguments": arguments, **({"_meta": meta} if meta is not None else {})}
    return client.post(
        "/egoi/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}, headers=headers
    )


@pytest.fixture
def client(tmp_path):
    app = create_app({"RATE_LIMIT": "3 per 60 seconds", "DATA_DIR": str(tmp_path), "CATALOGS": "egoi"})
    return app.test_client()


def test_tool_calls_share_the_credentials_rate_limit(client):
    for _ in range(3):
        result = call(client, BAD_PHONE).json["result"]
        assert result["isError"] and "cellphone" in result["content"][0]["text"]
    limited = call(client, BAD_PHONE).json["result"]
    assert limited["isError"] is True
    text = limited["content"][0]["text"]
    assert "Too many calls" in text and "Retry after" in text and KEY not in text
    listing = client.post("/egoi/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=HEADERS)
    assert listing.status_code == 429 and int(listing.headers["Retry-After"]) >= 1
    other = call(client, BAD_PHONE, headers={"Apikey": "another-key"}).json["result"]
    assert "Too many calls" not in other["content"][0]["text"]  # per credential


def test_idempotency_key_is_checked_as_the_header_is(client):
    bad = call(client, {"list_id": 1}, meta={"idempotencyKey": " spaces around "}).json["result"]
    assert bad["isError"] is True and "Idempotency-Key" in bad["content"][0]["text"]
    not_text = call(client, {"list_id": 1}, meta={"idempotencyKey": 42}).json["result"]
    assert not_text["isError"] is True and "idempotencyKey" in not_text["content"][0]["text"]


def test_credential_never_in_answers_or_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    answers = [
        call(client, BAD_PHONE),
        call(client, {"unknown": 1}),
        client.post("/egoi/mcp", data=b"{", headers=HEADERS),
        call(client, BAD_PHONE, name="nope"),
    ]
    for answer in answers:
        assert KEY not in answer.get_data(as_text=True)
    assert KEY not in caplog.text


def test_a_client_that_sends_no_accept_header_is_served(client):
    """Some clients (Copilot Studio's connector runtime among them) send only Content-Type."""
    answer = client.post("/egoi/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=HEADERS)
    assert answer.status_code == 200 and answer.json["result"] == {}


def test_initialize_answers_the_version_offered_when_known(client):
    for offered, answered in (("2024-11-05", "2024-11-05"), ("2025-06-18", "2025-06-18"), ("1999-01-01", "2025-11-25")):
        params = {"protocolVersion": offered, "capabilities": {}, "clientInfo": {"name": "mcs", "version": "1.0.0"}}
        answer = client.post(
            "/egoi/mcp", json={"jsonrpc": "2.0", "id": "1", "method": "initialize", "params": params}, headers=HEADERS
        )
        assert answer.status_code == 200 and answer.json["id"] == "1"
        assert answer.json["result"]["protocolVersion"] == answered
        assert answer.json["result"]["capabilities"] == {"tools": {"listChanged": False}}
