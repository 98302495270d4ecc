"""E-goi triggers through the whole chain, over real HTTP: the service in sandbox mode, the E-goi
emulator calling the service's receiver, the outbox, the worker and a subscriber that verifies the
Standard Webhooks signature; and polling through the service's HTTP contract."""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
import requests
from conftest import TEST_SETTINGS
from cryptography.fernet import Fernet
from standardwebhooks import Webhook
from werkzeug.serving import make_server

from actions.egoi.sandbox.webhooks import wait_idle
from connector.app import create_app, create_worker
from connector.testing.network import free_port
from connector.testing.subscriber import running_subscriber
from connector.wiring import runtime_of

KEY = {"Apikey": "e2e-key"}


@pytest.fixture
def service(tmp_path):
    """The service on a real port (the emulator calls its receiver there), in sandbox mode."""
    port = free_port()
    app = create_app(
        {
            **TEST_SETTINGS,
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "SANDBOX": True,
            "CATALOGS": "egoi",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "SECRET_KEY": Fernet.generate_key().decode(),
            "ALLOW_PRIVATE_CALLBACKS": True,
            "DELIVERY_SCHEDULE": "0.05,0.05",
        }
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    app.config["URL"] = f"http://127.0.0.1:{port}"
    yield app
    server.shutdown()
    runtime_of(app).sandboxes["egoi"].stop()


def call(app, method: str, path: str, **kwargs):
    return requests.request(method, f"{app.config['URL']}{path}", headers=KEY, timeout=10, **kwargs)


def settle(app) -> None:
    """Let the emulator post its callbacks, then deliver what reached the outbox."""
    assert wait_idle(runtime_of(app).sandboxes["egoi"].app, 10)
    create_worker(app).drain()


def test_a_contact_created_through_the_service_reaches_the_subscriber_signed(service):
    with running_subscriber() as subscriber:
        subscribed = call(
            service,
            "POST",
            "/egoi/triggers/when_contact_event",
            json={"callback_url": subscriber.url, "list_id": 1, "actions": ["subscription"]},
        )
        assert subscribed.status_code == 201
        created = call(service, "POST", "/egoi/actions/create_contact", json={"list_id": 1, "email": "ana@example.com"})
        contact_id = created.json()["contact_id"]
        call(
            service,
            "POST",
            "/egoi/actions/update_contact",
            json={"list_id": 1, "contact_id": contact_id, "first_name": "Ana"},
        )
        settle(service)
        delivered = subscriber.delivered()
    assert len(delivered) == 1  # edit_subscription was not picked
    event = orjson.loads(delivered[0]["body"])
    assert (event["action"], event["contact_id"], event["email"]) == ("subscription", contact_id, "ana@example.com")
    Webhook(subscribed.json()["secret"]).verify(delivered[0]["body"], delivered[0]["headers"])


def test_sms_statuses_reach_the_subscriber_in_order_and_unsubscribe_stops_them(service):
    with running_subscriber() as subscriber:
        subscribed = call(
            service,
            "POST",
            "/egoi/triggers/when_message_status_changes",
            json={"callback_url": subscriber.url, "channels": ["sms"], "actions": ["processed", "sent", "delivered"]},
        ).json()
        sent = call(
            service, "POST", "/egoi/actions/send_sms", json={"to": "351-912345678", "from": "1", "textBody": "Hi"}
        )
        settle(service)
        statuses = [orjson.loads(d["body"])["action"] for d in subscriber.delivered()]
        assert statuses == ["processed", "sent", "delivered"]
        assert {orjson.loads(d["body"])["message_id"] for d in subscriber.delivered()} == {sent.json()["messageId"]}

        assert requests.delete(subscribed["url"], timeout=10).status_code == 204  # no API key, as Power Automate
        call(service, "POST", "/egoi/actions/send_sms", json={"to": "351-912345678", "from": "1", "textBody": "Again"})
        settle(service)
        assert len(subscriber.delivered()) == 3
    sandbox = runtime_of(service).sandboxes["egoi"].url
    remaining = requests.get(f"{sandbox}/slingshot/api/v2/webhooks", headers={"ApiKey": "e2e-key"}, timeout=5).json()
    assert remaining == []  # removed upstream too


def test_polling_new_contacts_through_the_service(service):
    first = call(service, "GET", "/egoi/triggers/when_contact_created", params={"list_id": 1}, allow_redirects=False)
    assert first.status_code == 202
    emails = [f"user{i}@example.com" for i in range(130)]
    for email in emails:
        call(service, "POST", "/egoi/actions/create_contact", json={"list_id": 1, "email": email})
    polled = requests.get(first.headers["Location"], headers=KEY, timeout=10, allow_redirects=False)
    assert polled.status_code == 200
    assert [item["email"] for item in polled.json()] == list(reversed(emails))
    again = requests.get(polled.headers["Location"], headers=KEY, timeout=10, allow_redirects=False)
    assert again.status_code == 202
    state = parse_qs(urlsplit(again.headers["Location"]).query)["triggerState"]
    assert state == parse_qs(urlsplit(polled.headers["Location"]).query)["triggerState"]


def test_recent_new_contacts_are_all_of_a_burst_newest_first(service):
    """Zapier polls ``/recent`` and handles up to 100 new items per poll: a burst of 30 all shows."""
    emails = [f"burst{i}@example.com" for i in range(30)]
    for email in emails:
        call(service, "POST", "/egoi/actions/create_contact", json={"list_id": 1, "email": email})
    listed = call(service, "GET", "/egoi/triggers/when_contact_created/recent", params={"list_id": 1}).json()
    assert [item["email"] for item in listed] == list(reversed(emails))
    assert len({item["id"] for item in listed}) == 30
    five = call(service, "GET", "/egoi/triggers/when_contact_created/recent", params={"list_id": 1, "limit": 5})
    assert [item["email"] for item in five.json()] == list(reversed(emails))[:5]


def test_a_webhook_triggers_recent_events_are_the_delivered_ones(service):
    """Zapier's performList for a REST hook: the events this credential's subscriptions received,
    exactly as delivered, for the parameters asked for."""
    path = "/egoi/triggers/when_contact_event"
    with running_subscriber() as subscriber:
        params = {"list_id": 1, "actions": ["subscription", "edit_subscription"]}
        assert call(service, "GET", f"{path}/recent", params=params).json() == []
        call(service, "POST", path, json={"target_url": subscriber.url, **params})
        created = call(service, "POST", "/egoi/actions/create_contact", json={"list_id": 1, "email": "bo@example.com"})
        contact_id = created.json()["contact_id"]
        call(
            service,
            "POST",
            "/egoi/actions/update_contact",
            json={"list_id": 1, "contact_id": contact_id, "last_name": "B"},
        )
        settle(service)
        delivered = [orjson.loads(d["body"]) for d in subscriber.delivered()]
    assert [e["action"] for e in delivered] == ["subscription", "edit_subscription"]
    assert call(service, "GET", f"{path}/recent", params=params).json() == delivered[::-1]
    only_new = call(service, "GET", f"{path}/recent", params={"list_id": 1, "actions": "subscription"}).json()
    assert only_new == [delivered[0]]
    assert call(service, "GET", f"{path}/recent", params={"list_id": 2, "actions": "subscription"}).json() == []
    missing = call(service, "GET", f"{path}/recent", params={"list_id": 1})
    assert missing.status_code == 422 and "actions" in missing.json()["errors"]


ISO_WITH_ZONE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"


def test_one_shape_per_trigger_every_field_present_and_times_zoned(service):
    """Polling items and webhook events carry every field of their Event (null when empty) and
    ISO 8601 times with a zone, whichever way they come."""
    from triggers.egoi.contacts import ContactEvent
    from triggers.egoi.webhooks import ContactEventOutput

    with running_subscriber() as subscriber:
        call(
            service,
            "POST",
            "/egoi/triggers/when_contact_event",
            json={"callback_url": subscriber.url, "list_id": 1, "actions": ["subscription"]},
        )
        call(service, "POST", "/egoi/actions/create_contact", json={"list_id": 1, "email": "cy@example.com"})
        settle(service)
        (event,) = [orjson.loads(d["body"]) for d in subscriber.delivered()]
    (item,) = call(service, "GET", "/egoi/triggers/when_contact_created/recent", params={"list_id": 1}).json()
    assert set(item) == set(ContactEvent().fields) and item["first_name"] is None and item["tags"] == []
    assert set(event) == set(ContactEventOutput().fields) and event["cellphone"] is None
    assert re.fullmatch(ISO_WITH_ZONE, item["subscription_date"]) and re.fullmatch(ISO_WITH_ZONE, event["action_date"])
    assert (item["contact_id"], item["email"]) == (event["contact_id"], event["email"])
