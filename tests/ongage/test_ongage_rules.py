"""Every rule of Ongage's events documentation enforced before anything is sent: each bad input is a
422 problem naming the field (nested fields by path) with a message, and no upstream call."""

from __future__ import annotations

import copy

import pytest
import responses
from conftest import TEST_SETTINGS

from actions.ongage.events import EXAMPLE_EVENT
from connector.app import create_app

ONGAGE = "https://ongage.test"
CREDENTIALS = {"X-Ongage-Credentials": "acme:ana:s3cret"}


@pytest.fixture(scope="module")
def mocked():
    return create_app({**TEST_SETTINGS, "CATALOGS": "ongage", "ONGAGE_API_URL": ONGAGE}).test_client()


def event(**changes):
    body = copy.deepcopy(EXAMPLE_EVENT)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def trigger(kind, **changes):
    base = {
        "list_field": {
            "based_on": "list_field",
            "email_messages": [1],
            "days_diff": 0,
            "send_on_days": ["Mon"],
            "operator": "after",
            "schedule_hour": 10,
            "schedule_minute": 30,
        },
        "mailing": {
            "based_on": "mailing",
            "email_messages": [1],
            "days_diff": 1,
            "email_operator": "opened",
            "operator": "after",
            "schedule_hour": 10,
            "schedule_minute": 30,
        },
        "trigger": {
            "based_on": "trigger",
            "based_on_trigger": 1,
            "email_messages": [1],
            "days_diff": 7,
            "email_operator": "not_opened",
            "operator": "after",
            "schedule_hour": 19,
            "schedule_minute": 45,
        },
        "list": {
            "based_on": "list",
            "email_messages": [1],
            "schedule_hour": 19,
            "schedule_minute": 45,
            "recurrence": {"pattern": "daily"},
        },
    }[kind]
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


DATED = {"ongoing_event": False, "start_date": "2026-01-01", "end_date": "2026-12-31"}
DEFAULT_ESP = {"domain": "default", "esp_connection_id": 1, "percent": 100}

