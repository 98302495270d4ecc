"""E-goi campaigns and automations: exact upstream requests, end-to-end flows against the sandbox's
seeded campaigns and automations, and the bad inputs refused before anything reaches E-goi."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from tests.conftest import API, KEY

DEFAULTS = {"offset": "0", "limit": "10", "order": "desc"}


def action(client, key, body):
    return client.post(f"/egoi/actions/{key}", json=body, headers=KEY)


def query(call) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(call.request.url).query))


# --- exact upstream requests (responses) -------------------------------------------------------


@responses.activate
def test_list_campaigns_sends_every_filter_with_e_goi_names(mocked):
    campaign = {
        "id": 1,
        "campaign_hash": "c0ffee0001",
        "channel": "email",
        "status": "sent",
        "schedule_date": {"date": "", "enabled": False},
        "created": "2024-01-10 09:00:00",
        "unknown_to_us": 1,
    }
    responses.get(f"{API}/campaigns", json={"total_items": 31, "items": [campaign]})
    body = {
        "channel": "smart_sms",
        "status": "paused",
        "list_id": 2,
        "campaign_hash": "abc",
        "internal_name": "News",
        "created_by": 3,
        "group_id": 4,
        "created_min": "2024-01-01 00:00:00",
        "created_max": "2024-12-31 23:59:59",
        "updated_min": "2024-02-01 00:00:00",
        "updated_max": "2024-02-29 23:59:59",
        "start_date_min": "2024-03-01 00:00:00",
        "start_date_max": "2024-03-31 00:00:00",
        "end_date_min": "2024-04-01 00:00:00",
        "end_date_max": "2024-04-30 00:00:00",
        "schedule_date_min": "2024-05-01 00:00:00",
        "schedule_date_max": "2024-05-31 00:00:00",
        "offset": 20,
        "limit": 100,
        "order": "asc",
        "order_by": "internal_name",
    }
    r = action(mocked, "list_campaigns", body)
    assert r.status_code == 200, r.json
    # times come out ISO 8601 with a zone (E-goi's are read as UTC); an empty one is null
    shown = {k: v for k, v in campaign.items() if k != "unknown_to_us"}
    shown.update(created="2024-01-10T09:00:00Z", schedule_date={"date": None, "enabled": False})
    assert r.json == {"total_items": 31, "items": [shown]}
    (call,) = responses.calls
    assert call.request.method == "GET"
    assert call.request.headers["Apikey"] == "test-key-123"
    assert call.request.body is None
    assert query(call) == {k: str(v) for k, v in body.items()}


@responses.activate
def test_list_campaigns_defaults(mocked):
    responses.get(f"{API}/campaigns", json={"total_items": 0, "items": []})
    r = action(mocked, "list_campaigns", {})
    assert r.status_code == 200 and r.json == {"total_items": 0, "items": []}
    assert query(responses.calls[0]) == {**DEFAULTS, "order_by": "created"}


@responses.activate
def test_list_automations_request(mocked):
    automation = {"automation_id": 2, "title": "Birthday", "list_id": 1, "status": "active", "contact_limit": 0}
    responses.get(f"{API}/automations", json={"total_items": 1, "items": [automation]})
    body = {"status": "active", "list_id": 1, "title": "Birthday", "automation_id": 2, "created_by": 1}
    r = action(mocked, "list_automations", body)
    assert r.status_code == 200, r.json
    assert r.json == {"total_items": 1, "items": [automation]}
    (call,) = responses.calls
    assert call.request.headers["Apikey"] == "test-key-123"
    expected = {**DEFAULTS, "order_by": "automation_id", **{k: str(v) for k, v in body.items()}}
    assert query(call) == expected


@responses.activate
def test_delete_automation_request(mocked):
    responses.delete(f"{API}/automations/7", status=204)
    r = action(mocked, "delete_automation", {"automation_id": 7})
    assert r.status_code == 200, r.json
    assert r.json == {"automation_id": 7}
    (call,) = responses.calls
    assert (call.request.method, call.request.url) == ("DELETE", f"{API}/automations/7")
    assert call.request.headers["Apikey"] == "test-key-123"


@pytest.mark.parametrize(("upstream", "status"), [(404, 404), (409, 409), (401, 401), (500, 502)])
@responses.activate
def test_delete_automation_errors(mocked, upstream, status):
    responses.delete(f"{API}/automations/7", status=upstream, json={"status": upstream, "detail": "no"})
    r = action(mocked, "delete_automation", {"automation_id": 7})
    assert r.status_code == status
    assert r.mimetype == "application/problem+json"


# --- bad inputs ---------------------------------------------------------------------------------

BAD_INPUTS = [
    ("list_campaigns", {"channel": "whatsapp"}, "channel", "email, push, sms, smart_sms, voice, web_push"),
    ("list_campaigns", {"status": "done"}, "status", "draft, canceled"),
    ("list_campaigns", {"created_min": "2024-01-01"}, "created_min", "yyyy-MM-dd HH:mm:ss"),
    ("list_campaigns", {"updated_max": "2024-02-30 10:00:00"}, "updated_max", "real calendar time"),
    ("list_campaigns", {"start_date_min": "2024-01-01T10:00:00"}, "start_date_min", "yyyy-MM-dd HH:mm:ss"),
    ("list_campaigns", {"schedule_date_max": "2024-01-01 24:00:00"}, "schedule_date_max", "yyyy-MM-dd"),
    ("list_campaigns", {"limit": 0}, "limit", "from 1 to 100"),
    ("list_campaigns", {"limit": 101}, "limit", "from 1 to 100"),
    ("list_campaigns", {"offset": -1}, "offset", "from 0"),
    ("list_campaigns", {"order": "up"}, "order", "asc, desc"),
    ("list_campaigns", {"order_by": "status"}, "order_by", "list_id, internal_name, created_by, group_id, created"),
    ("list_campaigns", {"list_id": 0}, "list_id", "from 1"),
    ("list_campaigns", {"channel": "email", "colour": "red"}, "colour", "Unknown field"),
    ("list_automations", {"status": "paused"}, "status", "active, inactive"),
    ("list_automations", {"order_by": "created"}, "order_by", "automation_id, title, list_id, created_by"),
    ("list_automations", {"limit": 1000}, "limit", "from 1 to 100"),
    ("list_automations", {"automation_id": "one"}, "automation_id", "whole number"),
    ("delete_automation", {}, "automation_id", "required"),
    ("delete_automation", {"automation_id": 0}, "automation_id", "from 1"),
    ("delete_automation", {"automation_id": 1.5}, "automation_id", "whole number"),
]


@pytest.mark.parametrize(("key", "body", "field", "message"), BAD_INPUTS)
@responses.activate
def test_bad_inputs_are_422_and_reach_nothing(mocked, key, body, field, message):
    r = action(mocked, key, body)
    assert r.status_code == 422, r.json
    assert r.json["type"].endswith("validation-error")
    assert field in r.json["errors"], r.json["errors"]
    assert any(message in m for m in r.json["errors"][field]), r.json["errors"][field]
    assert len(responses.calls) == 0


# --- end to end against the sandbox -------------------------------------------------------------


def hashes(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["campaign_hash"] for item in response.json["items"]]


def test_campaigns_newest_first_by_default_and_paged(client):
    r = action(client, "list_campaigns", {})
    assert r.json["total_items"] == 7
    assert hashes(r) == [f"c0ffee{i:04d}" for i in range(7, 0, -1)]
    page = action(client, "list_campaigns", {"offset": 2, "limit": 2, "order": "asc"})
    assert page.json["total_items"] == 7 and hashes(page) == ["c0ffee0003", "c0ffee0004"]


def test_campaign_filters(client):
    assert hashes(action(client, "list_campaigns", {"channel": "email"})) == ["c0ffee0003", "c0ffee0001"]
    assert hashes(action(client, "list_campaigns", {"status": "sent", "channel": "sms"})) == ["c0ffee0002"]
    in_h1 = {"created_min": "2024-01-01 00:00:00", "created_max": "2024-06-30 23:59:59", "order": "asc"}
    assert hashes(action(client, "list_campaigns", in_h1)) == ["c0ffee0001", "c0ffee0002", "c0ffee0003"]
    scheduled = {"schedule_date_min": "2024-11-01 00:00:00"}
    assert hashes(action(client, "list_campaigns", scheduled)) == ["c0ffee0004"]
    ended = {"end_date_max": "2024-03-31 00:00:00"}
    assert hashes(action(client, "list_campaigns", ended)) == ["c0ffee0002", "c0ffee0001"]
    by_name = action(client, "list_campaigns", {"order_by": "internal_name", "order": "asc", "limit": 2})
    assert [c["internal_name"] for c in by_name.json["items"]] == ["App re-engagement", "Appointment reminder call"]
    empty = {"created_min": "2025-01-01 00:00:00"}
    assert action(client, "list_campaigns", empty).json == {"total_items": 0, "items": []}


def test_campaign_items_have_the_documented_shape(client):
    (item,) = action(client, "list_campaigns", {"campaign_hash": "c0ffee0004"}).json["items"]
    assert item["channel"] == "push" and item["status"] == "queued"
    assert item["schedule_date"] == {"date": "2024-12-01T09:00:00Z", "enabled": True}
    assert {"id", "internal_name", "list_id", "created", "updated", "processed_messages"} <= set(item)


def test_list_then_delete_an_automation(client):
    listed = action(client, "list_automations", {})
    assert listed.status_code == 200, listed.json
    assert [a["automation_id"] for a in listed.json["items"]] == [3, 2, 1]
    active = action(client, "list_automations", {"status": "active", "order_by": "title", "order": "asc"})
    assert [a["title"] for a in active.json["items"]] == ["Birthday greetings", "Welcome series"]

    deleted = action(client, "delete_automation", {"automation_id": 2})
    assert deleted.status_code == 200 and deleted.json == {"automation_id": 2}
    assert [a["automation_id"] for a in action(client, "list_automations", {}).json["items"]] == [3, 1]
    again = action(client, "delete_automation", {"automation_id": 2})
    assert again.status_code == 404 and again.mimetype == "application/problem+json"


def test_examples_work_in_the_sandbox(client, egoi_catalog):
    for operation in egoi_catalog.instances:
        if operation.key in {"list_campaigns", "list_automations", "delete_automation"}:
            r = action(client, operation.key, operation.example)
            assert r.status_code == 200, (operation.key, r.json)
