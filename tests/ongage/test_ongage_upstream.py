"""Exactly what each Ongage operation sends upstream (method, path with the list id, query, body,
the three auth headers), how the one inbound credential is split, and how Ongage's errors are answered."""

from __future__ import annotations

import json
import logging

import pytest
import responses
from conftest import KEY, TEST_SETTINGS
from responses import matchers

from actions.ongage.events import EXAMPLE_EVENT
from connector.app import create_app

ONGAGE = "https://ongage.test"
CREDENTIALS = {"X-Ongage-Credentials": "acme42:ana@example.com:pa:ss word"}
AUTH = {"X_ACCOUNT_CODE": "acme42", "X_USERNAME": "ana@example.com", "X_PASSWORD": "pa:ss word"}
EVENT = {"id": 7, "name": "Birth date event", "status": True, "created": 1, "modified": 2}
# what the service answers: Ongage's unix timestamps as ISO 8601
SHOWN = {**EVENT, "created": "1970-01-01T00:00:01.000Z", "modified": "1970-01-01T00:00:02.000Z"}


def ok(payload):
    return {"metadata": {"error": False}, "payload": payload}


@pytest.fixture(scope="module")
def mocked():
    return create_app({**TEST_SETTINGS, "CATALOGS": "ongage", "ONGAGE_API_URL": ONGAGE}).test_client()


def only_call():
    (call,) = responses.calls
    for header, value in AUTH.items():
        assert call.request.headers[header] == value
    assert "X-Ongage-Credentials" not in call.request.headers
    return call.request


@responses.activate
def test_create_event_request(mocked):
    body = {
        **EXAMPLE_EVENT,
        "list_id": 12,
        "ongoing_event": False,
        "start_date": "1767225600",
        "end_date": "31-12-2026",
        "distribution": [
            {"domain": "default", "esp_connection_id": 60142, "percent": 100},
            {"domain": "gmail.com", "esps": [{"esp_id": 3, "percent": 60}, {"esp_id": 4, "percent": 40}]},
        ],
    }
    answer = {**EVENT, "distribution": [{"domain": "gmail.com", "esps": {"3": 60, "4": 40}}]}
    responses.post(f"{ONGAGE}/12/api/events", json=ok(answer))
    r = mocked.post("/ongage/actions/create_event", json=body, headers=CREDENTIALS)
    assert r.status_code == 201, r.json
    request = only_call()
    assert request.method == "POST"
    assert request.url == f"{ONGAGE}/12/api/events"
    assert request.headers["Content-Type"] == "application/json"
    sent = json.loads(request.body)
    expected = {k: v for k, v in body.items() if k != "list_id"}
    expected["start_date"] = 1767225600  # a timestamp sent as digits goes on as the documented integer
    expected["distribution"] = [
        {"domain": "default", "esp_connection_id": 60142, "percent": 100},
        {"domain": "gmail.com", "esps": {"3": 60, "4": 40}},  # Ongage's associative array
    ]
    assert sent == expected
    assert r.json["id"] == 7
    assert r.json["distribution"] == [
        {"domain": "gmail.com", "esps": [{"esp_id": 3, "percent": 60}, {"esp_id": 4, "percent": 40}]}
    ]


@responses.activate
def test_create_event_from_a_form_body(mocked):
    """Form bodies (webhook senders) carry only flat text: the nested arrays cannot come that way,
    so the problem names them rather than failing obscurely."""
    r = mocked.post(
        "/ongage/actions/create_event", data={"list_id": "1", "name": "x", "status": "true"}, headers=CREDENTIALS
    )
    assert r.status_code == 422
    assert {"segments", "distribution", "triggers"} <= set(r.json["errors"])
    assert len(responses.calls) == 0


@responses.activate
def test_get_event_request(mocked):
    responses.get(f"{ONGAGE}/3/api/events/7", json=ok(EVENT))
    r = mocked.post("/ongage/actions/get_event", json={"list_id": 3, "event_id": 7}, headers=CREDENTIALS)
    assert r.status_code == 200
    assert r.json == SHOWN
    request = only_call()
    assert (request.method, request.url, request.body) == ("GET", f"{ONGAGE}/3/api/events/7", None)


