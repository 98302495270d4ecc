"""Every request example of Ongage's Events & Trigger API documentation is accepted as written.

Source: https://ongage.atlassian.net/wiki/spaces/HELP/pages/947553199/Events+Trigger+API+Methods
(POST /api/events: "Example - Event based on birth_date field", then the recurring and mailing
examples). The JSON below is copied verbatim from that page, spacing included, and parsed here; it
is posted to CreateEvent as it is (no list_id, as on that page, whose POST URL carries the list:
with none, our action uses the account's default list, ``/api/events``).

Documented rule relaxed, and why: the documentation's table says a trigger based on ``list_field``
requires ``send_on_days`` ("*send_on_days Required - array"), but its own first example, the
birth date event, has a ``list_field`` trigger without it. A connector must not refuse what the
vendor documents as a working request, so ``send_on_days`` is optional (when given, it is still a
non-empty list of distinct days Sun..Sat). Every other rule of the table holds for all three
examples, so none other was relaxed (not ``days_diff``, ``operator``, ``schedule_*`` for
list_field; nor the dates of non-ongoing events; nor the ``default`` domain's connection id).
The table also lists ``"list_field"`` as the ``based_on`` of the mailing, trigger and list
triggers, a copy slip its examples contradict (they send ``"mailing"`` and ``"list"``); we follow
the examples there too.
"""

from __future__ import annotations

import json

import pytest
import requests
import responses
from conftest import TEST_SETTINGS

from actions.ongage.sandbox import DEFAULT_LIST, OTHER_LIST
from connector.app import create_app

ONGAGE = "https://ongage.test"
CREDENTIALS = {"X-Ongage-Credentials": "acme:ana:s3cret"}

# Verbatim from the documentation page (POST /api/events).
BIRTH_DATE_EXAMPLE = """
{
 "name": "Birth date event",
 "based_on": "date_field",
 "date_field_name": "birth_date",
 "annually_event": true,
 "ongoing_event": true,
 "status": true,
 "segments": [ 60478 ],
 "distribution": [
  {
   "esp_connection_id": 60142,
   "domain": "default",
   "percent": 100
  }
 ],
 "triggers": [
  {
   "based_on": "list_field",
   "email_messages": [ 2381 ],
   "days_diff": 0,
   "operator": "after",
   "schedule_hour": 10,
   "schedule_minute": 30
  }
 ]
}
"""
RECURRING_EXAMPLE = """
{
 "name": "Based on recurring campaign list",
 "based_on": "recurring",
 "status": true,
 "segments": [ 60478 ],
 "start_date": "18-02-2018",
 "end_date": "18-03-2018",
 "distribution": [
  {
   "esp_connection_id": 60142,
   "domain": "default",
   "percent": 100
  }
 ],
 "triggers": [
  {
   "based_on": "list",
   "email_messages": [ 2381 ],
   "operator": "after",
   "schedule_hour": 19,
   "schedule_minute": 45,
   "recurrence" : {
      "pattern":"daily"
   }
  }
 ]
}
"""
MAILING_EXAMPLE = """
{
 "name": "Based on mailing",
 "based_on": "mailing",
 "status": true,
 "segments": [ 60659 ],
 "mailing_id": 35847,
 "start_date": "2017-12-15",
 "end_date": "2017-12-25",
 "distribution": [
  {
   "esp_connection_id": 60142,
   "domain": "default",
   "percent": 100
  }
 ],
 "triggers": [
  {
   "based_on": "mailing",
   "email_messages": [ 2381 ],
   "days_diff": 0,
   "operator": "after",
   "email_operator": "not_opened",
   "schedule_hour": 10,
   "schedule_minute": 30
  }
 ]
}
"""
EXAMPLES = pytest.mark.parametrize(
    "example",
    [BIRTH_DATE_EXAMPLE, RECURRING_EXAMPLE, MAILING_EXAMPLE],
    ids=["birth-date", "recurring", "mailing"],
)


@pytest.fixture(scope="module")
def mocked():
    return create_app({**TEST_SETTINGS, "CATALOGS": "ongage", "ONGAGE_API_URL": ONGAGE}).test_client()


def created(body):
    return {"metadata": {"error": False}, "payload": {"id": 9, **body, "created": 1, "modified": 1}}


@responses.activate
@EXAMPLES
def test_each_example_is_sent_as_written_to_the_default_list(mocked, example):
    body = json.loads(example)
    responses.post(f"{ONGAGE}/api/events", json=created(body))
    r = mocked.post("/ongage/actions/create_event", data=example, content_type="application/json", headers=CREDENTIALS)
    assert r.status_code == 201, r.json
    (call,) = responses.calls
    assert call.request.method == "POST"
    assert call.request.url == f"{ONGAGE}/api/events"
    assert json.loads(call.request.body) == body
    assert r.json["id"] == 9 and r.json["name"] == body["name"]


@responses.activate
@EXAMPLES
def test_each_example_with_the_pages_list_in_the_url(mocked, example):
    """The page's POST URL is https://api.ongage.net/<list_id>/api/events: with a list_id."""
    body = json.loads(example)
    responses.post(f"{ONGAGE}/60478/api/events", json=created(body))
    r = mocked.post("/ongage/actions/create_event", json={"list_id": 60478, **body}, headers=CREDENTIALS)
    assert r.status_code == 201, r.json
    (call,) = responses.calls
    assert call.request.url == f"{ONGAGE}/60478/api/events"
    assert json.loads(call.request.body) == body  # the list travels in the path, not the body


@pytest.fixture
def live(ongage_client):
    return ongage_client  # tests/conftest.py


@EXAMPLES
def test_each_example_creates_the_event_in_the_sandbox(live, ongage_sandbox, example):
    body = json.loads(example)
    r = live.post("/ongage/actions/create_event", data=example, content_type="application/json", headers=CREDENTIALS)
    assert r.status_code == 201, r.json
    listed = requests.get(f"{ongage_sandbox.url}/_sandbox/events", timeout=5).json()
    stored = next(e for e in listed[str(DEFAULT_LIST)] if e["id"] == r.json["id"])
    assert {k: stored[k] for k in body} == body
    assert listed[str(OTHER_LIST)] == []
