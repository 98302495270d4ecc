"""The E-goi sandbox's webhooks: registration as the specs say, and callbacks over real HTTP to a local receiver."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from actions.egoi.sandbox import MARKETING_PREFIX, TRANSACTIONAL_PREFIX, create_app
from actions.egoi.sandbox.webhooks import V3_ACTIONS, dispatcher, shown_url, wait_idle

KEY = {"Apikey": "test-key"}
TX_KEY = {"ApiKey": "test-key"}
V3_TYPE = "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
TX_TYPE = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
HOOKS = f"{MARKETING_PREFIX}/webhooks"
TX_HOOKS = f"{TRANSACTIONAL_PREFIX}/webhooks"
CONTACTS = f"{MARKETING_PREFIX}/lists/1/contacts"
SEND_SMS = f"{TRANSACTIONAL_PREFIX}/sms/messages/action/send"
SEND_EMAIL = f"{TRANSACTIONAL_PREFIX}/email/messages/action/send"


class Receiver:
    """A callback endpoint on 127.0.0.1: keeps every JSON body; answers ``statuses`` in turn, then 200."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        self.url = ""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.bodies.append(json.loads(request.get_data()))
            self.headers.append(dict(request.headers))
            status = self.statuses.pop(0) if self.statuses else 200
        return Response(b"", status=status)(environ, start_response)

    def events(self) -> list[dict[str, Any]]:
        """Every event received, in order, flattened out of their batches."""
        with self.lock:
            return [event for body in self.bodies for event in body]


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = make_server("127.0.0.1", 0, receiver, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}/hook"
    yield receiver
    server.shutdown()
    thread.join(5)


@pytest.fixture()
def app():
    app = create_app()
    dispatcher(app).retry_delays = (0.01, 0.01)  # the real 0.2 s / 1 s would only slow the failure tests
    yield app
    assert wait_idle(app, 10)


@pytest.fixture()
def client(app):
    return app.test_client()


def settle(app) -> None:
    assert wait_idle(app, 10)


