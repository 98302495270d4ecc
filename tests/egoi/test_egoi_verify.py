"""E-goi verification tokens: exact upstream requests, the whole flow against the sandbox, bad inputs."""

from __future__ import annotations

import json
import re

import pytest
import requests
import responses
from responses import matchers

from tests.conftest import KEY, TX

RID = "bcc3f46527d44408b434ebc24c229a49"
SMS = {"senderId": "1", "to": "351-912345678"}
EMAIL = {"email": "ana@example.com", "subject": "Your code"}
PUSH = {"appId": 7, "device": "tok-1"}


def sent(call) -> dict:
    return json.loads(call.request.body)


def action(client, key, body):
    return client.post(f"/egoi/actions/{key}", json=body, headers=KEY)


# --- exact upstream requests (responses) ------------------------------------------------------


@responses.activate
@pytest.mark.parametrize(
    ("key", "path", "body", "upstream_body"),
    [
        (
            "request_token_sms",
            "/verify/request",
            {**SMS, "message": "Code {{ code }}", "codeLength": 8, "codeValidity": 3600, "codeType": "hex"},
            {**SMS, "message": "Code {{ code }}", "codeLength": 8, "codeValidity": 3600, "codeType": "hex"},
        ),
        ("request_token_sms", "/verify/request", SMS, SMS),
        (
            "request_token_email",
            "/verify/request/email",
            {**EMAIL, "senderHash": "h4sh", "group": "Login", "mergeTags": ["a:b"], "codeType": "alpha"},
            {**EMAIL, "senderHash": "h4sh", "group": "Login", "mergeTags": ["a:b"], "codeType": "alpha"},
        ),
        (
            "request_token_push",
            "/verify/request/push",
            {**PUSH, "title": "Login", "codeLength": 1},
            {"apikey": "test-key-123", **PUSH, "title": "Login", "codeLength": 1},
        ),
    ],
)
def test_request_token_sends_exactly_the_channel_fields(mocked, key, path, body, upstream_body):
    responses.post(f"{TX}{path}", json={"requestId": RID}, status=201)
    r = action(mocked, key, body)
    assert r.status_code == 201, r.json
    assert r.json == {"requestId": RID}
    (call,) = responses.calls
    assert (call.request.method, call.request.url) == ("POST", f"{TX}{path}")
    assert call.request.headers["ApiKey"] == "test-key-123"
    assert call.request.headers["Content-Type"] == "application/json"
    assert sent(call) == upstream_body


@responses.activate
def test_request_token_accepts_the_2020_specs_verify_id(mocked):
    responses.post(f"{TX}/verify/request", json={"verifyId": "1234"}, status=201)
    assert action(mocked, "request_token_sms", SMS).json == {"requestId": "1234"}


@responses.activate
def test_request_token_without_an_id_in_the_answer_is_502(mocked):
    responses.post(f"{TX}/verify/request", json={}, status=201)
    r = action(mocked, "request_token_sms", SMS)
    assert r.status_code == 502
    assert "no request id" in r.json["detail"]


@responses.activate
def test_request_token_refused_by_e_goi_is_422_upstream_rejected(mocked):
    responses.post(f"{TX}/verify/request", json={"status": 400, "detail": "sender '9' not found"}, status=400)
    r = action(mocked, "request_token_sms", {**SMS, "senderId": "9"})
    assert r.status_code == 422
    assert r.json["type"].endswith(":upstream-rejected")
    assert "sender '9' not found" in r.json["detail"]


