"""E-goi triggers called directly (no framework runtime): cursors and calls per poll against fakes
of E-goi with `responses`, payload splitting, and the polling triggers against the real sandbox."""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
import requests
import responses
from marshmallow import ValidationError
from werkzeug.serving import make_server

from actions.egoi.sandbox.webhooks import wait_idle
from connector.errors import Problem
from connector.triggers import content_key
from connector.upstream import UpstreamCall, UpstreamService, UpstreamSettings, build_session
from triggers.egoi import TRIGGERS, WhenCampaignSent, WhenContactCreated, WhenContactEvent, WhenMessageStatusChanges

API = "https://api.egoi.test"
TX = "https://tx.egoi.test/api/v2"
SETTINGS = UpstreamSettings(retries=0, backoff=0.0, retry_after_cap=0.0)


def bound(base_url: str, name: str = "E-goi") -> UpstreamCall:
    service = UpstreamService(
        name=name, base_url=base_url, auth_header="Apikey", session=build_session(SETTINGS), config=SETTINGS
    )
    return UpstreamCall(service, "test-key")


def query(request: Any) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(request.url).query))


def cursor_size(cursor: Any) -> int:
    return len(orjson.dumps(cursor))


# --- a fake list of contacts: creation order, offset/limit, removals ---------------------------------


class FakeList:
    """``GET /lists/1/contacts`` as the sandbox emulates it: creation order, oldest first."""

    def __init__(self) -> None:
        self.contacts: list[dict[str, Any]] = []
        self.calls = 0
        self.fail_on: set[int] = set()  # call numbers (1-based) answered 503
        self.before_call: Callable[[int], None] | None = None
        self.clock = 0

    def add(self, count: int, same_second: bool = False) -> list[str]:
        ids = []
        for _ in range(count):
            contact_id = secrets.token_hex(5)
            if not same_second:
                self.clock += 1
            when = f"2025-01-01 {self.clock // 3600:02d}:{self.clock // 60 % 60:02d}:{self.clock % 60:02d}"
            self.contacts.append(
                {
                    "base": {
                        "contact_id": contact_id,
                        "status": "active",
                        "email": f"{contact_id}@example.com",
                        "subscription_date": when,
                    },
                    "extra": [],
                    "tags": [],
                }
            )
            ids.append(contact_id)
        return ids

    def remove(self, *ids: str) -> None:
        self.contacts = [c for c in self.contacts if c["base"]["contact_id"] not in ids]

    def ids(self) -> list[str]:
        return [c["base"]["contact_id"] for c in self.contacts]

    def callback(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.calls += 1
        if self.before_call is not None:
            self.before_call(self.calls)
        if self.calls in self.fail_on:
            return 503, {}, json.dumps({"title": "Service Unavailable", "status": 503})
        args = query(request)
        offset, limit = int(args.get("offset", 0)), int(args.get("limit", 10))
        assert 1 <= limit <= 1000
        body = {"total_items": len(self.contacts), "items": self.contacts[offset : offset + limit]}
        return 200, {}, json.dumps(body)


@pytest.fixture
def contacts():
    fake = FakeList()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, re.compile(rf"{re.escape(API)}/lists/1/contacts(\?.*)?$"), fake.callback)
        yield fake


TRIGGER = WhenContactCreated()
DATA = {"list_id": 1}


def poll(fake: FakeList, cursor: Any) -> tuple[list[dict[str, Any]], Any, int]:
    before = fake.calls
    items, new_cursor = TRIGGER.poll(DATA, bound(API), cursor)
    return items, new_cursor, fake.calls - before


def started(fake: FakeList) -> Any:
    return TRIGGER.start(DATA, bound(API))


def test_declarations_pass_the_checks_and_are_exported():
    assert [t.key for t in TRIGGERS] == [
        "when_contact_created",
        "when_campaign_sent",
        "when_contact_event",
        "when_message_status_changes",
    ]
    for trigger in TRIGGERS:
        assert trigger.check() == []
        trigger()  # schemas build