# (case id, body, field the problem names, words its message contains)
CREATE_CASES = [
    ("name-missing", event(name=None), "name", "Missing data"),
    ("name-empty", event(name=""), "name", "Must not be empty"),
    ("list-id-zero", event(list_id=0), "list_id", "from 1"),
    ("based-on-unknown", event(based_on="weekly"), "based_on", "mailing, date_field, recurring"),
    (
        "mailing-needs-mailing-id",
        event(based_on="mailing", date_field_name=None, annually_event=None),
        "mailing_id",
        "Required when based_on is mailing",
    ),
    ("date-field-needs-name", event(date_field_name=None), "date_field_name", "Required when based_on is date_field"),
    (
        "annually-only-for-date-field",
        event(based_on="recurring", date_field_name=None),
        "annually_event",
        "Only for events based on date_field",
    ),
    (
        "not-ongoing-needs-start",
        event(ongoing_event=False, end_date="2026-12-31"),
        "start_date",
        "Required unless ongoing_event is true",
    ),
    (
        "ongoing-omitted-needs-end",
        event(ongoing_event=None, start_date="2026-01-01"),
        "end_date",
        "Required unless ongoing_event is true",
    ),
    ("start-not-a-date", event(**{**DATED, "start_date": "2026-02-30"}), "start_date", "yyyy-mm-dd or dd-mm-yyyy"),
    ("start-wrong-format", event(**{**DATED, "start_date": "01/02/2026"}), "start_date", "UTC unix timestamp"),
    ("start-negative-timestamp", event(**{**DATED, "start_date": -1}), "start_date", "UTC unix timestamp"),
    ("start-boolean", event(**{**DATED, "start_date": True}), "start_date", "UTC unix timestamp"),
    ("end-before-start", event(**{**DATED, "end_date": "31-12-2025"}), "end_date", "Must not be before start_date"),
    ("status-missing", event(status=None), "status", "Missing data"),
    ("status-not-boolean", event(status="yes"), "status", "true or false"),
    ("segments-missing", event(segments=None), "segments", "Missing data"),
    ("segments-empty", event(segments=[]), "segments", "at least one"),
    ("segments-not-ids", event(segments=["a"]), "segments.0", "whole number"),
    ("segments-excluded-not-ids", event(segments_excluded=[0]), "segments_excluded.0", "from 1"),
    ("distribution-missing", event(distribution=None), "distribution", "Missing data"),
    ("distribution-empty", event(distribution=[]), "distribution", "at least one"),
    (
        "default-domain-needs-connection",
        event(distribution=[{"domain": "default", "percent": 100}]),
        "distribution.0.esp_connection_id",
        'Required when the domain is "default"',
    ),
    (
        "domain-needs-esps",
        event(distribution=[DEFAULT_ESP, {"domain": "gmail.com"}]),
        "distribution.1.esps",
        'Required when the domain is not "default"',
    ),
    (
        "esps-total-100",
        event(
            distribution=[
                DEFAULT_ESP,
                {"domain": "gmail.com", "esps": [{"esp_id": 1, "percent": 60}, {"esp_id": 2, "percent": 30}]},
            ]
        ),
        "distribution.1.esps",
        "total 100, not 90",
    ),
    (
        "esps-unique",
        event(
            distribution=[
                DEFAULT_ESP,
                {"domain": "gmail.com", "esps": [{"esp_id": 1, "percent": 50}, {"esp_id": 1, "percent": 50}]},
            ]
        ),
        "distribution.1.esps",
        "once",
    ),
    (
        "esp-percent-over-100",
        event(distribution=[DEFAULT_ESP, {"domain": "gmail.com", "esps": [{"esp_id": 1, "percent": 101}]}]),
        "distribution.1.esps.0.percent",
        "from 1 to 100",
    ),
    (
        "domain-percents-total-100",
        event(distribution=[{**DEFAULT_ESP, "percent": 50}, {**DEFAULT_ESP, "esp_connection_id": 2, "percent": 40}]),
        "distribution.1.percent",
        "must total 100, not 90",
    ),
    (
        "shared-domain-needs-percent",
        event(distribution=[{**DEFAULT_ESP, "percent": 50}, {"domain": "default", "esp_connection_id": 2}]),
        "distribution.1.percent",
        "Required when several entries share the domain default",
    ),
    ("percent-zero", event(distribution=[{**DEFAULT_ESP, "percent": 0}]), "distribution.0.percent", "from 1 to 100"),
    ("triggers-missing", event(triggers=None), "triggers", "Missing data"),
    ("triggers-empty", event(triggers=[]), "triggers", "at least one"),
    (
        "trigger-type-unknown",
        event(triggers=[trigger("list_field", based_on="field")]),
        "triggers.0.based_on",
        "list_field, mailing, trigger, list",
    ),
    (
        # Optional (the documentation's birth date example has none), but never an empty list.
        "send-on-days-empty",
        event(triggers=[trigger("list_field", send_on_days=[])]),
        "triggers.0.send_on_days",
        "at least one",
    ),
    (
        "list-field-needs-days-diff",
        event(triggers=[trigger("list_field", days_diff=None)]),
        "triggers.0.days_diff",
        "Required for triggers based on list_field",
    ),
    (
        "list-field-needs-operator",
        event(triggers=[trigger("list_field", operator=None)]),
        "triggers.0.operator",
        "Required for triggers based on list_field",
    ),
    (
        "send-on-days-values",
        event(triggers=[trigger("list_field", send_on_days=["Monday"])]),
        "triggers.0.send_on_days.0",
        "Sun, Mon, Tue, Wed, Thu, Fri, Sat",
    ),
    (
        "send-on-days-unique",
        event(triggers=[trigger("list_field", send_on_days=["Mon", "Mon"])]),
        "triggers.0.send_on_days",
        "once",
    ),
    (
        "schedule-hour-24",
        event(triggers=[trigger("list_field", schedule_hour=24)]),
        "triggers.0.schedule_hour",
        "from 0 to 23",
    ),
    (
        "schedule-minute-60",
        event(triggers=[trigger("list_field", schedule_minute=60)]),
        "triggers.0.schedule_minute",
        "from 0 to 59",
    ),
    (
        "schedule-hour-missing",
        event(triggers=[trigger("list", schedule_hour=None)]),
        "triggers.0.schedule_hour",
        "Required for triggers based on list",
    ),
    (
        "email-messages-missing",
        event(triggers=[trigger("list", email_messages=None)]),
        "triggers.0.email_messages",
        "Required for triggers based on list",
    ),
    (
        "email-messages-empty",
        event(triggers=[trigger("list", email_messages=[])]),
        "triggers.0.email_messages",
        "at least one",
    ),
    ("days-diff-negative", event(triggers=[trigger("mailing", days_diff=-1)]), "triggers.0.days_diff", "from 0"),
    (
        "mailing-needs-email-operator",
        event(triggers=[trigger("mailing", email_operator=None)]),
        "triggers.0.email_operator",
        "Required for triggers based on mailing",
    ),
    (
        "email-operator-values",
        event(triggers=[trigger("mailing", email_operator="bounced")]),
        "triggers.0.email_operator",
        "sent, opened, not_opened, clicked, not_clicked, open_not_clicked",
    ),
    (
        "mailing-operator-after-only",
        event(triggers=[trigger("mailing", operator="before")]),
        "triggers.0.operator",
        "Triggers based on mailing: Must be one of: after",
    ),
    (
        "operator-values",
        event(triggers=[trigger("list_field", operator="during")]),
        "triggers.0.operator",
        "before, after",
    ),
    (
        "trigger-needs-based-on-trigger",
        event(triggers=[trigger("list_field"), trigger("trigger", based_on_trigger=None)]),
        "triggers.1.based_on_trigger",
        "Required for triggers based on trigger",
    ),
    (
        "trigger-needs-email-operator",
        event(triggers=[trigger("list_field"), trigger("trigger", email_operator=None)]),
        "triggers.1.email_operator",
        "Required for triggers based on trigger",
    ),
    (
        "first-trigger-cannot-chain",
        event(triggers=[trigger("trigger")]),
        "triggers.0.based_on_trigger",
        "The first trigger cannot be based on another trigger",
    ),
    (
        "based-on-trigger-itself",
        event(triggers=[trigger("list_field"), trigger("trigger", based_on_trigger=2)]),
        "triggers.1.based_on_trigger",
        "earlier trigger (first=1): from 1 to 1",
    ),
    (
        "based-on-trigger-later",
        event(triggers=[trigger("list_field"), trigger("trigger"), trigger("trigger", based_on_trigger=4)]),
        "triggers.2.based_on_trigger",
        "from 1 to 2",
    ),
    (
        "based-on-trigger-zero",
        event(triggers=[trigger("list_field"), trigger("trigger", based_on_trigger=0)]),
        "triggers.1.based_on_trigger",
        "from 1",
    ),
    (
        "list-needs-recurrence",
        event(triggers=[trigger("list", recurrence=None)]),
        "triggers.0.recurrence",
        "Required for triggers based on list",
    ),
    (
        "recurrence-pattern",
        event(triggers=[trigger("list", recurrence={"pattern": "weekly"})]),
        "triggers.0.recurrence.pattern",
        "daily",
    ),
    ("trigger-unknown-field", event(triggers=[trigger("list", colour="red")]), "triggers.0.colour", "Unknown field"),
    ("event-unknown-field", event(colour="red"), "colour", "Unknown field"),
]

