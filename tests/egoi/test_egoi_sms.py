"""SendSMS (merge tags, schedule), SendSMSBatch, ValidatePhoneNumber and CancelScheduledMessage:
exact upstream requests, bad inputs, the sandbox's own checks, and end to end against it."""

from __future__ import annotations

import json

import pytest
import responses

from actions.egoi.messages import CancelScheduledMessage
from actions.egoi.sandbox import TRANSACTIONAL_PREFIX, create_app
from actions.egoi.sms import SendSMS, SendSMSBatch, ValidatePhoneNumber
from tests.conftest import KEY, TX

SEND = f"{TX}/sms/messages/action/send"
SMS = {"to": "351-912345678", "from": "1", "textBody": "Hello {{ name }}"}
FUTURE = "2099-12-31 09:30:00"


def sent(call):
    return json.loads(call.request.body)


def errors_of(response) -> dict:
    assert response.status_code == 422, response.json
    assert response.json["type"].endswith(":validation-error")
    return response.json["errors"]


# --- exact upstream requests -------------------------------------------------------------------


@responses.activate
def test_send_sms_with_merge_tags_and_schedule(mocked):
    responses.post(SEND, json=[{"messageId": "77"}], status=201)
    body = {**SMS, "mergeTags": ["name:Ana", "time:10:30"], "scheduleTo": FUTURE, "encoding": "gsm0338", "maxCount": 2}
    r = mocked.post("/egoi/actions/send_sms", json=body, headers=KEY)
    assert r.status_code == 201 and r.json == {"messageId": "77"}
    (call,) = responses.calls
    assert call.request.method == "POST" and call.request.url == SEND
    assert call.request.headers["ApiKey"] == "test-key-123"
    assert sent(call) == [body]


@responses.activate
def test_send_sms_batch_is_one_upstream_call(mocked):
    responses.post(SEND, json=[{"messageId": str(i)} for i in range(100)], status=201)
    batch = [{**SMS, "to": f"351-9100000{i:02d}", "mergeTags": [f"name:N{i}"]} for i in range(100)]
    r = mocked.post("/egoi/actions/send_sms_batch", json={"messages": batch}, headers=KEY)
    assert r.status_code == 201, r.json
    assert r.json == {"messages": [{"messageId": str(i)} for i in range(100)]}
    (call,) = responses.calls
    assert call.request.url == SEND and call.request.headers["ApiKey"] == "test-key-123"
    assert sent(call) == batch


@responses.activate
def test_send_sms_batch_with_missing_ids_is_502(mocked):
    responses.post(SEND, json=[{"messageId": "1"}], status=201)
    r = mocked.post("/egoi/actions/send_sms_batch", json={"messages": [SMS, SMS]}, headers=KEY)
    assert r.status_code == 502


@responses.activate
def test_validate_phone_number_request(mocked):
    answer = {"valid": True, "prefix": "351", "number": "912345678", "isValid": True, "message": "ok"}
    responses.get(f"{TX}/validate-phone/351-912345678", json=answer)
    r = mocked.post("/egoi/actions/validate_phone_number", json={"number": "351-912345678"}, headers=KEY)
    assert r.status_code == 200
    assert r.json == {"valid": True, "prefix": "351", "number": "912345678", "message": "ok"}
    (call,) = responses.calls
    assert call.request.method == "GET" and call.request.url == f"{TX}/validate-phone/351-912345678"
    assert call.request.headers["ApiKey"] == "test-key-123" and call.request.body is None


@responses.activate
def test_validate_phone_number_reads_the_2020_is_valid_field(mocked):
    responses.get(f"{TX}/validate-phone/1-5550100", json={"isValid": False, "message": "The number is not valid."})
    r = mocked.post("/egoi/actions/validate_phone_number", json={"number": "1-5550100"}, headers=KEY)
    assert r.json["valid"] is False


@responses.activate
def test_cancel_scheduled_message_request(mocked):
    responses.delete(f"{TX}/messages/42/action/cancel", json={})
    r = mocked.post("/egoi/actions/cancel_scheduled_message", json={"messageId": "42"}, headers=KEY)
    assert r.status_code == 200 and r.json == {"messageId": "42", "status": "canceled"}
    (call,) = responses.calls
    assert call.request.method == "DELETE" and call.request.url == f"{TX}/messages/42/action/cancel"
    assert call.request.headers["ApiKey"] == "test-key-123"