@responses.activate
def test_list_events_request(mocked):
    query = {"name": "Birth date", "sort": "created", "order": "DESC", "offset": "10", "limit": "5"}
    responses.get(f"{ONGAGE}/3/api/events", json=ok([EVENT]), match=[matchers.query_param_matcher(query)])
    r = mocked.post(
        "/ongage/actions/list_events",
        json={"list_id": 3, "name": "Birth date", "sort": "created", "order": "DESC", "offset": 10, "limit": 5},
        headers=CREDENTIALS,
    )
    assert r.status_code == 200, r.json
    assert r.json == {"items": [SHOWN]}
    assert only_call().method == "GET"


@responses.activate
def test_list_events_sends_only_what_is_given(mocked):
    responses.get(f"{ONGAGE}/3/api/events", json=ok([]), match=[matchers.query_param_matcher({"name": "x"})])
    r = mocked.post("/ongage/actions/list_events", json={"list_id": 3, "name": "x"}, headers=CREDENTIALS)
    assert r.json == {"items": []}


@responses.activate
def test_update_event_request(mocked):
    body = {
        "list_id": 3,
        "event_id": 7,
        "name": "Renamed",
        "description": "Happy birthday",
        "esp_connections_quota": [{"esp_connection_id": 60142, "quota": 500}],
        "emails_limit": 1000,
    }
    responses.put(f"{ONGAGE}/3/api/events/7", json=ok({**EVENT, "name": "Renamed", "emails_limit": 1000}))
    r = mocked.post("/ongage/actions/update_event", json=body, headers=CREDENTIALS)
    assert r.status_code == 200, r.json
    assert r.json["name"] == "Renamed" and r.json["emails_limit"] == 1000
    request = only_call()
    assert (request.method, request.url) == ("PUT", f"{ONGAGE}/3/api/events/7")
    assert json.loads(request.body) == {k: v for k, v in body.items() if k not in ("list_id", "event_id")}


@responses.activate
def test_toggle_event_status_request(mocked):
    responses.put(f"{ONGAGE}/3/api/events/7/status", json=ok({**EVENT, "status": False}))
    r = mocked.post("/ongage/actions/toggle_event_status", json={"list_id": 3, "event_id": 7}, headers=CREDENTIALS)
    assert r.status_code == 200
    assert r.json["status"] is False
    request = only_call()
    assert (request.method, request.url, request.body) == ("PUT", f"{ONGAGE}/3/api/events/7/status", None)


@responses.activate
def test_toggle_reads_the_event_when_the_answer_has_no_status(mocked):
    responses.put(f"{ONGAGE}/3/api/events/7/status", json=ok(True))
    responses.get(f"{ONGAGE}/3/api/events/7", json=ok({**EVENT, "status": False}))
    r = mocked.post("/ongage/actions/toggle_event_status", json={"list_id": 3, "event_id": 7}, headers=CREDENTIALS)
    assert r.status_code == 200
    assert r.json["status"] is False
    assert [c.request.method for c in responses.calls] == ["PUT", "GET"]


@responses.activate
def test_delete_event_request(mocked):
    responses.delete(f"{ONGAGE}/3/api/events/7", json=ok({"id": 7}))
    r = mocked.post("/ongage/actions/delete_event", json={"list_id": 3, "event_id": 7}, headers=CREDENTIALS)
    assert r.status_code == 200
    assert r.json == {"id": 7, "deleted": True}
    request = only_call()
    assert (request.method, request.url, request.body) == ("DELETE", f"{ONGAGE}/3/api/events/7", None)


# --------------------------------------------------------------------------------------------
# The credential.
# --------------------------------------------------------------------------------------------


@responses.activate
def test_missing_credential_is_401(mocked):
    r = mocked.post("/ongage/actions/get_event", json={"list_id": 3, "event_id": 7}, headers=KEY)
    assert r.status_code == 401
    assert "X-Ongage-Credentials" in r.json["detail"]
    assert len(responses.calls) == 0