@responses.activate
def test_get_verify_request_never_returns_the_code(mocked):
    responses.get(
        f"{TX}/verify/{RID}",
        json={
            "id": RID,
            "messageId": "m1",
            "senderId": "1",
            "recipientNumber": "351-912345678",
            "code": "123456",
            "codeTTL": 600,
            "status": "Pending",
            "createDate": "2020-03-06T11:57:34Z",
            "message": "Here is your code: {CODE}",
        },
    )
    r = action(mocked, "get_verify_request", {"requestId": RID})
    assert r.status_code == 200, r.json
    assert r.json == {
        "requestId": RID,
        "messageId": "m1",
        "senderId": "1",
        "recipientNumber": "351-912345678",
        "codeTTL": 600,
        "status": "pending",
        "createDate": "2020-03-06T11:57:34Z",
        "message": "Here is your code: {CODE}",
    }
    (call,) = responses.calls
    assert (call.request.method, call.request.body) == ("GET", None)
    assert call.request.headers["ApiKey"] == "test-key-123"


@responses.activate
def test_validate_right_code_is_one_call(mocked):
    responses.post(
        f"{TX}/verify/{RID}/validate",
        json=[{"requestId": RID}],
        match=[matchers.json_params_matcher({"code": "123456"})],
    )
    r = action(mocked, "validate_token", {"requestId": RID, "code": "123456"})
    assert r.status_code == 200
    assert r.json == {"requestId": RID, "valid": True, "status": "validated"}
    (call,) = responses.calls
    assert call.request.headers["ApiKey"] == "test-key-123"


def refuse(path: str, state: str) -> None:
    responses.post(f"{TX}/verify/{RID}/{path}", json={"status": 400, "detail": "refused"}, status=400)
    responses.get(f"{TX}/verify/{RID}", json={"id": RID, "status": state})


@responses.activate
@pytest.mark.parametrize(
    ("state", "status", "answer"),
    [
        ("pending", 200, {"requestId": RID, "valid": False, "status": "invalid"}),
        ("invalidated", 200, {"requestId": RID, "valid": False, "status": "invalidated"}),
        ("expired", 410, "verify-expired"),
        ("canceled", 409, "verify-cancelled"),
        ("Canceled", 409, "verify-cancelled"),
        ("validated", 409, "verify-already-validated"),
    ],
)
def test_validate_refused_reads_the_request_and_answers_by_its_state(mocked, state, status, answer):
    refuse("validate", state)
    r = action(mocked, "validate_token", {"requestId": RID, "code": "000000"})
    assert r.status_code == status, r.json
    if status == 200:
        assert r.json == answer
    else:
        assert r.mimetype == "application/problem+json"
        assert r.json["type"] == f"urn:connector:problem:{answer}"
        assert RID in r.json["detail"] and r.json["requestId"] == RID
    assert [c.request.method for c in responses.calls] == ["POST", "GET"]


@responses.activate
def test_validate_refused_and_unreadable_keeps_e_goi_refusal(mocked):
    responses.post(f"{TX}/verify/{RID}/validate", json={"detail": "refused"}, status=400)
    responses.get(f"{TX}/verify/{RID}", status=500)
    r = action(mocked, "validate_token", {"requestId": RID, "code": "000000"})
    assert r.status_code == 422
    assert r.json["type"].endswith(":upstream-rejected")


@responses.activate
@pytest.mark.parametrize("key", ["validate_token", "cancel_verify_request", "resend_token", "get_verify_request"])
def test_unknown_request_is_404(mocked, key):
    responses.post(re.compile(f"{TX}/verify/nope/.*"), json={"status": 404, "detail": "not found"}, status=404)
    responses.get(f"{TX}/verify/nope", json={"status": 404, "detail": "not found"}, status=404)
    r = action(mocked, key, {"requestId": "nope", "code": "1"} if key == "validate_token" else {"requestId": "nope"})
    assert r.status_code == 404
    assert r.json["type"] == "urn:connector:problem:verify-not-found"
    assert len(responses.calls) == 1


@responses.activate
def test_cancel_sends_no_body(mocked):
    responses.post(f"{TX}/verify/{RID}/cancel", json=[{"requestId": RID}])
    r = action(mocked, "cancel_verify_request", {"requestId": RID})
    assert r.status_code == 200
    assert r.json == {"requestId": RID, "status": "canceled"}
    (call,) = responses.calls
    assert call.request.body is None
    assert call.request.headers["ApiKey"] == "test-key-123"


