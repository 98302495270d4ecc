"""The Ongage emulator on its own: the documented paths, rules and Ongage's envelope, independently of
the catalog (it is the oracle the connector is tested against)."""

from __future__ import annotations

import copy

import pytest

from actions.ongage.sandbox import SANDBOX_INVALID_PASSWORD, create_app

AUTH = {"X_USERNAME": "ana", "X_PASSWORD": "s3cret", "X_ACCOUNT_CODE": "acme"}
# The documentation's examples (the verbatim ones are in test_ongage_doc_examples.py); this birth date
# event adds send_on_days, to test that field's rules.
BIRTH_DATE = {
    "name": "Birth date event",
    "based_on": "date_field",
    "date_field_name": "birth_date",
    "annually_event": True,
    "ongoing_event": True,
    "status": True,
    "segments": [60478],
    "distribution": [{"esp_connection_id": 60142, "domain": "default", "percent": 100}],
    "triggers": [
        {
            "based_on": "list_field",
            "email_messages": [2381],
            "days_diff": 0,
            "send_on_days": ["Mon"],
            "operator": "after",
            "schedule_hour": 10,
            "schedule_minute": 30,
        }
    ],
}
RECURRING = {
    "name": "Based on recurring campaign list",
    "based_on": "recurring",
    "status": True,
    "segments": [60478],
    "start_date": "18-02-2018",
    "end_date": "18-03-2018",
    "distribution": [{"esp_connection_id": 60142, "domain": "default", "percent": 100}],
    "triggers": [
        {
            "based_on": "list",
            "email_messages": [2381],
            "operator": "after",
            "schedule_hour": 19,
            "schedule_minute": 45,
            "recurrence": {"pattern": "daily"},
        }
    ],
}


@pytest.fixture
def sandbox():
    return create_app().test_client()


def changed(body, path, value):
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return body


def test_seeded_events(sandbox):
    r = sandbox.get("/1/api/events/1", headers=AUTH)
    assert r.status_code == 200
    assert r.json["metadata"] == {"error": False}
    assert r.json["payload"]["name"] == "Birth date event"
    assert sandbox.get("/api/events/2", headers=AUTH).json["payload"]["mailing_id"] == 35847  # default list


@pytest.mark.parametrize("body", [BIRTH_DATE, RECURRING], ids=["birth-date", "recurring"])
def test_the_documented_examples_are_accepted(sandbox, body):
    r = sandbox.post("/1/api/events", json=body, headers=AUTH)
    assert r.status_code == 200, r.json
    event = r.json["payload"]
    assert event["id"] == 3 and event["name"] == body["name"]
    assert isinstance(event["created"], int)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("name", ..., "name"),
        ("based_on", "weekly", "based_on"),
        ("based_on", "mailing", "mailing_id"),
        ("date_field_name", ..., "date_field_name"),
        ("ongoing_event", False, "start_date"),
        ("status", ..., "status"),
        ("segments", [], "segments"),
        ("distribution", [], "distribution"),
        ("distribution.0.esp_connection_id", ..., "distribution.0.esp_connection_id"),
        ("distribution.0.domain", "gmail.com", "distribution.0.esps"),
        ("distribution.0.percent", 90, "distribution"),
        ("triggers", [], "triggers"),
        ("triggers.0.send_on_days", ["Monday"], "triggers.0.send_on_days"),
        ("triggers.0.send_on_days", [], "triggers.0.send_on_days"),
        ("triggers.0.schedule_hour", 24, "triggers.0.schedule_hour"),
        ("triggers.0.schedule_minute", 60, "triggers.0.schedule_minute"),
        ("triggers.0.operator", "during", "triggers.0.operator"),
        ("triggers.0.based_on", "trigger", "triggers.0.based_on_trigger"),
    ],
)
def test_documented_rules_are_400_in_ongages_shape(sandbox, path, value, field):
    r = sandbox.post("/1/api/events", json=changed(BIRTH_DATE, path, value), headers=AUTH)
    assert r.status_code == 400
    assert r.json["metadata"] == {"error": True}
    assert r.json["payload"]["code"] == 400
    assert field in r.json["payload"]["errors"], r.json
    assert r.json["payload"]["message"].startswith("Validation failed:")


