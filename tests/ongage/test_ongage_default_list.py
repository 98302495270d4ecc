"""list_id is optional on every Ongage operation: Ongage's documentation says each call names its
list, "otherwise the default List ID will be used"
(https://ongage.atlassian.net/wiki/spaces/HELP/pages/947553199/Events+Trigger+API+Methods).
With a list the path is ``/<list_id>/api/events...``; without one (absent or null) it is
``/api/events...``, Ongage's path with no list segment."""

from __future__ import annotations

import json

import pytest
import requests
import responses
from conftest import TEST_SETTINGS

from actions.ongage.events import EXAMPLE_EVENT
from actions.ongage.sandbox import DEFAULT_LIST, OTHER_LIST
from connector.app import create_app

ONGAGE = "https://ongage.test"
CREDENTIALS = {"X-Ongage-Credentials": "acme:ana:s3cret"}
EVENT = {"id": 7, "name": "Birth date event", "status": True, "created": 1, "modified": 2}
NEW_EVENT = {k: v for k, v in EXAMPLE_EVENT.items() if k != "list_id"}

# (action, body without the list, method, path after the list segment, query)
CALLS = [
    ("create_event", NEW_EVENT, "POST", "/api/events", ""),
    ("get_event", {"event_id": 7}, "GET", "/api/events/7", ""),
    ("list_events", {"name": "Birth date"}, "GET", "/api/events", "?name=Birth+date"),
    ("update_event", {"event_id": 7, "name": "Renamed"}, "PUT", "/api/events/7", ""),
    ("toggle_event_status", {"event_id": 7}, "PUT", "/api/events/7/status", ""),
    ("delete_event", {"event_id": 7}, "DELETE", "/api/events/7", ""),
]
LISTS = pytest.mark.parametrize(
    ("given", "segment"),
    [({}, ""), ({"list_id": None}, ""), ({"list_id": 12}, "/12")],
    ids=["no-list", "null-list", "list-12"],
)


@pytest.fixture(scope="module")
def mocked():
    return create_app({**TEST_SETTINGS, "CATALOGS": "ongage", "ONGAGE_API_URL": ONGAGE}).test_client()


@responses.activate
@LISTS
@pytest.mark.parametrize(("key", "body", "method", "path", "query"), CALLS, ids=[c[0] for c in CALLS])
def test_the_exact_url_sent(mocked, given, segment, key, body, method, path, query):
    payload = [EVENT] if key == "list_events" else EVENT
    responses.add(method, f"{ONGAGE}{segment}{path}", json={"metadata": {"error": False}, "payload": payload})
    r = mocked.post(f"/ongage/actions/{key}", json={**given, **body}, headers=CREDENTIALS)
    assert r.status_code in (200, 201), r.json
    (call,) = responses.calls
    assert call.request.method == method
    assert call.request.url == f"{ONGAGE}{segment}{path}{query}"
    if call.request.body:
        sent = json.loads(call.request.body)
        assert "list_id" not in sent and "event_id" not in sent


def test_the_specs_do_not_require_a_list(mocked):
    spec = mocked.get("/ongage/openapi.json").json
    for name, schema in spec["components"]["schemas"].items():
        if "list_id" in schema.get("properties", {}):
            assert "list_id" not in schema.get("required", []), name
            assert "default list" in schema["properties"]["list_id"]["description"]


# End to end: the service calling the sandbox over real HTTP, both path forms.


@pytest.fixture
def live(ongage_client):
    return ongage_client  # tests/conftest.py


def act(client, key, body):
    return client.post(f"/ongage/actions/{key}", json=body, headers=CREDENTIALS)


def stored(sandbox):
    listed = requests.get(f"{sandbox.url}/_sandbox/events", timeout=5).json()
    return {int(list_id): [e["id"] for e in events] for list_id, events in listed.items()}


def test_without_a_list_every_operation_works_on_the_default_list(live, ongage_sandbox):
    r = act(live, "create_event", {**NEW_EVENT, "name": "Default list welcome"})
    assert r.status_code == 201, r.json
    event_id = r.json["id"]
    assert event_id in stored(ongage_sandbox)[DEFAULT_LIST]
    assert act(live, "get_event", {"event_id": event_id}).json["name"] == "Default list welcome"
    assert act(live, "get_event", {"list_id": DEFAULT_LIST, "event_id": event_id}).status_code == 200
    assert [e["id"] for e in act(live, "list_events", {"name": "Default list"}).json["items"]] == [event_id]
    assert act(live, "update_event", {"event_id": event_id, "name": "Renamed"}).json["name"] == "Renamed"
    assert act(live, "toggle_event_status", {"list_id": None, "event_id": event_id}).json["status"] is False
    assert act(live, "delete_event", {"event_id": event_id}).json == {"id": event_id, "deleted": True}
    assert event_id not in stored(ongage_sandbox)[DEFAULT_LIST]


def test_a_named_list_is_not_the_default_one(live, ongage_sandbox):
    r = act(live, "create_event", {**NEW_EVENT, "list_id": OTHER_LIST, "name": "Second list welcome"})
    assert r.status_code == 201, r.json
    event_id = r.json["id"]
    lists = stored(ongage_sandbox)
    assert lists[OTHER_LIST] == [event_id] and event_id not in lists[DEFAULT_LIST]
    assert act(live, "get_event", {"list_id": OTHER_LIST, "event_id": event_id}).status_code == 200
    assert act(live, "get_event", {"event_id": event_id}).status_code == 404  # not in the default list
    assert act(live, "list_events", {"name": "Second list"}).json["items"] == []
    found = act(live, "list_events", {"list_id": OTHER_LIST, "name": "Second list"}).json["items"]
    assert [e["id"] for e in found] == [event_id]