@responses.activate
@pytest.mark.parametrize(
    ("state", "status"), [("canceled", 200), ("expired", 410), ("validated", 409), ("invalidated", 409)]
)
def test_cancel_refused(mocked, state, status):
    refuse("cancel", state)
    r = action(mocked, "cancel_verify_request", {"requestId": RID})
    assert r.status_code == status


@responses.activate
def test_resend_sends_no_body(mocked):
    responses.post(f"{TX}/verify/{RID}/resend", json=[{"requestId": RID}])
    r = action(mocked, "resend_token", {"requestId": RID})
    assert r.status_code == 200
    assert r.json == {"requestId": RID, "status": "pending"}
    (call,) = responses.calls
    assert call.request.body is None


@responses.activate
@pytest.mark.parametrize(
    ("state", "status", "kind"),
    [("expired", 410, "verify-expired"), ("canceled", 409, "verify-cancelled"), ("pending", 422, "upstream-rejected")],
)
def test_resend_refused(mocked, state, status, kind):
    refuse("resend", state)
    r = action(mocked, "resend_token", {"requestId": RID})
    assert r.status_code == status
    assert r.json["type"].endswith(kind)


# --- bad inputs: 422 naming the field, nothing sent upstream -----------------------------------

BAD = [
    ("request_token_sms", {"to": "351-912345678"}, "senderId", "required"),
    ("request_token_sms", {"senderId": "1"}, "to", "required"),
    ("request_token_sms", {**SMS, "to": "+351 912345678"}, "to", "ccc-xxxxxxxxx"),
    ("request_token_sms", {**SMS, "senderId": ""}, "senderId", "Choose a sender"),
    ("request_token_sms", {**SMS, "codeLength": 0}, "codeLength", "from 1 to 20"),
    ("request_token_sms", {**SMS, "codeLength": 21}, "codeLength", "from 1 to 20"),
    ("request_token_sms", {**SMS, "codeLength": "6.5"}, "codeLength", "whole number"),
    ("request_token_sms", {**SMS, "codeValidity": 3601}, "codeValidity", "from 1 to 3600"),
    ("request_token_sms", {**SMS, "codeValidity": 0}, "codeValidity", "from 1 to 3600"),
    ("request_token_sms", {**SMS, "codeType": "hexa"}, "codeType", "numeric, alpha, alphanumeric, hex"),
    ("request_token_sms", {**SMS, "apikey": "x"}, "apikey", "Unknown field"),
    ("request_token_email", {"subject": "s"}, "email", "required"),
    ("request_token_email", {**EMAIL, "email": "ana@"}, "email", "name@example.com"),
    ("request_token_email", {"email": "ana@example.com"}, "subject", "required"),
    ("request_token_email", {**EMAIL, "mergeTags": "a:b"}, "mergeTags", "Not a valid list"),
    ("request_token_email", {**EMAIL, "mergeTags": [""]}, "mergeTags.0", "cannot be empty"),
    ("request_token_push", {"device": "t"}, "appId", "required"),
    ("request_token_push", {"appId": 0}, "appId", "from 1 to"),
    ("request_token_push", {"appId": 1, "apikey": "mine"}, "apikey", "Unknown field"),
    ("validate_token", {"code": "123456"}, "requestId", "required"),
    ("validate_token", {"requestId": RID}, "code", "required"),
    ("validate_token", {"requestId": RID, "code": "123 456"}, "code", "1 to 20 letters or digits"),
    ("validate_token", {"requestId": RID, "code": "1" * 21}, "code", "1 to 20 letters or digits"),
    ("validate_token", {"requestId": "../sms/senders", "code": "1"}, "requestId", "letters, digits, - or _"),
    ("get_verify_request", {"requestId": ""}, "requestId", "letters, digits, - or _"),
    ("cancel_verify_request", {"requestId": "a/b"}, "requestId", "letters, digits, - or _"),
    ("resend_token", {"requestId": "x" * 65}, "requestId", "1 to 64"),
    ("resend_token", {"requestId": 1001}, "requestId", "Not a valid string"),
]