@pytest.mark.parametrize("upstream_status,ours", [(400, 409), (404, 404), (401, 401)])
@responses.activate
def test_cancel_upstream_errors(mocked, upstream_status, ours):
    responses.delete(f"{TX}/messages/42/action/cancel", json={"detail": "no"}, status=upstream_status)
    r = mocked.post("/egoi/actions/cancel_scheduled_message", json={"messageId": "42"}, headers=KEY)
    assert r.status_code == ours
    assert "test-key-123" not in r.get_data(as_text=True)


# --- bad input: 422 naming the field, nothing sent ----------------------------------------------


@pytest.mark.parametrize(
    "action,body,field,words",
    [
        ("send_sms", {**SMS, "mergeTags": "name:Ana"}, "mergeTags", "list"),
        ("send_sms", {**SMS, "mergeTags": ["nameAna"]}, "mergeTags.0", "tagName:tagValue"),
        ("send_sms", {**SMS, "mergeTags": [":Ana"]}, "mergeTags.0", "tagName:tagValue"),
        ("send_sms", {**SMS, "mergeTags": ["first name:Ana"]}, "mergeTags.0", "tagName:tagValue"),
        ("send_sms", {**SMS, "mergeTags": [None]}, "mergeTags.0", "null"),
        ("send_sms", {**SMS, "scheduleTo": "2099-02-30 10:00:00"}, "scheduleTo", "yyyy-MM-dd HH:mm:ss"),
        ("send_sms", {**SMS, "scheduleTo": "2099-12-31T10:00:00"}, "scheduleTo", "yyyy-MM-dd HH:mm:ss"),
        ("send_sms", {**SMS, "scheduleTo": "2099-12-31"}, "scheduleTo", "yyyy-MM-dd HH:mm:ss"),
        ("send_sms", {**SMS, "encoding": "utf8"}, "encoding", "unicode, gsm0338"),
        ("send_sms", {**SMS, "maxCount": 0}, "maxCount", "from 1"),
        ("send_sms", {**SMS, "priority": "high"}, "priority", "urgent, non-urgent"),
        ("send_sms", {**SMS, "to": "+351 912345678"}, "to", "ccc-xxxxxxxxx"),
        ("send_sms_batch", {"messages": []}, "messages", "1 to 100"),
        ("send_sms_batch", {"messages": [SMS] * 101}, "messages", "1 to 100"),
        ("send_sms_batch", {"messages": SMS}, "messages", "list"),
        ("send_sms_batch", {}, "messages", "required"),
        ("send_sms_batch", {"messages": [SMS, {**SMS, "to": "bad"}]}, "messages.1.to", "ccc-xxxxxxxxx"),
        ("send_sms_batch", {"messages": [SMS, {**SMS, "mergeTags": ["x"]}]}, "messages.1.mergeTags.0", "tagName"),
        ("send_sms_batch", {"messages": [{**SMS, "extra": 1}]}, "messages.0.extra", "Unknown"),
        ("validate_phone_number", {"number": "+351912345678"}, "number", "ccc-xxxxxxxxx"),
        ("validate_phone_number", {"number": "351-9123/../x"}, "number", "ccc-xxxxxxxxx"),
        ("validate_phone_number", {}, "number", "required"),
        ("cancel_scheduled_message", {"messageId": "../sms/senders"}, "messageId", "letters, digits"),
        ("cancel_scheduled_message", {"messageId": "a/b"}, "messageId", "letters, digits"),
        ("cancel_scheduled_message", {"messageId": ""}, "messageId", "letters, digits"),
        ("cancel_scheduled_message", {"messageId": "1" * 65}, "messageId", "letters, digits"),
        ("cancel_scheduled_message", {"messageId": 42}, "messageId", "string"),
    ],
)
@responses.activate
def test_bad_input_is_422_and_nothing_is_sent(mocked, action, body, field, words):
    errors = errors_of(mocked.post(f"/egoi/actions/{action}", json=body, headers=KEY))
    assert field in errors, errors
    assert words in " ".join(errors[field]), errors[field]
    assert len(responses.calls) == 0


# --- specs ----------------------------------------------------------------------------------------


def contains(tree, value) -> bool:
    if tree == value:
        return True
    children = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, list) else ()
    return any(contains(child, value) for child in children)