OTHER_CASES = [
    ("get_event", {"list_id": 1}, "event_id", "Missing data"),
    ("get_event", {"list_id": 1, "event_id": "x"}, "event_id", "whole number"),
    ("list_events", {"list_id": 1}, "name", "Missing data"),
    ("list_events", {"list_id": 1, "name": "x", "order": "asc"}, "order", "ASC, DESC"),
    ("list_events", {"list_id": 1, "name": "x", "sort": "colour"}, "sort", "id, name"),
    ("list_events", {"list_id": 1, "name": "x", "limit": 0}, "limit", "from 1"),
    ("list_events", {"list_id": 1, "name": "x", "offset": -1}, "offset", "from 0"),
    ("update_event", {"list_id": 1, "event_id": 1}, "name", "Missing data"),
    ("update_event", {"list_id": 1, "event_id": 1, "name": "x", "emails_limit": -1}, "emails_limit", "from 0"),
    (
        "update_event",
        {"list_id": 1, "event_id": 1, "name": "x", "esp_connections_quota": [{"quota": 1}]},
        "esp_connections_quota.0.esp_connection_id",
        "Missing data",
    ),
    (
        "update_event",
        {
            "list_id": 1,
            "event_id": 1,
            "name": "x",
            "esp_connections_quota": [{"esp_connection_id": 1, "quota": 1}, {"esp_connection_id": 1, "quota": 2}],
        },
        "esp_connections_quota",
        "once",
    ),
    ("update_event", {"list_id": 1, "event_id": 1, "name": "x", "status": False}, "status", "Unknown field"),
    ("toggle_event_status", {"list_id": 1}, "event_id", "Missing data"),
    ("toggle_event_status", {"list_id": None}, "event_id", "Missing data"),
    ("delete_event", {"list_id": 1, "event_id": 0}, "event_id", "from 1"),
]