@responses.activate
@pytest.mark.parametrize(("key", "body", "field", "message"), BAD)
def test_bad_input_is_422_naming_the_field(mocked, key, body, field, message):
    r = action(mocked, key, body)
    assert r.status_code == 422, r.json
    assert r.mimetype == "application/problem+json"
    assert r.json["type"] == "urn:connector:problem:validation-error"
    assert list(r.json["errors"]) == [field]
    assert message in r.json["errors"][field][0]
    assert len(responses.calls) == 0


# --- end to end against the sandbox --------------------------------------------------------------


def outbox(sandbox) -> list[dict]:
    return requests.get(f"{sandbox.url}/_sandbox/verify", timeout=5).json()


def advance(sandbox, seconds: float) -> None:
    r = requests.post(f"{sandbox.url}/_sandbox/verify/clock", json={"advance": seconds}, timeout=5)
    assert r.status_code == 200, r.text


def request_sms(client, **extra) -> str:
    r = action(client, "request_token_sms", {**SMS, **extra})
    assert r.status_code == 201, r.json
    return r.json["requestId"]


def test_full_flow_request_read_from_outbox_validate(client, egoi_sandbox):
    request_id = request_sms(client, message="Your code: {{ code }}. Again: {{code}}")
    (sent_code, *_) = outbox(egoi_sandbox)
    assert sent_code["requestId"] == request_id and sent_code["channel"] == "sms"
    assert sent_code["to"] == "351-912345678"
    code = sent_code["code"]
    assert re.fullmatch(r"\d{6}", code)  # the defaults: 6 numeric characters
    assert sent_code["message"] == f"Your code: {code}. Again: {code}"

    got = action(client, "get_verify_request", {"requestId": request_id})
    assert got.status_code == 200
    assert got.json["status"] == "pending" and got.json["codeTTL"] == 600
    assert "code" not in got.json and got.json["recipientNumber"] == "351-912345678"

    r = action(client, "validate_token", {"requestId": request_id, "code": code})
    assert (r.status_code, r.json) == (200, {"requestId": request_id, "valid": True, "status": "validated"})
    assert action(client, "get_verify_request", {"requestId": request_id}).json["status"] == "validated"

    again = action(client, "validate_token", {"requestId": request_id, "code": code})
    assert again.status_code == 409
    assert again.json["type"] == "urn:connector:problem:verify-already-validated"


def test_wrong_code_is_answered_and_the_third_invalidates(client, egoi_sandbox):
    request_id = request_sms(client)
    code = outbox(egoi_sandbox)[0]["code"]
    wrong = "A" if code != "A" else "B"
    first = action(client, "validate_token", {"requestId": request_id, "code": wrong})
    assert (first.status_code, first.json) == (200, {"requestId": request_id, "valid": False, "status": "invalid"})
    action(client, "validate_token", {"requestId": request_id, "code": wrong})
    third = action(client, "validate_token", {"requestId": request_id, "code": wrong})
    assert third.json == {"requestId": request_id, "valid": False, "status": "invalidated"}
    # closed for good: even the right code is refused now
    late = action(client, "validate_token", {"requestId": request_id, "code": code})
    assert late.json == {"requestId": request_id, "valid": False, "status": "invalidated"}
    assert action(client, "resend_token", {"requestId": request_id}).json["type"].endswith("verify-invalidated")


def test_a_wrong_code_then_the_right_one_validates(client, egoi_sandbox):
    request_id = request_sms(client, codeType="alpha", codeLength=4)
    code = outbox(egoi_sandbox)[0]["code"]
    assert re.fullmatch(r"[A-Z]{4}", code)
    assert action(client, "validate_token", {"requestId": request_id, "code": "1234"}).json["valid"] is False
    assert action(client, "validate_token", {"requestId": request_id, "code": code}).json["valid"] is True