def without_dates(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with ``actionDate`` checked (epoch ms, increasing) and removed, to compare the rest exactly."""
    dates = [event["actionDate"] for event in events]
    assert all(isinstance(d, int) and d > 1_600_000_000_000 for d in dates), dates
    assert dates == sorted(dates) and len(set(dates)) == len(dates), dates
    assert all(list(event) == ["action", "actionDate", "data"] for event in events)
    return [{key: value for key, value in event.items() if key != "actionDate"} for event in events]


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released), so a connection to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def epoch_ms(date_time: str) -> int:
    """E-goi's ``YYYY-MM-DD hh:mm:ss`` (UTC) as the epoch milliseconds the callbacks carry."""
    return int(datetime.strptime(date_time, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()) * 1000


def v3_hook(client, url: str, actions: list[str], **extra: Any) -> dict[str, Any]:
    response = client.post(HOOKS, headers=KEY, json={"list_id": 1, "url": url, "actions": actions, **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def tx_hook(client, url: str, channel: str, actions: list[str] | None = None) -> str:
    body = {"url": url, "channel": channel, **({} if actions is None else {"actions": actions})}
    response = client.post(TX_HOOKS, headers=TX_KEY, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["webhookId"]


def create_contact(client, base: dict[str, Any], **extra: Any) -> str:
    response = client.post(CONTACTS, headers=KEY, json={"base": base, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["contact_id"]


def send_sms(client, **fields: Any) -> str:
    message = {"to": "351-912345678", "from": "1", "textBody": "Hello", **fields}
    response = client.post(SEND_SMS, headers=TX_KEY, json=[message])
    assert response.status_code == 201, response.get_json()
    return response.get_json()[0]["messageId"]


def send_email(client, to: list[str], **fields: Any) -> str:
    message = {"senderId": "1", "to": to, "subject": "Hi", "textBody": "Hello", **fields}
    response = client.post(SEND_EMAIL, headers=TX_KEY, json=[message])
    assert response.status_code == 201, response.get_json()
    return response.get_json()[0]["messageId"]


def problem(response, status: int, title: str, type_: str = V3_TYPE) -> dict[str, Any]:
    body = response.get_json()
    assert response.status_code == status, body
    assert {"type": type_, "title": title, "status": status}.items() <= body.items()
    return body


# --- Marketing v3: registration ------------------------------------------------------------------


def test_v3_create_answers_200_with_the_webhook_and_lists_it(client, receiver):
    hook = v3_hook(client, receiver.url, ["subscription", "edit_subscription"], fields=["email", "1"])
    assert hook == {
        "webhook_id": 1,
        "list_id": 1,
        "url": receiver.url,
        "actions": ["subscription", "edit_subscription"],
        "fields": ["email", "1"],
    }
    second = v3_hook(client, "https://example.com/x", ["unsubscribe"])
    assert second["webhook_id"] == 2 and second["fields"] == []
    listed = client.get(HOOKS, headers=KEY).get_json()
    assert listed == {"total_items": 2, "items": [hook, second]}
    assert client.get(f"{HOOKS}?offset=1&limit=1", headers=KEY).get_json() == {"total_items": 2, "items": [second]}
    assert client.get(HOOKS).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"list_id": 1, "url": "ftp://example.com/hook", "actions": ["subscription"]}, "url"),
        ({"list_id": 1, "url": "not a url", "actions": ["subscription"]}, "url"),
        ({"list_id": 1, "url": "https://", "actions": ["subscription"]}, "url"),
        ({"list_id": 1, "actions": ["subscription"]}, "url"),
        ({"list_id": 1, "url": "https://example.com", "actions": ["contact_created"]}, "actions"),
        ({"list_id": 1, "url": "https://example.com", "actions": []}, "actions"),
        ({"list_id": 1, "url": "https://example.com", "actions": ["subscription", "subscription"]}, "actions"),
        ({"list_id": 1, "url": "https://example.com"}, "actions"),
        ({"list_id": "1", "url": "https://example.com", "actions": ["subscription"]}, "list_id"),
        ({"list_id": 99, "url": "https://example.com", "actions": ["subscription"]}, "list_id"),
        ({"list_id": 1, "url": "https://example.com", "actions": ["subscription"], "fields": ["fax"]}, "fields"),
        ({"list_id": 1, "url": "https://example.com", "actions": ["subscription"], "fields": ["8"]}, "fields"),
        ({"list_id": 1, "url": "https://example.com", "actions": ["subscription"], "fields": [1]}, "fields"),
    ],
)
def test_v3_create_checks_like_the_spec(client, body, field):
    response = client.post(HOOKS, headers=KEY, json=body)
    errors = problem(response, 422, "Unprocessable Entity")["errors"]
    assert list(errors) == [field] and all(isinstance(m, str) and m for m in errors[field]), errors
    assert client.get(HOOKS, headers=KEY).get_json()["total_items"] == 0


def test_v3_unknown_action_is_named_and_every_spec_action_is_accepted(client):
    errors = problem(
        client.post(HOOKS, headers=KEY, json={"list_id": 1, "url": "http://x.io", "actions": ["nope"]}),
        422,
        "Unprocessable Entity",
    )["errors"]
    assert "'nope'" in errors["actions"][0]
    assert v3_hook(client, "http://x.io", list(V3_ACTIONS))["actions"] == list(V3_ACTIONS)


def test_v3_malformed_bodies(client):
    assert problem(client.post(HOOKS, headers=KEY, data="{", content_type="application/json"), 400, "Bad Request")
    assert problem(client.post(HOOKS, headers=KEY, json=[1]), 422, "Unprocessable Entity")


def test_v3_delete_is_204_then_404(client):
    hook = v3_hook(client, "https://example.com/h", ["subscription"])
    assert client.delete(f"{HOOKS}/{hook['webhook_id']}", headers=KEY).status_code == 204
    assert client.get(HOOKS, headers=KEY).get_json() == {"total_items": 0, "items": []}
    problem(client.delete(f"{HOOKS}/{hook['webhook_id']}", headers=KEY), 404, "NotFound")
    problem(client.delete(f"{HOOKS}/77", headers=KEY), 404, "NotFound")


# --- Marketing v3: contact callbacks -------------------------------------------------------------


def test_contact_create_and_update_fire_in_order_with_exact_bodies(app, client, receiver):
    v3_hook(
        client,
        receiver.url,
        ["subscription", "edit_subscription", "change_consent"],
        fields=["email", "first_name", "1"],
    )
    contact_id = create_contact(
        client,
        {"email": "ana@example.com", "first_name": "Ana", "last_name": "Silva"},
        extra=[{"field_id": 1, "value": "Acme"}, {"field_id": 3, "value": "Porto"}],
    )
    patch = client.patch(
        f"{CONTACTS}/{contact_id}", headers=KEY, json={"base": {"first_name": "Ana Maria", "consent": "contract"}}
    )
    assert patch.status_code == 200
    settle(app)

    def data(first_name: str, consent: str) -> dict[str, Any]:
        return {
            "list_id": 1,
            "contact_id": contact_id,
            "base": {
                "contact_id": contact_id,
                "status": "active",
                "consent": consent,
                "email": "ana@example.com",
                "first_name": first_name,
            },
            "extra": [{"field_id": 1, "format": "text", "value": "Acme"}],
        }

    assert without_dates(receiver.events()) == [
        {"action": "subscription", "data": data("Ana", "consent")},
        {"action": "edit_subscription", "data": data("Ana Maria", "contract")},
        {"action": "change_consent", "data": data("Ana Maria", "contract")},
    ]
    assert [len(body) for body in receiver.bodies] == [1, 1, 1]  # one event per POST
    assert receiver.headers[0]["Content-Type"] == "application/json"


def test_without_fields_the_whole_contact_is_sent_and_only_listened_actions_fire(app, client, receiver):
    v3_hook(client, receiver.url, ["edit_subscription", "email_field_disable", "resubscription"])
    contact_id = create_contact(client, {"email": "rui@example.com", "status": "removed"})
    client.patch(
        f"{CONTACTS}/{contact_id}", headers=KEY, json={"base": {"status": "active", "email_status": "inactive"}}
    )
    settle(app)
    events = without_dates(receiver.events())
    assert [e["action"] for e in events] == ["edit_subscription", "resubscription", "email_field_disable"]
    stored = client.get(f"{CONTACTS}/{contact_id}", headers=KEY).get_json()
    assert events[0]["data"] == {"list_id": 1, "contact_id": contact_id, "base": stored["base"], "extra": []}


def test_attaching_a_tag_fires_nothing(app, client, receiver):
    v3_hook(client, receiver.url, ["edit_subscription"])
    contact_id = create_contact(client, {"email": "tag@example.com"})
    body = {"tag_id": 1, "contacts": [contact_id]}
    assert client.post(f"{CONTACTS}/actions/attach-tag", headers=KEY, json=body).status_code == 202
    settle(app)
    assert receiver.bodies == []


def test_deleting_a_webhook_stops_its_callbacks(app, client, receiver):
    hook = v3_hook(client, receiver.url, ["subscription"])
    create_contact(client, {"email": "one@example.com"})
    settle(app)
    assert client.delete(f"{HOOKS}/{hook['webhook_id']}", headers=KEY).status_code == 204
    create_contact(client, {"email": "two@example.com"})
    settle(app)
    assert [e["data"]["base"]["email"] for e in receiver.events()] == ["one@example.com"]


def test_many_events_arrive_in_order(app, client, receiver):
    v3_hook(client, receiver.url, ["subscription"], fields=["email"])
    emails = [f"c{i}@example.com" for i in range(15)]
    for email in emails:
        create_contact(client, {"email": email})
    settle(app)
    assert [e["data"]["base"]["email"] for e in receiver.events()] == emails


def test_hold_and_flush_send_one_batch_per_webhook(app, client, receiver):
    v3_hook(client, receiver.url, ["subscription"], fields=["email"])
    assert client.post("/_sandbox/webhooks/hold").get_json() == {"hold": True}
    create_contact(client, {"email": "a@example.com"})
    create_contact(client, {"email": "b@example.com"})
    settle(app)
    assert receiver.bodies == []
    assert client.post("/_sandbox/webhooks/flush").get_json() == {"deliveries": 1}
    assert client.post("/_sandbox/webhooks/wait?timeout=5").get_json() == {"idle": True}
    (body,) = receiver.bodies
    assert [e["data"]["base"]["email"] for e in body] == ["a@example.com", "b@example.com"]
    create_contact(client, {"email": "c@example.com"})  # back to one event per POST
    settle(app)
    assert len(receiver.bodies) == 2 and len(receiver.bodies[1]) == 1


# --- delivery: retries, failures, the log ---------------------------------------------------------


def test_a_failing_receiver_is_retried_then_succeeds_and_the_log_shows_it(app, client, receiver):
    v3_hook(client, receiver.url, ["subscription"], fields=["email"])
    receiver.statuses = [500, 503]
    create_contact(client, {"email": "retry@example.com"})
    settle(app)
    assert len(receiver.bodies) == 3 and receiver.bodies[0] == receiver.bodies[2]
    (entry,) = client.get("/_sandbox/webhooks/log").get_json()
    assert entry["api"] == "marketing" and entry["webhook_id"] == 1 and entry["url"] == receiver.url
    assert entry["body"] == receiver.bodies[2]
    assert (entry["status"], entry["delivered"], entry["attempts"], entry["error"]) == (200, True, 3, None)


def test_a_dead_receiver_is_dropped_after_the_retries_and_logged(app, client, receiver, caplog):
    v3_hook(client, f"http://127.0.0.1:{closed_port()}/nobody-listens", ["subscription"], fields=["email"])
    hook = v3_hook(client, receiver.url, ["subscription"], fields=["email"])
    receiver.statuses = [500, 500, 500]
    create_contact(client, {"email": "lost@example.com"})
    settle(app)
    create_contact(client, {"email": "next@example.com"})
    settle(app)
    log = client.get("/_sandbox/webhooks/log").get_json()  # newest first
    assert [(e["webhook_id"], e["delivered"]) for e in log] == [(2, True), (1, False), (2, False), (1, False)]
    refused, rejected = log[3], log[2]
    assert refused["status"] is None and refused["attempts"] == 3 and "ConnectionError" in refused["error"]
    assert rejected["status"] == 500 and rejected["attempts"] == 3 and rejected["error"] == "HTTP 500"
    assert hook["webhook_id"] == 2 and [e["data"]["base"]["email"] for e in receiver.events()][-1] == "next@example.com"
    assert "dropped a webhook callback" in caplog.text
    assert client.delete("/_sandbox/webhooks/log").status_code == 204
    assert client.get("/_sandbox/webhooks/log").get_json() == []


def test_wait_endpoint_checks_its_timeout(client):
    assert client.post("/_sandbox/webhooks/wait").get_json() == {"idle": True}
    assert client.post("/_sandbox/webhooks/wait?timeout=abc").status_code == 422


# --- Transactional v2: registration --------------------------------------------------------------


def test_tx_create_list_filter_and_delete(client):
    assert tx_hook(client, "https://example.com/sms", "sms", ["processed", "delivered"]) == "1"
    assert tx_hook(client, "www.your-server/webhook/events", "email") == "2"
    sms_hook = {
        "id": "1",
        "channel": "sms",
        "callbackUrl": "https://example.com/sms",
        "actions": ["processed", "delivered"],
    }
    email_hook = {"id": "2", "channel": "email", "callbackUrl": "www.your-server/webhook/events", "actions": []}
    assert client.get(TX_HOOKS, headers=TX_KEY).get_json() == [sms_hook, email_hook]
    assert client.get(f"{TX_HOOKS}?channel=email", headers=TX_KEY).get_json() == [email_hook]
    assert client.get(f"{TX_HOOKS}?channel=other", headers=TX_KEY).get_json() == [sms_hook, email_hook]
    problem(client.delete(f"{TX_HOOKS}?id=1&channel=email", headers=TX_KEY), 404, "Not Found", TX_TYPE)
    assert client.delete(f"{TX_HOOKS}?id=1&channel=sms", headers=TX_KEY).status_code == 204
    assert client.delete(f"{TX_HOOKS}?url=www.your-server/webhook/events", headers=TX_KEY).status_code == 204
    assert client.get(TX_HOOKS, headers=TX_KEY).get_json() == []
    problem(client.delete(f"{TX_HOOKS}?id=1", headers=TX_KEY), 404, "Not Found", TX_TYPE)
    problem(client.delete(TX_HOOKS, headers=TX_KEY), 400, "Bad Request", TX_TYPE)
    assert client.get(TX_HOOKS).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://example.com", "channel": "voice"},
        {"url": "https://example.com"},
        {"channel": "sms"},
        {"url": "ftp://example.com", "channel": "sms"},
        {"url": "https://example.com", "channel": "sms", "actions": ["click"]},
        {"url": "https://example.com", "channel": "email", "actions": ["opened"]},
        {"url": "https://example.com", "channel": "email", "actions": "click"},
        {"url": "https://example.com", "channel": "email", "actions": ["click", "click"]},
        ["https://example.com"],
    ],
)
def test_tx_create_checks_are_400(client, body):
    problem(client.post(TX_HOOKS, headers=TX_KEY, json=body), 400, "Bad Request", TX_TYPE)
    assert client.get(TX_HOOKS, headers=TX_KEY).get_json() == []


# --- Transactional v2: message callbacks ---------------------------------------------------------


def test_sms_lifecycle_callbacks(app, client, receiver):
    tx_hook(client, receiver.url, "sms")
    first = send_sms(client, customData="order-42")
    second = send_sms(client, to="351-910000999", group="alerts")
    settle(app)
    events = without_dates(receiver.events())
    created = {m["messageId"]: m["createDate"] for m in client.get("/_sandbox/sms").get_json()}

    def data(message_id: str, to: str, recipient_id: int, group_id: int, **custom: str) -> dict[str, Any]:
        return {
            "recipientMobile": to,
            "groupId": group_id,
            "recipientId": recipient_id,
            "senderMobile": "351-910000000",
            "messageId": int(message_id),
            **custom,
            "createDate": epoch_ms(created[message_id]),
        }

    ok = data(first, "351-912345678", 1, 1, customData="order-42")
    failing = data(second, "351-910000999", 2, 2)
    assert events == [
        {"action": "processed", "data": ok},
        {"action": "sent", "data": ok},
        {"action": "delivered", "data": ok},
        {"action": "processed", "data": failing},
        {"action": "failed", "data": failing},
    ]


def test_sms_canceled_recipient_and_action_filter(app, client, receiver):
    tx_hook(client, receiver.url, "sms", ["canceled", "delivered"])
    send_sms(client, to="351-910000998")
    send_sms(client)
    settle(app)
    assert [(e["action"], e["data"]["recipientMobile"]) for e in receiver.events()] == [
        ("canceled", "351-910000998"),
        ("delivered", "351-912345678"),
    ]


def test_email_lifecycles_per_recipient(app, client, receiver):
    tx_hook(client, receiver.url, "email")
    tx_hook(client, receiver.url, "sms")  # an SMS webhook hears no email
    message_id = send_email(
        client, ["ana@example.com", "bounce@example.com"], cc=["failed@example.com"], bcc=["canceled@example.com"]
    )
    settle(app)
    events = receiver.events()
    assert [(e["action"], e["data"]["recipientEmail"]) for e in events] == [
        ("processed", "ana@example.com"),
        ("sent", "ana@example.com"),
        ("delivered", "ana@example.com"),
        ("processed", "bounce@example.com"),
        ("sent", "bounce@example.com"),
        ("bounce", "bounce@example.com"),
        ("processed", "failed@example.com"),
        ("failed", "failed@example.com"),
        ("canceled", "canceled@example.com"),
    ]
    (record,) = [m for m in client.get("/_sandbox/email").get_json() if m["messageId"] == message_id]
    assert events[0]["data"] == {
        "groupId": 1,
        "recipientId": 1,
        "messageId": int(message_id),
        "createDate": epoch_ms(record["createDate"]),
        "recipientEmail": "ana@example.com",
    }
    assert [e["data"]["recipientId"] for e in events[::3]] == [1, 2, 3]


def test_simulated_opens_and_clicks(app, client, receiver):
    tx_hook(client, receiver.url, "email", ["view", "click", "abuse"])
    tracked = send_email(
        client, ["ana@example.com", "rui@example.com"], openTracking=True, clickTracking=True, customData="c1"
    )
    plain = send_email(client, ["ana@example.com"])
    settle(app)
    assert receiver.bodies == []  # nothing listened to yet
    response = client.post(f"/_sandbox/messages/{tracked}/events", json={"event": "view"})
    assert response.status_code == 202
    assert response.get_json() == {"messageId": tracked, "event": "view", "recipient": "ana@example.com", "webhooks": 1}
    client.post(f"/_sandbox/messages/{tracked}/events", json={"event": "click", "recipient": "rui@example.com"})
    client.post(f"/_sandbox/messages/{tracked}/events", json={"event": "abuse"})
    settle(app)
    assert [(e["action"], e["data"]["recipientEmail"], e["data"]["customData"]) for e in receiver.events()] == [
        ("view", "ana@example.com", "c1"),
        ("click", "rui@example.com", "c1"),
        ("abuse", "ana@example.com", "c1"),
    ]
    assert client.post(f"/_sandbox/messages/{plain}/events", json={"event": "click"}).status_code == 409
    assert client.post(f"/_sandbox/messages/{plain}/events", json={"event": "view"}).status_code == 409
    errors = problem(
        client.post(f"/_sandbox/messages/{plain}/events", json={"event": "opened", "recipient": "x@y.z"}),
        422,
        "Unprocessable Entity",
    )["errors"]
    assert set(errors) == {"event", "recipient"}
    assert client.post("/_sandbox/messages/999/events", json={"event": "click"}).status_code == 404
    assert client.post("/_sandbox/messages/1/events", json={"event": "click"}).status_code == 404  # scheduled demo


def test_simulated_sms_events(app, client, receiver):
    tx_hook(client, receiver.url, "sms", ["failed"])
    message_id = send_sms(client)
    assert client.post(f"/_sandbox/messages/{message_id}/events", json={"event": "click"}).status_code == 422
    assert client.post(f"/_sandbox/messages/{message_id}/events", json={"event": "failed"}).status_code == 202
    settle(app)
    assert [e["action"] for e in receiver.events()] == ["failed"]


def test_messages_without_webhooks_fire_nothing_and_the_log_stays_empty(app, client):
    send_sms(client)
    send_email(client, ["ana@example.com"])
    settle(app)
    assert client.get("/_sandbox/webhooks/log").get_json() == []


# --- the log shows no capability ------------------------------------------------------------------

TOKEN = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-token"


def test_the_log_page_shows_receiver_tokens_and_query_strings_cut(app, client, receiver):
    base = receiver.url.removesuffix("/hook")
    url = f"{base}/egoi/hooks/{TOKEN}?sig=very-secret-signature"
    v3_hook(client, url, ["subscription"], fields=["email"])
    create_contact(client, {"email": "ana@example.com"})
    settle(app)
    assert len(receiver.bodies) == 1  # delivered to the whole URL
    page = client.get("/_sandbox/webhooks/log")
    (entry,) = page.get_json()
    assert entry["url"] == f"{base}/egoi/hooks/AbCd…?…" and entry["delivered"] is True
    assert TOKEN[4:12] not in page.get_data(as_text=True) and "very-secret" not in page.get_data(as_text=True)
    (whole,) = dispatcher(app).entries()  # in-process, the whole URL is still there for tests and tools
    assert whole["url"] == url


def test_a_failed_callback_shows_no_token_in_its_error_nor_in_the_service_log(app, client, caplog):
    url = f"http://127.0.0.1:{closed_port()}/egoi/hooks/{TOKEN}?sig=very-secret-signature"
    v3_hook(client, url, ["subscription"], fields=["email"])
    tx_hook(client, f"127.0.0.1:{closed_port()}/slingshot/{TOKEN}", "sms", ["processed"])  # scheme-less form
    create_contact(client, {"email": "ana@example.com"})
    send_sms(client)
    settle(app)
    page = client.get("/_sandbox/webhooks/log")
    text = page.get_data(as_text=True)
    assert {entry["delivered"] for entry in page.get_json()} == {False}
    assert all("ConnectionError" in entry["error"] for entry in page.get_json())
    assert [entry["url"].rsplit("/", 1)[1] for entry in page.get_json()] == ["AbCd…", "AbCd…?…"]
    assert page.get_json()[0]["url"].startswith("127.0.0.1:")  # shown as registered, without a scheme
    assert TOKEN[4:12] not in text and "very-secret" not in text
    assert "dropped a webhook callback" in caplog.text
    assert TOKEN[4:12] not in caplog.text and "very-secret" not in caplog.text
    assert {entry["url"] for entry in dispatcher(app).entries()} >= {url}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:5000/hook", "http://127.0.0.1:5000/hook"),
        (f"https://svc.example.com/egoi/hooks/{TOKEN}", "https://svc.example.com/egoi/hooks/AbCd…"),
        (f"https://svc.example.com/egoi/subscriptions/{TOKEN}", "https://svc.example.com/egoi/subscriptions/AbCd…"),
        ("https://svc.example.com/egoi/hooks/abcdef", "https://svc.example.com/egoi/hooks/abcd…"),
        (
            "https://prod-01.westeurope.logic.azure.com:443/workflows/0123456789abcdef0123456789abcdef/triggers/"
            "manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers&sig=SIGSIGSIG",
            "https://prod-01.westeurope.logic.azure.com:443/workflows/0123…/triggers/manual/paths/invoke?…",
        ),
        (
            "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "https://hooks.slack.com/services/T0000/B0000/XXXX…",
        ),
        ("https://user:password@example.com/x#frag", "https://example.com/x#…"),
        ("www.your-server/webhook/events", "www.your-server/webhook/events"),
    ],
)
def test_shown_url(url, shown):
    assert shown_url(url) == shown