def test_start_on_an_empty_list_is_one_call_and_everything_later_is_new(contacts):
    cursor = started(contacts)
    assert contacts.calls == 1
    assert cursor == {"offset": 0, "last": None, "prev": [], "at": None}
    new = contacts.add(3)
    items, cursor, calls = poll(contacts, cursor)
    assert [i["id"] for i in items] == new and calls == 1
    assert cursor["offset"] == 3 and cursor["last"] == new[-1]


def test_start_records_the_end_of_the_list_and_nothing_new_is_exactly_one_call(contacts):
    ids = contacts.add(7)
    cursor = started(contacts)
    assert contacts.calls <= 2  # the count, then the last contacts (v3 has no "last page")
    assert cursor["offset"] == 7 and cursor["last"] == ids[-1] and cursor["prev"] == [ids[-2], ids[-3]]
    items, new_cursor, calls = poll(contacts, cursor)
    assert items == [] and calls == 1
    assert new_cursor == cursor


def test_250_new_contacts_across_pages_are_all_emitted_once_oldest_first(contacts):
    contacts.add(5)
    cursor = started(contacts)
    new = contacts.add(250)
    items, cursor, calls = poll(contacts, cursor)
    assert [i["id"] for i in items] == new
    assert calls == 3  # pages of 100 overlapping by one contact
    assert items[0] == {**items[0], "contact_id": new[0], "list_id": 1, "email": f"{new[0]}@example.com"}
    assert cursor["offset"] == 255 and cursor["last"] == new[-1] and cursor_size(cursor) < 150
    items, cursor, calls = poll(contacts, cursor)
    assert items == [] and calls == 1


def test_an_exact_page_of_new_contacts_then_more(contacts):
    contacts.add(1)
    cursor = started(contacts)
    first = contacts.add(98)  # with `last` and the contact before it: exactly one full page
    items, cursor, _ = poll(contacts, cursor)
    assert [i["id"] for i in items] == first
    second = contacts.add(1)
    items, cursor, calls = poll(contacts, cursor)
    assert [i["id"] for i in items] == second and calls == 1


@pytest.mark.parametrize("failing_call", [1, 2, 3])
def test_an_upstream_failure_raises_and_the_old_cursor_still_gets_everything(contacts, failing_call):
    contacts.add(5)
    cursor = started(contacts)
    new = contacts.add(250)
    contacts.fail_on = {contacts.calls + failing_call}
    with pytest.raises(Problem) as caught:
        TRIGGER.poll(DATA, bound(API), cursor)
    assert caught.value.status == 502  # E-goi's 503 is our 502
    contacts.fail_on = set()
    items, _, _ = poll(contacts, cursor)
    assert [i["id"] for i in items] == new


def test_removal_of_older_contacts_is_detected_and_nothing_is_skipped(contacts):
    old = contacts.add(20)
    cursor = started(contacts)
    contacts.remove(*old[3:9])  # six older contacts go: `last` moves down six places
    new = contacts.add(4)
    items, cursor, calls = poll(contacts, cursor)
    assert [i["id"] for i in items] == new
    assert calls == 3  # the mismatch, the page where `last` is now, the read from there
    assert cursor["offset"] == 18 and cursor["last"] == new[-1]
    items, _, calls = poll(contacts, cursor)
    assert items == [] and calls == 1


def test_removal_of_the_last_seen_contact_itself_falls_back_to_the_one_before(contacts):
    old = contacts.add(10)
    cursor = started(contacts)
    contacts.remove(old[-1], old[0])
    new = contacts.add(2)
    items, _, _ = poll(contacts, cursor)
    assert [i["id"] for i in items] == new


def test_removal_of_every_anchor_falls_back_to_the_subscription_date(contacts):
    old = contacts.add(10)
    cursor = started(contacts)
    contacts.remove(*old[-3:], old[1])
    new = contacts.add(3)
    items, _, _ = poll(contacts, cursor)
    assert [i["id"] for i in items] == new


