"""SendEmail, SendEmailBatch and GetEmailSenders: exact upstream requests, attachments and other
bad inputs, the sandbox's own checks and outbox, and end to end against it."""

from __future__ import annotations

import base64
import json

import pytest
import responses

from actions.egoi.email import MIME_TYPES, GetEmailSenders, SendEmail, SendEmailBatch
from actions.egoi.sandbox import TRANSACTIONAL_PREFIX, create_app
from tests.conftest import KEY, TX

SEND = f"{TX}/email/messages/action/send"
EMAIL = {"senderId": "1", "to": ["ana@example.com"], "subject": "Hi", "textBody": "Hello Ana"}
FIVE_MB = 5 * 1024 * 1024
FUTURE = "2099-12-31 09:30:00"
DEMO = "1"  # the sandbox's seeded scheduled email


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def attachment(**fields) -> dict:
    return {"filename": "hello.txt", "data": b64(b"Hello!"), "mimeType": "text/plain", **fields}


def sent(call):
    return json.loads(call.request.body)


# --- exact upstream requests -------------------------------------------------------------------


@responses.activate
def test_send_email_sends_every_field_by_its_slingshot_name(mocked):
    responses.post(SEND, json=[{"messageId": "5"}], status=201)
    body = {
        **EMAIL,
        "htmlBody": '<p>Hello <img src="cid:1"/></p>',
        "cc": ["rui@example.com"],
        "bcc": ["audit@example.com"],
        "replyToId": "12",
        "senderName": "Shop",
        "domain": "example.com",
        "openTracking": True,
        "clickTracking": False,
        "attachment": [attachment(), attachment(filename="logo.png", mimeType="image/png", arrangement="inline")],
        "mergeTags": ["name:Ana"],
        "priority": "urgent",
        "customData": "order-1",
        "registered": False,
        "group": "orders",
        "scheduleTo": FUTURE,
    }
    r = mocked.post("/egoi/actions/send_email", json=body, headers=KEY)
    assert r.status_code == 201 and r.json == {"messageId": "5"}
    (call,) = responses.calls
    assert call.request.method == "POST" and call.request.url == SEND
    assert call.request.headers["ApiKey"] == "test-key-123"
    expected = {**body, "attachment": [attachment(arrangement="attachment"), body["attachment"][1]]}
    assert sent(call) == [expected]  # arrangement, required upstream, defaults to attachment


@responses.activate
def test_an_attachment_of_exactly_5_mb_is_sent(mocked):
    responses.post(SEND, json=[{"messageId": "5"}], status=201)
    big = attachment(data=b64(b"\0" * FIVE_MB), mimeType="application/pdf", filename="big.pdf")
    r = mocked.post("/egoi/actions/send_email", json={**EMAIL, "attachment": [big]}, headers=KEY)
    assert r.status_code == 201, r.json
    assert len(sent(responses.calls[0])[0]["attachment"][0]["data"]) == len(big["data"])


@responses.activate
def test_send_email_batch_is_one_upstream_call(mocked):
    responses.post(SEND, json=[{"messageId": str(i)} for i in range(100)], status=201)
    batch = [{**EMAIL, "to": [f"user{i}@example.com"]} for i in range(100)]
    r = mocked.post("/egoi/actions/send_email_batch", json={"messages": batch}, headers=KEY)
    assert r.status_code == 201, r.json
    assert r.json == {"messages": [{"messageId": str(i)} for i in range(100)]}
    (call,) = responses.calls
    assert call.request.url == SEND and call.request.headers["ApiKey"] == "test-key-123"
    assert sent(call) == batch


@responses.activate
def test_email_senders_lookup(mocked):
    senders = [{"id": "3", "name": "Shop", "email": "shop@example.com", "senderStatus": "active"}]
    responses.get(f"{TX}/email/senders", json=senders)
    r = mocked.get("/egoi/lookups/email_senders", headers=KEY)
    assert r.status_code == 200 and r.json == {"items": senders}
    (call,) = responses.calls
    assert call.request.method == "GET" and call.request.headers["ApiKey"] == "test-key-123"


@responses.activate
def test_no_message_id_is_502(mocked):
    responses.post(SEND, json=[], status=201)
    assert mocked.post("/egoi/actions/send_email", json=EMAIL, headers=KEY).status_code == 502


# --- bad input: 422 naming the field, nothing sent ----------------------------------------------