def test_dates_of_dated_events(sandbox):
    for value in ("2018-02-30", "2018/02/18", "1518912000", -5, True):
        r = sandbox.post("/1/api/events", json={**RECURRING, "start_date": value}, headers=AUTH)
        assert r.status_code == 400 and "start_date" in r.json["payload"]["errors"], value
    assert sandbox.post("/1/api/events", json={**RECURRING, "start_date": 1518912000}, headers=AUTH).status_code == 200


def test_based_on_trigger_must_point_earlier(sandbox):
    chained = {
        "based_on": "trigger",
        "email_messages": [1],
        "days_diff": 1,
        "email_operator": "opened",
        "operator": "after",
        "schedule_hour": 1,
        "schedule_minute": 1,
    }
    body = {**BIRTH_DATE, "triggers": [*BIRTH_DATE["triggers"], {**chained, "based_on_trigger": 2}]}
    r = sandbox.post("/1/api/events", json=body, headers=AUTH)
    assert "triggers.1.based_on_trigger" in r.json["payload"]["errors"]
    body["triggers"][1]["based_on_trigger"] = 1
    assert sandbox.post("/1/api/events", json=body, headers=AUTH).status_code == 200


def test_esps_for_other_domains(sandbox):
    entry = {"domain": "gmail.com", "esps": {"3": 60, "4": 40}}
    body = {**BIRTH_DATE, "distribution": [*BIRTH_DATE["distribution"], entry]}
    assert sandbox.post("/1/api/events", json=body, headers=AUTH).status_code == 200
    body["distribution"][1] = {"domain": "gmail.com", "esps": {"3": 60, "4": 30}}
    assert "distribution.1.esps" in sandbox.post("/1/api/events", json=body, headers=AUTH).json["payload"]["errors"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {**AUTH, "X_PASSWORD": ""},
        {"X_USERNAME": "a", "X_PASSWORD": "b"},
        {**AUTH, "X_PASSWORD": SANDBOX_INVALID_PASSWORD},
    ],
)
def test_credentials_are_required(sandbox, headers):
    r = sandbox.get("/1/api/events/1", headers=headers)
    assert r.status_code == 401
    assert r.json["metadata"] == {"error": True}
    assert "x_username, x_password and x_account_code" in r.json["payload"]["message"]


def test_update_toggle_delete(sandbox):
    r = sandbox.put("/1/api/events/1", json={"name": "Renamed", "emails_limit": 10, "status": False}, headers=AUTH)
    assert r.status_code == 200
    event = r.json["payload"]
    assert (event["name"], event["emails_limit"], event["status"]) == ("Renamed", 10, True)  # status is not updatable
    assert sandbox.put("/1/api/events/1", json={"emails_limit": 10}, headers=AUTH).status_code == 400
    assert sandbox.put("/1/api/events/1/status", headers=AUTH).json["payload"]["status"] is False
    assert sandbox.put("/1/api/events/1/status", headers=AUTH).json["payload"]["status"] is True
    assert sandbox.delete("/1/api/events/1", headers=AUTH).json["payload"] == {"id": 1}
    assert sandbox.get("/1/api/events/1", headers=AUTH).status_code == 404


def test_list_requires_a_name_and_validates_paging(sandbox):
    assert "name" in sandbox.get("/1/api/events", headers=AUTH).json["payload"]["errors"]
    for query in ("sort=colour", "order=up", "limit=0", "offset=-1", "limit=x"):
        assert sandbox.get(f"/1/api/events?name=a&{query}", headers=AUTH).status_code == 400, query
    r = sandbox.get("/1/api/events?name=BASED&sort=id&order=DESC", headers=AUTH)
    assert [e["id"] for e in r.json["payload"]] == [2]


def test_unknown_things_and_bad_bodies(sandbox):
    assert sandbox.get("/7/api/events/1", headers=AUTH).json["payload"]["message"] == "List 7 not found"
    assert sandbox.post("/1/api/events", data="{", content_type="application/json", headers=AUTH).status_code == 400
    assert sandbox.post("/1/api/events", json=[1], headers=AUTH).status_code == 400
    r = sandbox.patch("/1/api/events/1", json={}, headers=AUTH)
    assert r.status_code == 405 and r.json["metadata"]["error"] is True
    assert sandbox.get("/nowhere", headers=AUTH).status_code == 404


def test_inspection_page_needs_no_credentials(sandbox):
    listed = sandbox.get("/_sandbox/events").json
    assert [e["id"] for e in listed["1"]] == [1, 2]