def test_removal_while_pages_are_read_restarts_the_read_without_skipping(contacts):
    old = contacts.add(5)
    cursor = started(contacts)
    new = contacts.add(250)
    start_calls = contacts.calls

    def remove_once(call: int) -> None:
        if call == start_calls + 2:  # between the first and the second page
            contacts.remove(old[0])

    contacts.before_call = remove_once
    items, cursor, _ = poll(contacts, cursor)
    assert [i["id"] for i in items] == new
    assert cursor["offset"] == 254 and cursor["last"] == new[-1]


def test_removal_then_nothing_new_emits_nothing(contacts):
    old = contacts.add(10)
    cursor = started(contacts)
    contacts.remove(*old[:4])
    items, _, _ = poll(contacts, cursor)
    assert items == []


@pytest.mark.parametrize("seed", range(8))
def test_random_additions_and_removals_between_polls_emit_each_new_contact_exactly_once(contacts, seed):
    """As the runtime keeps the state: advanced only when a poll emits something."""
    rng = __import__("random").Random(seed)
    contacts.add(rng.randrange(0, 40))
    cursor = started(contacts)
    emitted: list[str] = []
    expected: list[str] = []
    for _ in range(30):
        added = contacts.add(rng.choice([0, 0, 1, 3, 120, 250]))
        expected += added
        if contacts.contacts and rng.random() < 0.5:
            removed = set(rng.sample(contacts.ids(), k=min(len(contacts.contacts), rng.randrange(1, 6))))
            contacts.remove(*removed)
            expected = [i for i in expected if i not in removed or i in emitted]
        items, new_cursor = TRIGGER.poll(DATA, bound(API), cursor)
        emitted += [i["id"] for i in items]
        cursor = new_cursor if items else cursor
    assert len(emitted) == len(set(emitted))
    assert emitted == expected


def test_a_tampered_cursor_is_refused():
    for cursor in ({"offset": -1}, {"offset": 3, "last": "zz"}, "x", {"offset": 3, "last": None, "prev": []}):
        with pytest.raises(Problem) as caught:
            TRIGGER.poll(DATA, bound(API), cursor)
        assert caught.value.status == 422


def test_recent_contacts_newest_first(contacts):
    ids = contacts.add(30)
    items = TRIGGER.recent(DATA, bound(API), 5)
    assert [i["id"] for i in items] == ids[::-1][:5]
    assert contacts.calls == 2


# --- campaigns ---------------------------------------------------------------------------------------


def campaign(number: int, end: str, status: str = "sent", created: str = "2025-01-01 08:00:00") -> dict[str, Any]:
    return {
        "id": number,
        "campaign_hash": f"hash{number:04d}",
        "channel": "email",
        "status": status,
        "list_id": 1,
        "internal_name": f"Campaign {number}",
        "created": created,
        "start_date": end if end else "",
        "end_date": end,
        "schedule_date": {"date": "", "enabled": False},
    }