NO_BODY = {k: v for k, v in EMAIL.items() if k != "textBody"}


@pytest.mark.parametrize(
    "action,body,field,words",
    [
        ("send_email", NO_BODY, "htmlBody", "htmlBody or textBody"),
        ("send_email", {**NO_BODY, "htmlBody": None}, "htmlBody", "htmlBody or textBody"),
        ("send_email", {**EMAIL, "to": []}, "to", "at least one"),
        ("send_email", {**EMAIL, "to": "nope"}, "to.0", "name@example.com"),  # one address: a list of one
        ("send_email", {**EMAIL, "to": ["nope"]}, "to.0", "name@example.com"),
        ("send_email", {**EMAIL, "cc": ["a@"]}, "cc.0", "name@example.com"),
        ("send_email", {**EMAIL, "bcc": [None]}, "bcc.0", "null"),
        ("send_email", {**EMAIL, "subject": ""}, "subject", "subject"),
        ("send_email", {**EMAIL, "senderId": ""}, "senderId", "sender"),
        ("send_email", {k: v for k, v in EMAIL.items() if k != "senderId"}, "senderId", "required"),
        ("send_email", {**EMAIL, "scheduleTo": "31/12/2099 09:30"}, "scheduleTo", "yyyy-MM-dd HH:mm:ss"),
        ("send_email", {**EMAIL, "mergeTags": ["name"]}, "mergeTags.0", "tagName:tagValue"),
        ("send_email", {**EMAIL, "priority": "low"}, "priority", "urgent, non-urgent"),
        ("send_email", {**EMAIL, "openTracking": "yes"}, "openTracking", "true or false"),
        ("send_email", {**EMAIL, "attachment": [attachment(data="not base64!")]}, "attachment.0.data", "base64"),
        ("send_email", {**EMAIL, "attachment": [attachment(data="SGVsbG8")]}, "attachment.0.data", "multiple of 4"),
        ("send_email", {**EMAIL, "attachment": [attachment(data="SGVs\nbG8h")]}, "attachment.0.data", "line breaks"),
        (
            "send_email",
            {**EMAIL, "attachment": [attachment(data=b64(b"\0" * (FIVE_MB + 1)))]},
            "attachment.0.data",
            "at most 5 MB",
        ),
        (
            "send_email",
            {**EMAIL, "attachment": [attachment(mimeType="application/x-msdownload")]},
            "attachment.0.mimeType",
            "application/pdf",
        ),
        (
            "send_email",
            {**EMAIL, "attachment": [attachment(arrangement="embedded")]},
            "attachment.0.arrangement",
            "inline",
        ),
        (
            "send_email",
            {**EMAIL, "attachment": [{"data": b64(b"x"), "mimeType": "text/plain"}]},
            "attachment.0.filename",
            "required",
        ),
        ("send_email", {**EMAIL, "attachment": [attachment(filename="")]}, "attachment.0.filename", "1 to 255"),
        ("send_email", {**EMAIL, "templateId": "7"}, "templateId", "Unknown"),
        ("send_email_batch", {"messages": []}, "messages", "1 to 100"),
        ("send_email_batch", {"messages": [EMAIL] * 101}, "messages", "1 to 100"),
        ("send_email_batch", {"messages": [EMAIL, NO_BODY]}, "messages.1.htmlBody", "htmlBody or textBody"),
        ("send_email_batch", {"messages": [EMAIL, {**EMAIL, "to": ["x"]}]}, "messages.1.to.0", "name@example.com"),
    ],
)
@responses.activate
def test_bad_input_is_422_and_nothing_is_sent(mocked, action, body, field, words):
    r = mocked.post(f"/egoi/actions/{action}", json=body, headers=KEY)
    assert r.status_code == 422, r.json
    assert r.json["type"].endswith(":validation-error")
    assert field in r.json["errors"], r.json["errors"]
    assert words in " ".join(r.json["errors"][field]), r.json["errors"][field]
    assert len(responses.calls) == 0


def test_the_mime_types_are_the_seeds_list():
    assert len(MIME_TYPES) == len(set(MIME_TYPES)) == 24
    assert {"application/pdf", "image/svg+xml", "application/x-rar-compressed", "video/avi"} <= set(MIME_TYPES)


# --- specs ----------------------------------------------------------------------------------------


def contains(tree, value) -> bool:
    if tree == value:
        return True
    children = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, list) else ()
    return any(contains(child, value) for child in children)