def assert_problem(response, field, words):
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["type"].endswith(":validation-error")
    assert field in body["errors"], body["errors"]
    assert any(words in message for message in body["errors"][field]), body["errors"][field]
    assert field in body["detail"]


@responses.activate(assert_all_requests_are_fired=False)
@pytest.mark.parametrize(("body", "field", "words"), [c[1:] for c in CREATE_CASES], ids=[c[0] for c in CREATE_CASES])
def test_create_event_rules(mocked, body, field, words):
    response = mocked.post("/ongage/actions/create_event", json=body, headers=CREDENTIALS)
    assert_problem(response, field, words)
    assert len(responses.calls) == 0


@responses.activate(assert_all_requests_are_fired=False)
@pytest.mark.parametrize(("key", "body", "field", "words"), OTHER_CASES, ids=[f"{c[0]}-{c[2]}" for c in OTHER_CASES])
def test_other_operation_rules(mocked, key, body, field, words):
    response = mocked.post(f"/ongage/actions/{key}", json=body, headers=CREDENTIALS)
    assert_problem(response, field, words)
    assert len(responses.calls) == 0


def test_case_ids_are_unique():
    ids = [c[0] for c in CREATE_CASES]
    assert len(ids) == len(set(ids))


@responses.activate
@pytest.mark.parametrize(
    "body",
    [
        event(),  # the documentation's birth date example (ongoing, no dates)
        event(
            based_on="recurring",
            date_field_name=None,
            annually_event=None,
            ongoing_event=None,
            start_date="18-02-2018",
            end_date="18-03-2018",
            triggers=[trigger("list", operator="after")],
        ),
        event(
            based_on="mailing",
            mailing_id=35847,
            date_field_name=None,
            annually_event=None,
            ongoing_event=None,
            start_date="2017-12-15",
            end_date="2017-12-25",
            triggers=[trigger("mailing")],
        ),
        event(
            **{**DATED, "start_date": 1767225600, "end_date": "1798761599"},
            triggers=[trigger("list_field"), trigger("trigger"), trigger("trigger", based_on_trigger=2)],
            distribution=[
                {**DEFAULT_ESP, "percent": 70},
                {**DEFAULT_ESP, "esp_connection_id": 2, "percent": 30},
                {"domain": "gmail.com", "esps": [{"esp_id": 1, "percent": 50}, {"esp_id": 2, "percent": 50}]},
            ],
        ),
    ],
    ids=["doc-birth-date", "doc-recurring", "doc-mailing", "chained-and-split"],
)
def test_valid_events_pass_every_rule(mocked, body):
    responses.post(f"{ONGAGE}/1/api/events", json={"metadata": {"error": False}, "payload": {"id": 9}})
    response = mocked.post("/ongage/actions/create_event", json=body, headers=CREDENTIALS)
    assert response.status_code == 201, response.json
    assert len(responses.calls) == 1