class FakeCampaigns:
    """``GET /campaigns`` with status, channel, list_id and end_date_min, ordered by created."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.requests: list[dict[str, str]] = []

    def callback(self, request: Any) -> tuple[int, dict[str, str], str]:
        args = query(request)
        self.requests.append(args)
        items = [c for c in self.items if "status" not in args or c["status"] == args["status"]]
        if "channel" in args:
            items = [c for c in items if c["channel"] == args["channel"]]
        if "end_date_min" in args:
            items = [c for c in items if c["end_date"] and c["end_date"] >= args["end_date_min"]]
        items.sort(key=lambda c: (c["created"], c["id"]), reverse=args.get("order", "desc") == "desc")
        offset, limit = int(args.get("offset", 0)), int(args.get("limit", 10))
        return 200, {}, json.dumps({"total_items": len(items), "items": items[offset : offset + limit]})


@pytest.fixture
def campaigns():
    fake = FakeCampaigns()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, re.compile(rf"{re.escape(API)}/campaigns(\?.*)?$"), fake.callback)
        yield fake


CAMPAIGNS = WhenCampaignSent()


def test_campaigns_start_is_one_call_and_nothing_new_is_one_call(campaigns):
    campaigns.items = [campaign(1, "2025-01-01 10:00:00"), campaign(2, "", status="draft")]
    cursor = CAMPAIGNS.start({}, bound(API))
    assert len(campaigns.requests) == 1
    assert campaigns.requests[0]["status"] == "sent"
    assert cursor == {"since": "2025-01-01 09:45:00", "seen": ["hash0001"]}
    items, new_cursor = CAMPAIGNS.poll({}, bound(API), cursor)
    assert items == [] and len(campaigns.requests) == 2 and new_cursor == cursor
    assert campaigns.requests[1] == {**campaigns.requests[1], "status": "sent", "end_date_min": "2025-01-01 09:45:00"}


def test_campaigns_sent_at_the_same_second_are_told_apart(campaigns):
    campaigns.items = [campaign(1, "2025-01-01 10:00:00")]
    cursor = CAMPAIGNS.start({}, bound(API))
    campaigns.items.append(campaign(2, "2025-01-01 10:00:00"))  # a tie with the one already seen
    items, cursor = CAMPAIGNS.poll({}, bound(API), cursor)
    assert [i["id"] for i in items] == ["hash0002"]
    campaigns.items.append(campaign(3, "2025-01-01 10:00:00"))
    items, cursor = CAMPAIGNS.poll({}, bound(API), cursor)
    assert [i["id"] for i in items] == ["hash0003"]
    assert cursor["seen"] == ["hash0001", "hash0002", "hash0003"]
    items, _ = CAMPAIGNS.poll({}, bound(API), cursor)
    assert items == []


def test_campaigns_new_ones_come_oldest_first_and_a_late_status_within_the_window_is_found(campaigns):
    campaigns.items = [campaign(1, "2025-01-01 10:00:00"), campaign(2, "", status="sending")]
    cursor = CAMPAIGNS.start({}, bound(API))
    campaigns.items += [campaign(3, "2025-01-01 10:20:00"), campaign(4, "2025-01-01 10:10:00")]
    items, cursor = CAMPAIGNS.poll({}, bound(API), cursor)
    assert [i["id"] for i in items] == ["hash0004", "hash0003"]
    assert cursor["since"] == "2025-01-01 10:05:00"
    # campaign 2 ended before the newest one seen, but its status only turned sent now
    campaigns.items[1] = campaign(2, "2025-01-01 10:12:00")
    items, cursor = CAMPAIGNS.poll({}, bound(API), cursor)
    assert [i["id"] for i in items] == ["hash0002"]


def test_campaigns_many_at_once_are_paged_and_the_cursor_stays_small(campaigns):
    cursor = CAMPAIGNS.start({}, bound(API))
    assert cursor == {"since": None, "seen": []}
    campaigns.items = [campaign(n, f"2025-01-01 10:{n // 60:02d}:{n % 60:02d}") for n in range(1, 251)]
    items, cursor = CAMPAIGNS.poll({}, bound(API), cursor)
    assert [i["id"] for i in items] == [f"hash{n:04d}" for n in range(1, 251)]
    assert len(cursor["seen"]) <= 50 and cursor_size(cursor) < 1000
    items, _ = CAMPAIGNS.poll({}, bound(API), cursor)
    assert items == []


def test_campaigns_filters_go_upstream_and_recent_is_newest_first(campaigns):
    campaigns.items = [campaign(1, "2025-01-01 10:00:00"), campaign(2, "2025-01-02 10:00:00")]
    items = CAMPAIGNS.recent({"channel": "email", "list_id": 1}, bound(API), 25)
    assert [i["id"] for i in items] == ["hash0002", "hash0001"]
    assert campaigns.requests[-1] == {
        "status": "sent",
        "order_by": "created",
        "order": "desc",
        "limit": "25",
        "channel": "email",
        "list_id": "1",
    }


@responses.activate
def test_campaigns_upstream_failure_raises():
    responses.get(f"{API}/campaigns", status=503, json={"title": "Service Unavailable"})
    with pytest.raises(Problem):
        CAMPAIGNS.poll({}, bound(API), {"since": None, "seen": []})


# --- contact events (v3 webhooks) --------------------------------------------------------------------

CONTACT_EVENTS = WhenContactEvent()


def test_contact_event_input_needs_a_list_and_at_least_one_known_action():
    schema = CONTACT_EVENTS.input_schema
    loaded = schema.load({"target_url": "https://example.com/h", "list_id": 1, "actions": ["subscription"]})
    assert loaded == {"callback_url": "https://example.com/h", "list_id": 1, "actions": ["subscription"]}
    for body in (
        {"callback_url": "https://example.com/h", "list_id": 1, "actions": []},
        {"callback_url": "https://example.com/h", "list_id": 1, "actions": ["opens"]},
        {"callback_url": "https://example.com/h", "actions": ["subscription"]},
    ):
        with pytest.raises(ValidationError):
            schema.load(body)


@responses.activate
def test_contact_event_subscribe_and_unsubscribe():
    created = responses.post(
        f"{API}/webhooks",
        json={"webhook_id": 7, "list_id": 1, "url": "https://us/hooks/t", "actions": ["subscription"]},
    )
    data = {"callback_url": "https://flow/cb", "list_id": 1, "actions": ["subscription", "email_open"]}
    reference = CONTACT_EVENTS.subscribe(data, bound(API), "https://us/hooks/t")
    assert reference == {"webhook_id": 7}
    assert json.loads(created.calls[0].request.body) == {
        "list_id": 1,
        "url": "https://us/hooks/t",
        "actions": ["subscription", "email_open"],
    }
    deleted = responses.delete(f"{API}/webhooks/7", status=204)
    CONTACT_EVENTS.unsubscribe(bound(API), reference)
    assert deleted.call_count == 1
    responses.delete(f"{API}/webhooks/8", status=404, json={"title": "NotFound", "status": 404})
    CONTACT_EVENTS.unsubscribe(bound(API), {"webhook_id": 8})  # already gone: fine
    responses.delete(f"{API}/webhooks/9", status=500, json={"title": "Internal Server Error"})
    with pytest.raises(Problem):
        CONTACT_EVENTS.unsubscribe(bound(API), {"webhook_id": 9})


def test_contact_event_split_one_event_per_item_without_duplicates_or_unpicked_actions():
    subscribed = {
        "action": "subscription",
        "actionDate": "2025-01-01 10:00:00",
        "data": {"list_id": 1, "contact_id": "2f3a4b5c6d", "email": "ana@example.com", "first_name": "Ana"},
    }
    opened = {"action": "email_open", "actionDate": 1735725600000, "data": {"list_id": "1", "contact_id": "aaaaaaaaaa"}}
    clicked = {"action": "email_click", "actionDate": 1735725600000, "data": {"list_id": 1, "contact_id": "aaaaaaaaaa"}}
    batch = [subscribed, opened, dict(subscribed), clicked, opened]
    pairs = CONTACT_EVENTS.split(batch, {"list_id": 1, "actions": ["subscription", "email_open"]})
    assert [key for key, _ in pairs] == [content_key(subscribed), content_key(opened)]
    first, second = (event for _, event in pairs)
    assert first == {
        "id": content_key(subscribed),
        "action": "subscription",
        "action_date": "2025-01-01 10:00:00",
        "list_id": 1,
        "contact_id": "2f3a4b5c6d",
        "email": "ana@example.com",
        "cellphone": None,
        "first_name": "Ana",
        "last_name": None,
        "data": subscribed["data"],
    }
    assert second["action_date"] == "2025-01-01T10:00:00.000Z" and second["list_id"] == 1
    assert CONTACT_EVENTS.event_schema.dump(first)["id"] == content_key(subscribed)
    # one event alone, not in an array, is a batch of one; anything else is not a batch
    assert len(CONTACT_EVENTS.split(subscribed, {"actions": ["subscription"]})) == 1
    with pytest.raises(ValueError):
        CONTACT_EVENTS.split("nope", {"actions": ["subscription"]})


# --- transactional message status (v2 webhooks) ------------------------------------------------------

MESSAGES = WhenMessageStatusChanges()


def test_message_status_input_checks_each_channel_has_a_status():
    schema = MESSAGES.input_schema
    ok = {"callback_url": "https://f/cb", "channels": ["sms", "email"], "actions": ["delivered", "view"]}
    assert schema.load(ok) == ok
    with pytest.raises(ValidationError) as caught:
        schema.load({"callback_url": "https://f/cb", "channels": ["sms"], "actions": ["view"]})
    assert "sms" in str(caught.value.messages)
    with pytest.raises(ValidationError):
        schema.load({"callback_url": "https://f/cb", "channels": [], "actions": ["sent"]})


@responses.activate
def test_message_status_subscribes_one_webhook_per_channel_with_its_own_statuses():
    posted = responses.post(f"{TX}/webhooks", status=201, json={"webhookId": "11"})
    data = {"callback_url": "https://f/cb", "channels": ["sms", "email"], "actions": ["delivered", "view", "sent"]}
    reference = MESSAGES.subscribe(data, bound(TX), "https://us/hooks/t")
    bodies = [json.loads(call.request.body) for call in posted.calls]
    assert bodies == [
        {"url": "https://us/hooks/t", "channel": "sms", "actions": ["delivered", "sent"]},
        {"url": "https://us/hooks/t", "channel": "email", "actions": ["view", "sent"]},
    ]
    assert reference == {
        "url": "https://us/hooks/t",
        "webhooks": [{"channel": "sms", "id": "11"}, {"channel": "email", "id": "11"}],
    }
    deleted = responses.delete(re.compile(rf"{re.escape(TX)}/webhooks\?.*"), status=204)
    MESSAGES.unsubscribe(bound(TX), reference)
    assert [query(call.request) for call in deleted.calls] == [
        {"id": "11", "channel": "sms", "url": "https://us/hooks/t"},
        {"id": "11", "channel": "email", "url": "https://us/hooks/t"},
    ]


@responses.activate
def test_message_status_subscribe_failing_half_way_removes_what_it_made():
    responses.post(f"{TX}/webhooks", status=201, json={"webhookId": "21"})
    responses.post(f"{TX}/webhooks", status=500, json={"message": "boom"})
    deleted = responses.delete(re.compile(rf"{re.escape(TX)}/webhooks\?.*"), status=204)
    data = {"callback_url": "https://f/cb", "channels": ["sms", "email"], "actions": ["sent"]}
    with pytest.raises(Problem):
        MESSAGES.subscribe(data, bound(TX), "https://us/hooks/t")
    assert [query(call.request)["id"] for call in deleted.calls] == ["21"]


def test_message_status_split_infers_the_channel_and_filters():
    sms = {
        "data": {
            "recipientMobile": "321-987654321",
            "groupId": 1,
            "recipientId": 4,
            "senderMobile": "321-987654321",
            "messageId": 1160,
            "customData": "meta",
            "createDate": 1453430810084,
        },
        "action": "delivered",
        "actionDate": 1453430810150,
    }
    email = {
        "actionDate": 1442484210599,
        "data": {"groupId": 1, "recipientId": 14, "messageId": 2156, "recipientEmail": "john.doe@example.com"},
        "action": "view",
    }
    processed = {**sms, "action": "processed"}
    pairs = MESSAGES.split([sms, email, sms, processed], {"channels": ["sms"], "actions": ["delivered", "view"]})
    assert [key for key, _ in pairs] == [content_key(sms)]
    event = pairs[0][1]
    assert event == {
        "id": content_key(sms),
        "action": "delivered",
        "action_date": "2016-01-22T02:46:50.150Z",
        "channel": "sms",
        "message_id": "1160",
        "recipient": "321-987654321",
        "recipient_id": "4",
        "group_id": "1",
        "sender": "321-987654321",
        "created": "2016-01-22T02:46:50.084Z",
        "custom_data": "meta",
        "data": sms["data"],
    }
    both = MESSAGES.split([sms, email], {"channels": ["sms", "email"], "actions": ["delivered", "view"]})
    assert [e["channel"] for _, e in both] == ["sms", "email"]


# --- end to end against the sandbox ------------------------------------------------------------------


class Counting(UpstreamCall):
    """An UpstreamCall that counts its calls."""

    def __init__(self, service: UpstreamService, credential: str) -> None:
        super().__init__(service, credential)
        self.calls = 0

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        self.calls += 1
        return super().request(method, path, **kwargs)


def sandbox_call(egoi_sandbox) -> Counting:
    service = UpstreamService(
        name="E-goi",
        base_url=egoi_sandbox.url + "/api",
        auth_header="Apikey",
        session=build_session(SETTINGS),
        config=SETTINGS,
    )
    return Counting(service, "sandbox-key")


def test_e2e_sandbox_250_new_contacts_are_polled_once_each(egoi_sandbox):
    upstream = sandbox_call(egoi_sandbox)
    for n in range(3):
        upstream.post("/lists/1/contacts", json={"base": {"email": f"before{n}@example.com"}})
    cursor = TRIGGER.start(DATA, upstream)
    assert cursor["offset"] == 3
    upstream.calls = 0
    assert TRIGGER.poll(DATA, upstream, cursor)[0] == [] and upstream.calls == 1
    session = requests.Session()
    created = [
        session.post(
            f"{egoi_sandbox.url}/api/lists/1/contacts",
            json={"base": {"email": f"new{n}@example.com", "first_name": f"N{n}"}},
            headers={"Apikey": "sandbox-key"},
            timeout=5,
        ).json()["contact_id"]
        for n in range(250)
    ]
    upstream.calls = 0
    items, cursor = TRIGGER.poll(DATA, upstream, cursor)
    assert [i["id"] for i in items] == created
    assert [i["email"] for i in items] == [f"new{n}@example.com" for n in range(250)]
    assert upstream.calls == 3
    dumped = TRIGGER.output_schema.dump(items)
    assert dumped[0]["id"] == created[0] and dumped[0]["first_name"] == "N0"
    upstream.calls = 0
    assert TRIGGER.poll(DATA, upstream, cursor)[0] == [] and upstream.calls == 1
    recent = TRIGGER.recent(DATA, upstream, 5)
    assert [i["id"] for i in recent] == created[::-1][:5]


def test_e2e_sandbox_campaign_sent(egoi_sandbox):
    upstream = sandbox_call(egoi_sandbox)
    cursor = CAMPAIGNS.start({}, upstream)
    assert cursor["seen"] == ["c0ffee0002"]  # the seeded sent campaigns; only the newest end is in the window
    upstream.calls = 0
    assert CAMPAIGNS.poll({}, upstream, cursor)[0] == [] and upstream.calls == 1
    state = egoi_sandbox.app.extensions["egoi_sandbox"]
    with state.lock:
        seeded = state.stores["campaigns"]["campaigns"]
        christmas = next(c for c in seeded if c["campaign_hash"] == "c0ffee0007")
        christmas.update(status="sent", end_date="2024-12-20 09:00:00")
    items, cursor = CAMPAIGNS.poll({}, upstream, cursor)
    assert [i["id"] for i in items] == ["c0ffee0007"]
    assert CAMPAIGNS.poll({}, upstream, cursor)[0] == []
    assert [i["id"] for i in CAMPAIGNS.recent({}, upstream, 25)] == ["c0ffee0007", "c0ffee0002", "c0ffee0001"]
    assert [i["id"] for i in CAMPAIGNS.recent({"channel": "sms"}, upstream, 25)] == ["c0ffee0002"]


class Receiver:
    """A loopback endpoint that keeps the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.bodies.append(json.loads(environ["wsgi.input"].read(length)))
        start_response("204 No Content", [])
        return []

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.thread.join(5)