@pytest.mark.parametrize("path", ["/egoi/openapi.json", "/egoi/swagger.json"])
@pytest.mark.parametrize("declaration", [SendSMS, SendSMSBatch, ValidatePhoneNumber, CancelScheduledMessage])
def test_specs_document_each_operation_with_examples(mocked, path, declaration):
    spec = mocked.get(path).json
    operation = spec["paths"][f"/actions/{declaration.key}"]["post"]
    assert operation["operationId"] == declaration.operation_id
    assert contains(operation, declaration.response_example)
    if "openapi" in spec:
        assert contains(operation, declaration.example)
    schemas = spec.get("components", {}).get("schemas") or spec["definitions"]
    fields = schemas["SendSMSInput"]["properties"]
    assert fields["mergeTags"]["items"]["pattern"] and fields["scheduleTo"]["pattern"]


# --- the sandbox, on its own ---------------------------------------------------------------------


@pytest.fixture()
def sandbox():
    return create_app().test_client()


TX_KEY = {"ApiKey": "k"}
SANDBOX_SEND = f"{TRANSACTIONAL_PREFIX}/sms/messages/action/send"


@pytest.mark.parametrize(
    "message",
    [
        {**SMS, "mergeTags": ["nameAna"]},
        {**SMS, "mergeTags": [" :Ana"]},
        {**SMS, "mergeTags": [1]},
        {**SMS, "scheduleTo": "2099-02-30 10:00:00"},
        {**SMS, "scheduleTo": "tomorrow"},
        {**SMS, "scheduleTo": 1},
    ],
)
def test_sandbox_refuses_bad_merge_tags_and_schedules(sandbox, message):
    r = sandbox.post(SANDBOX_SEND, headers=TX_KEY, json=[message])
    assert r.status_code == 400 and r.get_json()["title"] == "Bad Request"
    assert sandbox.get("/_sandbox/sms").get_json() == []


def test_sandbox_statuses_and_cancel(sandbox):
    now, later = sandbox.post(SANDBOX_SEND, headers=TX_KEY, json=[SMS, {**SMS, "scheduleTo": FUTURE}]).get_json()
    past = sandbox.post(SANDBOX_SEND, headers=TX_KEY, json=[{**SMS, "scheduleTo": "2000-01-01 00:00:00"}]).get_json()
    statuses = {m["messageId"]: m["status"] for m in sandbox.get("/_sandbox/sms").get_json()}
    assert statuses == {
        now["messageId"]: "delivered",
        later["messageId"]: "scheduled",
        past[0]["messageId"]: "delivered",
    }

    cancel = f"{TRANSACTIONAL_PREFIX}/messages/{{}}/action/cancel"
    assert sandbox.delete(cancel.format(now["messageId"]), headers=TX_KEY).status_code == 400
    assert sandbox.delete(cancel.format("999"), headers=TX_KEY).status_code == 404
    r = sandbox.delete(cancel.format(later["messageId"]))
    assert r.status_code == 401  # the key is required
    r = sandbox.delete(cancel.format(later["messageId"]), headers=TX_KEY)
    assert r.status_code == 200 and r.get_json() == {}
    assert sandbox.get("/_sandbox/sms").get_json()[1]["status"] == "canceled"
    assert sandbox.delete(cancel.format(later["messageId"]), headers=TX_KEY).status_code == 400


def test_sandbox_sends_scheduled_messages_when_their_time_comes(sandbox, monkeypatch):
    from actions.egoi.sandbox import sms as sandbox_sms

    (message,) = sandbox.post(SANDBOX_SEND, headers=TX_KEY, json=[{**SMS, "scheduleTo": FUTURE}]).get_json()
    monkeypatch.setattr(sandbox_sms, "timestamp", lambda: "2100-01-01 00:00:00")
    assert sandbox.get("/_sandbox/sms").get_json()[0]["status"] == "delivered"
    # the 2020 spec's cancel (POST .../action/send, 204) refuses a message already sent too
    r = sandbox.post(f"{TRANSACTIONAL_PREFIX}/messages/{message['messageId']}/action/send", headers=TX_KEY)
    assert r.status_code == 400


def test_sandbox_2020_cancel_answers_204(sandbox):
    (message,) = sandbox.post(SANDBOX_SEND, headers=TX_KEY, json=[{**SMS, "scheduleTo": FUTURE}]).get_json()
    r = sandbox.post(f"{TRANSACTIONAL_PREFIX}/messages/{message['messageId']}/action/send", headers=TX_KEY)
    assert r.status_code == 204 and r.get_data() == b""


