"""End to end: the service calling the Ongage sandbox over real HTTP on loopback.

Ongage's auth headers are spelled with underscores (``X_USERNAME``...); ``connector.sandbox.start``
serves emulators with a request handler that keeps them (werkzeug drops them by default).
"""

from __future__ import annotations

import pytest
import requests
from conftest import TEST_SETTINGS

from actions.ongage.events import EXAMPLE_EVENT
from actions.ongage.sandbox import SANDBOX_INVALID_PASSWORD
from connector.app import create_app
from connector.wiring import runtime_of

CREDENTIALS = {"X-Ongage-Credentials": "acme:ana:s3cret"}


@pytest.fixture
def client(ongage_client):
    return ongage_client  # tests/conftest.py


def act(client, key, body, headers=CREDENTIALS):
    return client.post(f"/ongage/actions/{key}", json=body, headers=headers)


def sandbox_events(sandbox, list_id=1):
    return requests.get(f"{sandbox.url}/_sandbox/events", timeout=5).json()[str(list_id)]


def test_every_declared_example_works_in_the_sandbox(client, ongage_catalog):
    for operation in ongage_catalog.instances:
        r = act(client, operation.key, operation.example)
        assert r.status_code == operation.status_code, (operation.key, r.json)


def test_event_lifecycle(client, ongage_sandbox):
    body = {
        **EXAMPLE_EVENT,
        "name": "Welcome series",
        "based_on": "recurring",
        "ongoing_event": False,
        "start_date": "18-02-2026",
        "end_date": "1798761599",
        "distribution": [
            {"domain": "default", "esp_connection_id": 60142, "percent": 100},
            {"domain": "gmail.com", "esps": [{"esp_id": 3, "percent": 60}, {"esp_id": 4, "percent": 40}]},
        ],
        "triggers": [
            {
                "based_on": "list",
                "email_messages": [1],
                "schedule_hour": 9,
                "schedule_minute": 0,
                "recurrence": {"pattern": "daily"},
            },
            {
                "based_on": "trigger",
                "based_on_trigger": 1,
                "email_messages": [2],
                "days_diff": 2,
                "email_operator": "not_clicked",
                "operator": "after",
                "schedule_hour": 9,
                "schedule_minute": 0,
            },
        ],
    }
    del body["date_field_name"], body["annually_event"]
    created = act(client, "create_event", body)
    assert created.status_code == 201, created.json
    event = created.json
    assert event["name"] == "Welcome series" and event["status"] is True
    assert event["start_date"] == "18-02-2026" and event["end_date"] == "1798761599"
    assert event["distribution"][1]["esps"] == [{"esp_id": 3, "percent": 60}, {"esp_id": 4, "percent": 40}]
    stored = next(e for e in sandbox_events(ongage_sandbox) if e["id"] == event["id"])
    assert stored["distribution"][1]["esps"] == {"3": 60, "4": 40}  # Ongage's associative array
    assert stored["end_date"] == 1798761599  # the documentation's integer timestamp

    ids = {"list_id": 1, "event_id": event["id"]}
    assert act(client, "get_event", ids).json == event
    found = act(client, "list_events", {"list_id": 1, "name": "welcome"}).json["items"]
    assert [e["id"] for e in found] == [event["id"]]

    updated = act(client, "update_event", {**ids, "name": "Welcome", "emails_limit": 500})
    assert (updated.json["name"], updated.json["emails_limit"]) == ("Welcome", 500)

    assert act(client, "toggle_event_status", ids).json["status"] is False
    assert act(client, "toggle_event_status", ids).json["status"] is True

    assert act(client, "delete_event", ids).json == {"id": event["id"], "deleted": True}
    gone = act(client, "get_event", ids)
    assert gone.status_code == 404
    assert "not found" in gone.json["detail"]


def test_list_events_sorts_and_pages(client):
    for name in ("Promo b", "Promo a", "Promo c"):
        assert act(client, "create_event", {**EXAMPLE_EVENT, "name": name}).status_code == 201
    items = act(client, "list_events", {"list_id": 1, "name": "promo", "sort": "name", "order": "DESC"}).json["items"]
    assert [e["name"] for e in items] == ["Promo c", "Promo b", "Promo a"]
    page = act(client, "list_events", {"list_id": 1, "name": "promo", "sort": "name", "offset": 1, "limit": 1})
    assert [e["name"] for e in page.json["items"]] == ["Promo b"]


def test_invalid_events_reach_nothing(client, ongage_sandbox):
    before = sandbox_events(ongage_sandbox)
    bad = {**EXAMPLE_EVENT, "triggers": [{**EXAMPLE_EVENT["triggers"][0], "schedule_hour": 24}]}
    r = act(client, "create_event", bad)
    assert r.status_code == 422
    assert list(r.json["errors"]) == ["triggers.0.schedule_hour"]
    assert sandbox_events(ongage_sandbox) == before


def test_unknown_list_and_event_are_404(client):
    assert act(client, "get_event", {"list_id": 99, "event_id": 1}).status_code == 404
    r = act(client, "toggle_event_status", {"list_id": 1, "event_id": 999})
    assert r.status_code == 404
    assert r.json["detail"] == "Ongage Events API could not find the requested item: Event 999 not found in list 1."


def test_rejected_credentials_are_401(client):
    headers = {"X-Ongage-Credentials": f"acme:ana:{SANDBOX_INVALID_PASSWORD}"}
    r = act(client, "get_event", {"list_id": 1, "event_id": 1}, headers=headers)
    assert r.status_code == 401
    assert "x_account_code" in r.json["detail"]
    assert SANDBOX_INVALID_PASSWORD not in r.data.decode()


def test_serve_sandbox_mode_wires_ongage():
    app = create_app({**TEST_SETTINGS, "CATALOGS": "ongage", "SANDBOX": True})
    try:
        client = app.test_client()
        assert act(client, "get_event", {"list_id": 1, "event_id": 1}).json["name"] == "Birth date event"
        assert client.get("/readyz").json["status"] == "ready"
    finally:
        for running in runtime_of(app).sandboxes.values():
            running.stop()