def test_e2e_sandbox_webhook_triggers_subscribe_split_and_unsubscribe(egoi_sandbox):
    marketing = sandbox_call(egoi_sandbox)
    service = UpstreamService(
        name="E-goi Transactional",
        base_url=egoi_sandbox.url + "/slingshot/api/v2",
        auth_header="ApiKey",
        session=build_session(SETTINGS),
        config=SETTINGS,
    )
    transactional = UpstreamCall(service, "sandbox-key")
    contact_data = {"list_id": 1, "actions": ["subscription"]}
    message_data = {"channels": ["sms"], "actions": ["delivered"]}
    with Receiver() as contacts_hook, Receiver() as messages_hook:
        contact_ref = CONTACT_EVENTS.subscribe({"callback_url": "x", **contact_data}, marketing, contacts_hook.url)
        message_ref = MESSAGES.subscribe({"callback_url": "x", **message_data}, transactional, messages_hook.url)
        created = marketing.post("/lists/1/contacts", json={"base": {"email": "ana@example.com", "first_name": "Ana"}})
        [sent] = transactional.post(
            "/sms/messages/action/send", json=[{"to": "351-912345678", "from": "1", "textBody": "Hi"}]
        )
        assert wait_idle(egoi_sandbox.app, 5)
        [contact_body] = contacts_hook.bodies
        [(_, event)] = CONTACT_EVENTS.split(contact_body, contact_data)
        assert event["action"] == "subscription" and event["contact_id"] == created["contact_id"]
        assert event["email"] == "ana@example.com" and event["first_name"] == "Ana" and event["list_id"] == 1
        events = [e for body in messages_hook.bodies for _, e in MESSAGES.split(body, message_data)]
        assert [(e["action"], e["channel"], e["recipient"]) for e in events] == [("delivered", "sms", "351-912345678")]
        assert events[0]["message_id"] == sent["messageId"]
    CONTACT_EVENTS.unsubscribe(marketing, contact_ref)
    MESSAGES.unsubscribe(transactional, message_ref)
    assert marketing.get("/webhooks")["items"] == [] and transactional.get("/webhooks") == []
    CONTACT_EVENTS.unsubscribe(marketing, contact_ref)  # already gone: not an error
    MESSAGES.unsubscribe(transactional, message_ref)