@pytest.mark.parametrize("path", ["/egoi/openapi.json", "/egoi/swagger.json"])
def test_specs_document_the_operations(mocked, path):
    spec = mocked.get(path).json
    for declaration in (SendEmail, SendEmailBatch):
        operation = spec["paths"][f"/actions/{declaration.key}"]["post"]
        assert operation["operationId"] == declaration.operation_id
        assert contains(operation, declaration.response_example)
        if "openapi" in spec:
            assert contains(operation, declaration.example)
    lookup = spec["paths"]["/lookups/email_senders"]["get"]
    assert lookup["operationId"] == "GetEmailSenders" and lookup["x-ms-visibility"] == "internal"
    schemas = spec.get("components", {}).get("schemas") or spec["definitions"]
    sender = schemas["SendEmailInput"]["properties"]["senderId"]
    assert sender["x-ms-dynamic-values"]["operationId"] == "GetEmailSenders"
    assert schemas["AttachmentInput"]["properties"]["data"]["pattern"]
    assert schemas["AttachmentInput"]["properties"]["mimeType"]["enum"][:1] == ["application/pdf"]
    if "openapi" in spec:  # the body rule is documented where the format allows it
        assert schemas["SendEmailInput"]["anyOf"]


# --- the sandbox, on its own ---------------------------------------------------------------------

TX_KEY = {"ApiKey": "k"}
SANDBOX_SEND = f"{TRANSACTIONAL_PREFIX}/email/messages/action/send"


@pytest.fixture()
def sandbox():
    return create_app().test_client()


def test_sandbox_seeds_a_scheduled_demo_email_that_can_be_cancelled(sandbox):
    (demo,) = sandbox.get("/_sandbox/email").get_json()
    assert (demo["messageId"], demo["status"], demo["scheduleTo"]) == (DEMO, "scheduled", FUTURE)
    assert sandbox.delete(f"{TRANSACTIONAL_PREFIX}/messages/{DEMO}/action/cancel", headers=TX_KEY).status_code == 200
    assert sandbox.get("/_sandbox/email").get_json()[0]["status"] == "canceled"
    first = sandbox.post(SANDBOX_SEND, headers=TX_KEY, json=[EMAIL]).get_json()
    assert first == [{"messageId": "2"}]


def test_sandbox_seeded_email_sender(sandbox):
    senders = sandbox.get(f"{TRANSACTIONAL_PREFIX}/email/senders", headers=TX_KEY).get_json()
    assert senders == [{"id": "1", "name": "Demo email sender", "email": "demo@example.com", "senderStatus": "active"}]
    assert sandbox.get(f"{TRANSACTIONAL_PREFIX}/email/senders").status_code == 401


ARRANGED = attachment(arrangement="attachment")


@pytest.mark.parametrize(
    "batch",
    [
        [],
        [EMAIL] * 101,
        {"senderId": "1"},
        [{k: v for k, v in EMAIL.items() if k != "subject"}],
        [{**EMAIL, "senderId": "9"}],
        [{**EMAIL, "to": []}],
        [{**EMAIL, "to": "ana@example.com"}],
        [{**EMAIL, "cc": ["nope"]}],
        [{**EMAIL, "openTracking": "yes"}],
        [{**EMAIL, "priority": "low"}],
        [{**EMAIL, "templateId": "1"}],
        [{**EMAIL, "header": {"listUnsubscribe": True}}],
        [{**EMAIL, "attachment": [attachment()]}],  # arrangement is required by the spec
        [{**EMAIL, "attachment": [{**ARRANGED, "mimeType": "application/x-msdownload"}]}],
        [{**EMAIL, "attachment": [{**ARRANGED, "data": "@@@"}]}],
        [{**EMAIL, "attachment": [{**ARRANGED, "data": b64(b"\0" * (FIVE_MB + 1))}]}],
        [{**EMAIL, "mergeTags": ["x"]}],
        [{**EMAIL, "scheduleTo": "2099-13-01 00:00:00"}],
        [EMAIL, {**EMAIL, "to": ["bad"]}],
    ],
)
def test_sandbox_refuses_bad_emails_with_400_and_sends_none(sandbox, batch):
    r = sandbox.post(SANDBOX_SEND, headers=TX_KEY, json=batch)
    assert r.status_code == 400 and r.get_json()["title"] == "Bad Request", r.get_json()
    assert [m["messageId"] for m in sandbox.get("/_sandbox/email").get_json()] == [DEMO]