def test_expired_request_is_410(client, egoi_sandbox):
    request_id = request_sms(client, codeValidity=60)
    code = outbox(egoi_sandbox)[0]["code"]
    advance(egoi_sandbox, 59)
    assert action(client, "get_verify_request", {"requestId": request_id}).json["status"] == "pending"
    advance(egoi_sandbox, 1)
    r = action(client, "validate_token", {"requestId": request_id, "code": code})
    assert r.status_code == 410
    assert r.json["type"] == "urn:connector:problem:verify-expired"
    assert request_id in r.json["detail"] and "expired" in r.json["detail"]
    assert action(client, "get_verify_request", {"requestId": request_id}).json["status"] == "expired"
    assert action(client, "resend_token", {"requestId": request_id}).status_code == 410
    assert action(client, "cancel_verify_request", {"requestId": request_id}).status_code == 410


def test_cancelled_request_is_409_and_cancelling_twice_is_fine(client, egoi_sandbox):
    request_id = request_sms(client)
    code = outbox(egoi_sandbox)[0]["code"]
    r = action(client, "cancel_verify_request", {"requestId": request_id})
    assert (r.status_code, r.json) == (200, {"requestId": request_id, "status": "canceled"})
    assert action(client, "cancel_verify_request", {"requestId": request_id}).status_code == 200
    v = action(client, "validate_token", {"requestId": request_id, "code": code})
    assert v.status_code == 409
    assert v.json["type"] == "urn:connector:problem:verify-cancelled"
    assert "cancelled" in v.json["detail"]
    assert action(client, "get_verify_request", {"requestId": request_id}).json["status"] == "canceled"


def test_resend_sends_a_new_code_and_the_old_one_stops_working(client, egoi_sandbox):
    request_id = request_sms(client, codeValidity=60, codeLength=20, codeType="hex")
    old = outbox(egoi_sandbox)[0]["code"]
    advance(egoi_sandbox, 50)
    r = action(client, "resend_token", {"requestId": request_id})
    assert (r.status_code, r.json) == (200, {"requestId": request_id, "status": "pending"})
    latest = outbox(egoi_sandbox)
    assert [item["requestId"] for item in latest[:2]] == [request_id, request_id]
    new = latest[0]["code"]
    assert re.fullmatch(r"[0-9A-F]{20}", new) and new != old
    assert action(client, "validate_token", {"requestId": request_id, "code": old}).json["status"] == "invalid"
    advance(egoi_sandbox, 50)  # 100 s after the first code, 50 s after the new one: still valid
    assert action(client, "validate_token", {"requestId": request_id, "code": new}).json["valid"] is True


def test_email_and_push_flows(client, egoi_sandbox):
    r = action(client, "request_token_email", {**EMAIL, "codeType": "alphanumeric", "message": "Code {{ code }}"})
    assert r.status_code == 201, r.json
    sent_email = outbox(egoi_sandbox)[0]
    assert (sent_email["channel"], sent_email["to"]) == ("email", "ana@example.com")
    assert re.fullmatch(r"[0-9A-Z]{6}", sent_email["code"])
    ok = action(client, "validate_token", {"requestId": r.json["requestId"], "code": sent_email["code"]})
    assert ok.json["valid"] is True

    p = action(client, "request_token_push", {**PUSH, "message": "Login code"})
    assert p.status_code == 201, p.json
    sent_push = outbox(egoi_sandbox)[0]
    assert (sent_push["channel"], sent_push["to"]) == ("push", "tok-1")
    assert sent_push["message"] == f"Login code {sent_push['code']}"  # no tag: the code is appended
    ok = action(client, "validate_token", {"requestId": p.json["requestId"], "code": sent_push["code"]})
    assert ok.json["valid"] is True