def test_which_received_events_a_recent_list_shows():
    """``wants``: the recent list of a webhook trigger keeps the events of the parameters asked for."""
    from triggers.egoi.webhooks import WhenMessageStatusChanges

    opened = {"id": "k", "action": "email_open", "list_id": 1, "contact_id": "aaaaaaaaaa"}
    assert CONTACT_EVENTS.wants(opened, {"list_id": 1, "actions": ["email_open", "subscription"]})
    assert not CONTACT_EVENTS.wants(opened, {"list_id": 2, "actions": ["email_open"]})
    assert not CONTACT_EVENTS.wants(opened, {"list_id": 1, "actions": ["subscription"]})
    statuses = WhenMessageStatusChanges()
    delivered = {"id": "k", "action": "delivered", "channel": "sms"}
    assert statuses.wants(delivered, {"channels": ["sms"], "actions": ["delivered"]})
    assert not statuses.wants(delivered, {"channels": ["email"], "actions": ["delivered"]})
    assert not statuses.wants(delivered, {"channels": ["sms"], "actions": ["failed"]})
    assert statuses.wants({**delivered, "channel": None}, {"channels": ["email"], "actions": ["delivered"]})


def test_a_contact_event_without_a_list_id_takes_the_subscriptions():
    (pair,) = CONTACT_EVENTS.split(
        [{"action": "subscription", "data": {"contact_id": "a"}}], {"list_id": 4, "actions": ["subscription"]}
    )
    assert pair[1]["list_id"] == 4