@responses.activate
@pytest.mark.parametrize("value", ["acme", "acme:ana", "acme::secret", ":ana:secret", "acme:ana:", "acme: :secret"])
def test_malformed_credential_is_401_naming_the_format(mocked, value, caplog):
    caplog.set_level(logging.DEBUG)
    r = mocked.post(
        "/ongage/actions/get_event", json={"list_id": 3, "event_id": 7}, headers={"X-Ongage-Credentials": value}
    )
    assert r.status_code == 401
    assert r.mimetype == "application/problem+json"
    assert "account_code:username:password" in r.json["detail"]
    assert value not in r.data.decode() or value == "acme"  # the value is never echoed ("acme" is a common word)
    assert "secret" not in r.data.decode() and "secret" not in caplog.text
    assert len(responses.calls) == 0


@responses.activate
def test_password_keeps_its_colons_and_spaces(mocked):
    responses.get(f"{ONGAGE}/3/api/events/7", json=ok(EVENT))
    mocked.post("/ongage/actions/get_event", json={"list_id": 3, "event_id": 7}, headers=CREDENTIALS)
    assert only_call().headers["X_PASSWORD"] == "pa:ss word"


# --------------------------------------------------------------------------------------------
# Ongage's errors.
# --------------------------------------------------------------------------------------------


def failure(code, message, errors=None):
    return {"metadata": {"error": True}, "payload": {"code": code, "message": message, "errors": errors or []}}


@responses.activate
@pytest.mark.parametrize(
    ("upstream", "ours", "kind"),
    [
        (400, 422, "upstream-rejected"),
        (401, 401, "unauthorized"),
        (404, 404, "not-found"),
        (500, 502, "upstream-error"),
    ],
)
def test_upstream_errors_carry_ongages_message(mocked, upstream, ours, kind):
    responses.get(f"{ONGAGE}/3/api/events/7", status=upstream, json=failure(upstream, "Event not found."))
    r = mocked.post("/ongage/actions/get_event", json={"list_id": 3, "event_id": 7}, headers=CREDENTIALS)
    assert r.status_code == ours
    assert r.json["type"].endswith(kind)
    assert r.json["detail"].endswith(": Event not found.")
    assert "pa:ss" not in r.data.decode()


@responses.activate
def test_upstream_field_errors_are_kept(mocked):
    errors = {"triggers.0.email_messages": "Email message 2381 does not exist"}
    responses.post(f"{ONGAGE}/1/api/events", status=400, json=failure(400, "Validation failed", errors))
    r = mocked.post("/ongage/actions/create_event", json=EXAMPLE_EVENT, headers=CREDENTIALS)
    assert r.status_code == 422
    assert r.json["errors"] == {"triggers.0.email_messages": ["Email message 2381 does not exist"]}


@responses.activate
def test_an_error_envelope_with_200_is_a_502(mocked):
    responses.get(f"{ONGAGE}/3/api/events/7", json=failure(200, "Something odd"))
    r = mocked.post("/ongage/actions/get_event", json={"list_id": 3, "event_id": 7}, headers=CREDENTIALS)
    assert r.status_code == 502
    assert "Something odd" in r.json["detail"]


@responses.activate
def test_a_list_that_is_not_a_list_is_a_502(mocked):
    responses.get(f"{ONGAGE}/3/api/events", json=ok({"id": 1}))
    r = mocked.post("/ongage/actions/list_events", json={"list_id": 3, "name": "x"}, headers=CREDENTIALS)
    assert r.status_code == 502


@responses.activate
def test_reads_are_retried_writes_are_not(mocked):
    responses.get(f"{ONGAGE}/3/api/events/7", status=503)
    responses.post(f"{ONGAGE}/1/api/events", status=503)
    assert (
        mocked.post("/ongage/actions/get_event", json={"list_id": 3, "event_id": 7}, headers=CREDENTIALS).status_code
        == 502
    )
    reads = len(responses.calls)
    assert reads == 4  # the first try and 3 retries
    assert mocked.post("/ongage/actions/create_event", json=EXAMPLE_EVENT, headers=CREDENTIALS).status_code == 502
    assert len(responses.calls) == reads + 1