@pytest.mark.parametrize(
    "number,valid",
    [
        ("351-912345678", True),
        ("351-212345678", True),
        ("351-812345678", False),
        ("351-91234567", False),
        ("44-7700900123", True),
        ("1-55501", False),
        ("999-1234567890123", False),
    ],
)
def test_sandbox_validate_phone(sandbox, number, valid):
    body = sandbox.get(f"{TRANSACTIONAL_PREFIX}/validate-phone/{number}", headers=TX_KEY).get_json()
    prefix, national = number.split("-")
    assert body == {
        "valid": valid,
        "prefix": prefix,
        "number": national,
        "isValid": valid,
        "message": "The number is valid." if valid else "The number is not valid.",
    }


@pytest.mark.parametrize("number", ["351912345678", "+351-912345678", "351-", "abc-123", "1234-5678"])
def test_sandbox_validate_phone_refuses_other_formats(sandbox, number):
    r = sandbox.get(f"{TRANSACTIONAL_PREFIX}/validate-phone/{number}", headers=TX_KEY)
    assert r.status_code == 400 and "countryCode-mobileNumber" in r.get_json()["detail"]


# --- end to end against the sandbox ----------------------------------------------------------------


def outbox(egoi_sandbox) -> list[dict]:
    return egoi_sandbox.app.test_client().get("/_sandbox/sms").get_json()


def test_e2e_examples_work(client):
    for declaration in (CancelScheduledMessage, SendSMS, SendSMSBatch, ValidatePhoneNumber):
        r = client.post(f"/egoi/actions/{declaration.key}", json=declaration.example, headers=KEY)
        assert r.status_code == declaration.status_code, (declaration.key, r.json)


def test_e2e_batch_lands_in_the_outbox_in_order(client, egoi_sandbox):
    batch = [{**SMS, "to": f"351-91000000{i}", "mergeTags": [f"name:N{i}"]} for i in range(3)]
    r = client.post("/egoi/actions/send_sms_batch", json={"messages": batch}, headers=KEY)
    assert r.status_code == 201, r.json
    ids = [m["messageId"] for m in r.json["messages"]]
    kept = outbox(egoi_sandbox)
    assert [m["messageId"] for m in kept] == ids[::-1]
    assert [m["mergeTags"] for m in kept] == [["name:N2"], ["name:N1"], ["name:N0"]]


def test_e2e_a_batch_with_an_unknown_sender_sends_nothing(client, egoi_sandbox):
    r = client.post("/egoi/actions/send_sms_batch", json={"messages": [SMS, {**SMS, "from": "9"}]}, headers=KEY)
    assert r.status_code == 422 and r.json["type"].endswith(":upstream-rejected")
    assert outbox(egoi_sandbox) == []


def test_e2e_schedule_then_cancel(client, egoi_sandbox):
    scheduled = client.post("/egoi/actions/send_sms", json={**SMS, "scheduleTo": FUTURE}, headers=KEY).json
    now = client.post("/egoi/actions/send_sms", json=SMS, headers=KEY).json
    cancel = "/egoi/actions/cancel_scheduled_message"
    r = client.post(cancel, json=scheduled, headers=KEY)
    assert r.status_code == 200 and r.json == {**scheduled, "status": "canceled"}
    assert {m["messageId"]: m["status"] for m in outbox(egoi_sandbox)} == {
        scheduled["messageId"]: "canceled",
        now["messageId"]: "delivered",
    }
    again = client.post(cancel, json=scheduled, headers=KEY)
    assert again.status_code == 409 and scheduled["messageId"] in again.json["detail"]
    assert client.post(cancel, json=now, headers=KEY).status_code == 409
    assert client.post(cancel, json={"messageId": "999"}, headers=KEY).status_code == 404


def test_e2e_validate_phone_number(client):
    ok = client.post("/egoi/actions/validate_phone_number", json={"number": "351-912345678"}, headers=KEY)
    bad = client.post("/egoi/actions/validate_phone_number", json={"number": "351-812345678"}, headers=KEY)
    assert ok.status_code == bad.status_code == 200
    assert ok.json["valid"] is True and bad.json["valid"] is False
    assert (bad.json["prefix"], bad.json["number"]) == ("351", "812345678")