def test_sandbox_outbox_keeps_attachment_summaries_and_shares_ids_with_sms(sandbox):
    sms = sandbox.post(
        f"{TRANSACTIONAL_PREFIX}/sms/messages/action/send",
        headers=TX_KEY,
        json=[{"to": "351-912345678", "from": "1", "textBody": "x"}],
    ).get_json()
    ids = sandbox.post(
        SANDBOX_SEND, headers=TX_KEY, json=[{**EMAIL, "attachment": [ARRANGED]}, {**EMAIL, "scheduleTo": FUTURE}]
    ).get_json()
    assert len({sms[0]["messageId"], *(i["messageId"] for i in ids)}) == 3
    outbox = sandbox.get("/_sandbox/email").get_json()[:-1]  # the last is the seeded demo
    assert [m["messageId"] for m in outbox] == [i["messageId"] for i in ids][::-1]
    assert [m["status"] for m in outbox] == ["scheduled", "delivered"]
    assert outbox[1]["attachment"] == [
        {"filename": "hello.txt", "mimeType": "text/plain", "arrangement": "attachment", "size": 6}
    ]
    assert outbox[1]["openTracking"] is False and outbox[1]["group"] == "default"
    cancel = f"{TRANSACTIONAL_PREFIX}/messages/{ids[1]['messageId']}/action/cancel"
    assert sandbox.delete(cancel, headers=TX_KEY).status_code == 200
    assert sandbox.get("/_sandbox/email").get_json()[0]["status"] == "canceled"


# --- end to end against the sandbox ----------------------------------------------------------------


def outbox(egoi_sandbox) -> list[dict]:
    """The emails sent by the test, newest first (without the seeded demo)."""
    kept = egoi_sandbox.app.test_client().get("/_sandbox/email").get_json()
    return [message for message in kept if message["messageId"] != DEMO]


def test_e2e_examples_work(client):
    for declaration in (SendEmail, SendEmailBatch):
        r = client.post(f"/egoi/actions/{declaration.key}", json=declaration.example, headers=KEY)
        assert r.status_code == 201, (declaration.key, r.json)
    senders = client.get(f"/egoi/lookups/{GetEmailSenders.key}", headers=KEY)
    assert senders.status_code == 200 and senders.json["items"][0]["id"] == "1"


def test_e2e_send_with_attachment_lands_in_the_outbox(client, egoi_sandbox):
    body = {**EMAIL, "htmlBody": "<p>Hi</p>", "attachment": [attachment()], "mergeTags": ["name:Ana"]}
    r = client.post("/egoi/actions/send_email", json=body, headers=KEY)
    assert r.status_code == 201, r.json
    (kept,) = outbox(egoi_sandbox)
    assert kept["messageId"] == r.json["messageId"] and kept["status"] == "delivered"
    assert kept["to"] == ["ana@example.com"] and kept["htmlBody"] == "<p>Hi</p>"
    assert kept["attachment"][0]["arrangement"] == "attachment" and kept["attachment"][0]["size"] == 6


def test_e2e_batch_all_or_nothing(client, egoi_sandbox):
    r = client.post(
        "/egoi/actions/send_email_batch", json={"messages": [EMAIL, {**EMAIL, "senderId": "9"}]}, headers=KEY
    )
    assert r.status_code == 422 and r.json["type"].endswith(":upstream-rejected")
    assert outbox(egoi_sandbox) == []
    ok = client.post("/egoi/actions/send_email_batch", json={"messages": [EMAIL, EMAIL]}, headers=KEY)
    assert ok.status_code == 201 and len(outbox(egoi_sandbox)) == 2


def test_e2e_scheduled_email_can_be_cancelled_once(client, egoi_sandbox):
    sent_ = client.post("/egoi/actions/send_email", json={**EMAIL, "scheduleTo": FUTURE}, headers=KEY).json
    assert outbox(egoi_sandbox)[0]["status"] == "scheduled"
    r = client.post("/egoi/actions/cancel_scheduled_message", json=sent_, headers=KEY)
    assert r.status_code == 200 and r.json["status"] == "canceled"
    assert outbox(egoi_sandbox)[0]["status"] == "canceled"
    assert client.post("/egoi/actions/cancel_scheduled_message", json=sent_, headers=KEY).status_code == 409