def test_unknown_sender_is_refused_by_the_sandbox(client, egoi_sandbox):
    r = action(client, "request_token_sms", {**SMS, "senderId": "99"})
    assert r.status_code == 422
    assert r.json["type"].endswith(":upstream-rejected")
    assert "99" in r.json["detail"]
    assert outbox(egoi_sandbox)[0]["requestId"] in {"1001", "1002", "1003"}  # nothing new was sent


def test_unknown_request_is_404_end_to_end(client):
    r = action(client, "validate_token", {"requestId": "0" * 32, "code": "123456"})
    assert r.status_code == 404
    assert r.json["type"] == "urn:connector:problem:verify-not-found"


def test_operation_examples_work_on_a_fresh_sandbox(client, egoi_catalog):
    from actions.egoi import verify

    for operation in verify.OPERATIONS:
        r = action(client, operation.key, operation.example)
        assert r.status_code == operation.status_code, (operation.key, r.json)
        assert set(r.json) <= set(operation.Output().fields), operation.key


# --- the sandbox as an oracle, on its own -------------------------------------------------------


def tx(sandbox, method, path, **kwargs):
    headers = kwargs.pop("headers", {"ApiKey": "k"})
    return requests.request(method, f"{sandbox.url}/slingshot/api/v2{path}", headers=headers, timeout=5, **kwargs)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/verify/request", {"to": "351-912345678"}, "senderId"),
        ("/verify/request", {**SMS, "to": "912345678"}, "to"),
        ("/verify/request", {**SMS, "codeLength": 21}, "codeLength"),
        ("/verify/request", {**SMS, "codeLength": True}, "codeLength"),
        ("/verify/request", {**SMS, "codeValidity": 3601}, "codeValidity"),
        ("/verify/request", {**SMS, "codeType": "binary"}, "codeType"),
        ("/verify/request", {**SMS, "message": 5}, "message"),
        ("/verify/request/email", {"email": "ana@example.com"}, "subject"),
        ("/verify/request/email", {**EMAIL, "mergeTags": [1]}, "mergeTags"),
        ("/verify/request/push", {"apikey": "k"}, "appId"),
        ("/verify/request/push", {"appId": 1}, "apikey"),
    ],
)
def test_sandbox_refuses_bad_requests_with_400_naming_the_field(egoi_sandbox, path, body, field):
    before = len(outbox(egoi_sandbox))
    r = tx(egoi_sandbox, "POST", path, json=body)
    assert r.status_code == 400
    assert r.json()["title"] == "Bad Request" and list(r.json()["errors"]) == [field]
    assert len(outbox(egoi_sandbox)) == before


def test_sandbox_accepts_the_2020_specs_hexa(egoi_sandbox):
    r = tx(egoi_sandbox, "POST", "/verify/request", json={**SMS, "codeType": "hexa", "codeLength": 20})
    assert r.status_code == 201
    assert re.fullmatch(r"[0-9A-F]{20}", outbox(egoi_sandbox)[0]["code"])


def test_sandbox_answers_get_with_the_spec_shape_and_needs_a_key(egoi_sandbox):
    r = tx(egoi_sandbox, "GET", "/verify/1001")
    assert r.status_code == 200
    assert {
        "id",
        "messageId",
        "senderId",
        "recipientNumber",
        "code",
        "codeTTL",
        "status",
        "createDate",
        "message",
    } <= set(r.json())
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", r.json()["createDate"])
    assert tx(egoi_sandbox, "GET", "/verify/1001", headers={}).status_code == 401
    assert tx(egoi_sandbox, "GET", "/verify/nope").status_code == 404
    assert tx(egoi_sandbox, "POST", "/verify/1001/validate", data="{").status_code == 400


@pytest.mark.parametrize("advance_by", [-1, "10", True, None])
def test_sandbox_clock_takes_only_seconds_forward(egoi_sandbox, advance_by):
    r = requests.post(f"{egoi_sandbox.url}/_sandbox/verify/clock", json={"advance": advance_by}, timeout=5)
    assert r.status_code == 400
    assert "advance" in r.json()["errors"]
