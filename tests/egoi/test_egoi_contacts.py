"""E-goi contacts, extra fields and tags: exact upstream requests, end-to-end flows against the
sandbox, and the bad inputs each operation refuses before anything reaches E-goi."""

from __future__ import annotations

import json

import pytest
import requests
import responses
from responses import matchers

from tests.conftest import API, KEY

CONTACT = {"list_id": 1, "email": "ana@example.com", "cellphone": "351-912345678"}
CONFLICT = {
    "type": "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
    "title": "Conflict",
    "status": 409,
    "detail": "A unique field is already being used",
    "errors": {
        "unique_field_in_use": "A unique field is already being used",
        "field_id": "email",
        "contacts": ["aaaaaaaaaa"],
    },
}


def sent(call) -> dict:
    return json.loads(call.request.body)


def action(client, key, body):
    return client.post(f"/egoi/actions/{key}", json=body, headers=KEY)


# --- exact upstream requests (responses) -------------------------------------------------------


@responses.activate
def test_create_contact_sends_extra_fields_as_v3_extra(mocked):
    responses.post(f"{API}/lists/1/contacts", json={"contact_id": "2f3a4b5c6d"}, status=201)
    extra = [{"field_id": 1, "value": "Acme"}, {"field_id": 2, "options": [1, 2]}]
    r = action(mocked, "create_contact", {**CONTACT, "extra": extra})
    assert r.status_code == 201, r.json
    assert r.json == {"contact_id": "2f3a4b5c6d", "result": "created"}
    (call,) = responses.calls
    assert call.request.headers["Apikey"] == "test-key-123"
    assert sent(call) == {
        "base": {"email": "ana@example.com", "cellphone": "351-912345678"},
        "extra": [{"field_id": 1, "value": "Acme"}, {"field_id": 2, "value": [1, 2]}],
    }


@responses.activate
def test_upsert_updates_the_existing_contact_on_a_duplicate(mocked):
    responses.post(f"{API}/lists/1/contacts", json=CONFLICT, status=409)
    responses.patch(f"{API}/lists/1/contacts/aaaaaaaaaa", json={"contact_id": "aaaaaaaaaa"})
    body = {**CONTACT, "first_name": "Ana", "upsert": True, "extra": [{"field_id": 3, "value": "Porto"}]}
    r = action(mocked, "create_contact", body)
    assert r.status_code == 201, r.json
    assert r.json == {"contact_id": "aaaaaaaaaa", "result": "updated"}
    create, update = responses.calls
    assert update.request.method == "PATCH"
    assert update.request.headers["Apikey"] == "test-key-123"
    expected = {
        "base": {"email": "ana@example.com", "cellphone": "351-912345678", "first_name": "Ana"},
        "extra": [{"field_id": 3, "value": "Porto"}],
    }
    assert sent(create) == sent(update) == expected


@responses.activate
def test_without_upsert_a_duplicate_is_409_with_the_existing_id(mocked):
    responses.post(f"{API}/lists/1/contacts", json=CONFLICT, status=409)
    r = action(mocked, "create_contact", {**CONTACT, "upsert": False})
    assert r.status_code == 409
    assert r.json["contact_id"] == "aaaaaaaaaa"
    assert len(responses.calls) == 1


@responses.activate
def test_upsert_cannot_set_removed_on_an_existing_contact(mocked):
    responses.post(f"{API}/lists/1/contacts", json=CONFLICT, status=409)
    r = action(mocked, "create_contact", {**CONTACT, "upsert": True, "status": "removed"})
    assert r.status_code == 409
    assert r.json["contact_id"] == "aaaaaaaaaa" and "status" in r.json["errors"]
    assert len(responses.calls) == 1  # nothing written


@responses.activate
def test_upsert_whose_update_collides_with_another_contact_is_409(mocked):
    other = {**CONFLICT, "errors": {**CONFLICT["errors"], "field_id": "cellphone", "contacts": ["bbbbbbbbbb"]}}
    responses.post(f"{API}/lists/1/contacts", json=CONFLICT, status=409)
    responses.patch(f"{API}/lists/1/contacts/aaaaaaaaaa", json=other, status=409)
    r = action(mocked, "create_contact", {**CONTACT, "upsert": True})
    assert r.status_code == 409
    assert r.json["contact_id"] == "bbbbbbbbbb"


@responses.activate
def test_update_contact_sends_email_status_consent_and_extra(mocked):
    responses.patch(f"{API}/lists/1/contacts/abcdef0123", json={"contact_id": "abcdef0123"})
    body = {
        "list_id": 1,
        "contact_id": "abcdef0123",
        "email_status": "inactive",
        "consent": "withdrawn",
        "extra": [{"field_id": 4, "value": "2025-12-31"}],
    }
    r = action(mocked, "update_contact", body)
    assert r.status_code == 200, r.json
    (call,) = responses.calls
    assert call.request.method == "PATCH"
    assert sent(call) == {
        "base": {"email_status": "inactive", "consent": "withdrawn"},
        "extra": [{"field_id": 4, "value": "2025-12-31"}],
    }


@responses.activate
def test_update_with_only_extra_fields_patches(mocked):
    responses.patch(f"{API}/lists/1/contacts/abcdef0123", json={"contact_id": "abcdef0123"})
    body = {"list_id": 1, "contact_id": "abcdef0123", "extra": [{"field_id": 1, "value": "Acme"}]}
    r = action(mocked, "update_contact", body)
    assert r.status_code == 200, r.json
    assert sent(responses.calls[0]) == {"base": {}, "extra": [{"field_id": 1, "value": "Acme"}]}


@responses.activate
def test_get_contact_flattens_base_and_splits_option_values(mocked):
    responses.get(
        f"{API}/lists/2/contacts/abcdef0123",
        json={
            "base": {"contact_id": "abcdef0123", "status": "active", "email": "a@b.pt", "push_token_ios": []},
            "extra": [
                {"field_id": 1, "format": "text", "value": "Acme"},
                {"field_id": 2, "format": "options", "value": [1]},
            ],
            "tags": [3],
            "email_stats": {"sent": 0},
        },
    )
    r = action(mocked, "get_contact", {"list_id": 2, "contact_id": "abcdef0123"})
    assert r.status_code == 200, r.json
    assert r.json == {
        "contact_id": "abcdef0123",
        "list_id": 2,
        "status": "active",
        "email": "a@b.pt",
        "extra": [
            {"field_id": 1, "format": "text", "value": "Acme"},
            {"field_id": 2, "format": "options", "options": [1]},
        ],
        "tags": [3],
    }
    assert responses.calls[0].request.method == "GET"


@responses.activate
def test_find_contact_searches_each_value_given_and_keeps_one_list(mocked):
    responses.get(
        f"{API}/contacts/search",
        match=[matchers.query_param_matcher({"type": "email", "contact": "ana@example.com"})],
        json={"items": [{"list_id": 1, "contact_id": "aaaaaaaaaa"}, {"list_id": 2, "contact_id": "bbbbbbbbbb"}]},
    )
    responses.get(
        f"{API}/contacts/search",
        match=[matchers.query_param_matcher({"type": "cellphone", "contact": "351-912345678"})],
        json={"items": [{"list_id": 1, "contact_id": "aaaaaaaaaa"}, {"list_id": 1, "contact_id": "cccccccccc"}]},
    )
    for contact_id, email in (("aaaaaaaaaa", "ana@example.com"), ("cccccccccc", "cy@example.com")):
        base = {"contact_id": contact_id, "status": "active", "email": email, "cellphone": "351-912345678"}
        responses.get(f"{API}/lists/1/contacts/{contact_id}", json={"base": base, "extra": [], "tags": [2]})
    r = action(mocked, "find_contact", {"email": "ana@example.com", "cellphone": "351-912345678", "list_id": 1})
    assert r.status_code == 200, r.json
    whole = {"list_id": 1, "status": "active", "cellphone": "351-912345678", "extra": [], "tags": [2]}
    assert r.json == {
        "total_items": 2,
        "items": [
            {**whole, "contact_id": "aaaaaaaaaa", "email": "ana@example.com", "matched_by": "email"},
            {**whole, "contact_id": "cccccccccc", "email": "cy@example.com", "matched_by": "cellphone"},
        ],
    }
    assert [c.request.headers["Apikey"] for c in responses.calls] == ["test-key-123"] * 4
    assert [c.request.url.split("?")[0] for c in responses.calls][2:] == [
        f"{API}/lists/1/contacts/aaaaaaaaaa",
        f"{API}/lists/1/contacts/cccccccccc",
    ]  # each contact found is read whole, once; list 2's is left out


@responses.activate
def test_find_contact_leaves_out_a_contact_removed_since_the_search(mocked):
    responses.get(f"{API}/contacts/search", json={"items": [{"list_id": 1, "contact_id": "aaaaaaaaaa"}]})
    responses.get(f"{API}/lists/1/contacts/aaaaaaaaaa", status=404, json={"title": "NotFound", "status": 404})
    assert action(mocked, "find_contact", {"email": "ana@example.com"}).json == {"total_items": 0, "items": []}


@responses.activate
def test_find_contact_without_a_match_is_an_empty_list(mocked):
    responses.get(f"{API}/contacts/search", status=404, json={"title": "NotFound", "status": 404, "detail": "x"})
    r = action(mocked, "find_contact", {"phone": "351-212345678"})
    assert r.status_code == 200
    assert r.json == {"total_items": 0, "items": []}
    assert "type=phone" in responses.calls[0].request.url


@responses.activate
def test_add_tag_by_name_uses_the_existing_tag(mocked):
    responses.get(
        f"{API}/tags",
        match=[matchers.query_param_matcher({"offset": "0", "limit": "1000"})],
        json={"total_items": 2, "items": [{"tag_id": 1, "name": "Demo"}, {"tag_id": 7, "name": "VIP"}]},
    )
    responses.post(f"{API}/lists/1/contacts/actions/attach-tag", json={"result": "success"}, status=202)
    r = action(mocked, "add_tag", {"list_id": 1, "tag_name": " vip ", "contacts": ["aaaaaaaaaa"]})
    assert r.status_code == 200, r.json
    assert r.json == {"tag_id": 7, "success": ["aaaaaaaaaa"], "tag_created": False}
    assert sent(responses.calls[1]) == {"tag_id": 7, "contacts": ["aaaaaaaaaa"]}


@responses.activate
def test_add_tag_by_name_creates_a_missing_tag(mocked):
    responses.get(f"{API}/tags", json={"total_items": 1, "items": [{"tag_id": 1, "name": "Demo"}]})
    responses.post(f"{API}/tags", json={"tag_id": 8, "name": "VIP", "color": "#FFFFFF"}, status=201)
    responses.post(f"{API}/lists/1/contacts/actions/attach-tag", json={"result": "success"}, status=202)
    r = action(mocked, "add_tag", {"list_id": 1, "tag_name": "VIP", "contacts": ["aaaaaaaaaa"]})
    assert r.status_code == 200, r.json
    assert r.json == {"tag_id": 8, "success": ["aaaaaaaaaa"], "tag_created": True}
    _listing, create, attach = responses.calls
    assert (create.request.method, sent(create)) == ("POST", {"name": "VIP"})
    assert sent(attach) == {"tag_id": 8, "contacts": ["aaaaaaaaaa"]}


@responses.activate
def test_add_tag_by_name_pages_through_the_tags(mocked):
    responses.get(
        f"{API}/tags",
        match=[matchers.query_param_matcher({"offset": "0", "limit": "1000"})],
        json={"total_items": 1001, "items": [{"tag_id": i, "name": f"t{i}"} for i in range(1, 1001)]},
    )
    responses.get(
        f"{API}/tags",
        match=[matchers.query_param_matcher({"offset": "1000", "limit": "1000"})],
        json={"total_items": 1001, "items": [{"tag_id": 1001, "name": "VIP"}]},
    )
    responses.post(f"{API}/lists/1/contacts/actions/attach-tag", json={"result": "success"}, status=202)
    r = action(mocked, "add_tag", {"list_id": 1, "tag_name": "VIP", "contacts": ["aaaaaaaaaa"]})
    assert r.json["tag_id"] == 1001 and len(responses.calls) == 3


@responses.activate
def test_add_tag_by_name_created_meanwhile_uses_that_tag(mocked):
    responses.get(f"{API}/tags", json={"total_items": 0, "items": []})
    responses.post(f"{API}/tags", json={"title": "Conflict", "status": 409, "detail": "exists"}, status=409)
    responses.get(f"{API}/tags", json={"total_items": 1, "items": [{"tag_id": 9, "name": "VIP"}]})
    responses.post(f"{API}/lists/1/contacts/actions/attach-tag", json={"result": "success"}, status=202)
    r = action(mocked, "add_tag", {"list_id": 1, "tag_name": "VIP", "contacts": ["aaaaaaaaaa"]})
    assert r.status_code == 200, r.json
    assert r.json["tag_id"] == 9 and r.json["tag_created"] is False


@responses.activate
def test_detach_tag_request(mocked):
    responses.post(f"{API}/lists/3/contacts/actions/detach-tag", json={"result": "success"}, status=202)
    body = {"list_id": 3, "tag_id": 5, "contacts": ["aaaaaaaaaa", "bbbbbbbbbb", "aaaaaaaaaa"]}
    r = action(mocked, "detach_tag", body)
    assert r.status_code == 200, r.json
    assert r.json == {"tag_id": 5, "contacts": ["aaaaaaaaaa", "bbbbbbbbbb"]}
    (call,) = responses.calls
    assert call.request.headers["Apikey"] == "test-key-123"
    assert sent(call) == {"tag_id": 5, "contacts": ["aaaaaaaaaa", "bbbbbbbbbb"]}


@responses.activate
def test_list_fields_lookup_keeps_the_extra_fields(mocked):
    responses.get(
        f"{API}/lists/1/fields",
        match=[matchers.query_param_matcher({"offset": "0", "limit": "100"})],
        json=[
            {"field_id": "email", "name": "email", "format": "email", "unique": True, "type": "base"},
            {"field_id": "2", "name": "Membership", "format": "options", "unique": False, "type": "extra",
             "options": [{"option_id": 1, "en": "Gold", "pt": "Ouro"}]},
        ],
    )  # fmt: skip
    r = mocked.get("/egoi/lookups/list_fields?list_id=1", headers=KEY)
    assert r.status_code == 200, r.json
    assert r.json == {
        "items": [
            {
                "field_id": 2,
                "name": "Membership",
                "format": "options",
                "unique": False,
                "options": [{"option_id": 1, "en": "Gold", "pt": "Ouro"}],
            }
        ]
    }


# --- bad inputs: 422 naming the field, nothing sent upstream ------------------------------------

BAD_INPUTS = [
    ("create_contact", {**CONTACT, "upsert": "yes"}, "upsert", "true or false"),
    ("create_contact", {**CONTACT, "extra": {"field_id": 1}}, "extra", "list"),
    ("create_contact", {**CONTACT, "extra": [{"field_id": 0, "value": "x"}]}, "extra.0.field_id", "from 1"),
    ("create_contact", {**CONTACT, "extra": [{"value": "x"}]}, "extra.0.field_id", "required"),
    ("create_contact", {**CONTACT, "extra": [{"field_id": 1}]}, "extra.0.value", "exactly one of value or options"),
    (
        "create_contact",
        {**CONTACT, "extra": [{"field_id": 1, "value": "x", "options": [1]}]},
        "extra.0.options",
        "exactly one of value or options",
    ),
    ("create_contact", {**CONTACT, "extra": [{"field_id": 2, "options": ["a"]}]}, "extra.0.options.0", "whole number"),
    ("create_contact", {**CONTACT, "extra": [{"field_id": 1, "value": "x", "id": 1}]}, "extra.0.id", "Unknown"),
    (
        "create_contact",
        {**CONTACT, "extra": [{"field_id": 1, "value": "a"}, {"field_id": 1, "value": "b"}]},
        "extra",
        "repeated field_id: 1",
    ),
    ("create_contact", {**CONTACT, "extra": [{"field_id": 1, "value": "x" * 10_001}]}, "extra.0.value", "at most"),
    ("update_contact", {"list_id": 1, "contact_id": "abcdef0123", "email_status": "on"}, "email_status", "active"),
    ("update_contact", {"list_id": 1, "contact_id": "abcdef0123", "consent": "yes"}, "consent", "legitimate_interest"),
    ("update_contact", {"list_id": 1, "contact_id": "abcdef0123", "status": "removed"}, "status", "unconfirmed"),
    ("update_contact", {"list_id": 1, "contact_id": "xyz", "first_name": "A"}, "contact_id", "10 hexadecimal"),
    ("get_contact", {"list_id": 1}, "contact_id", "required"),
    ("get_contact", {"list_id": 1, "contact_id": "abcdef012"}, "contact_id", "10 hexadecimal"),
    ("get_contact", {"list_id": "one", "contact_id": "abcdef0123"}, "list_id", "expected a whole number"),
    ("find_contact", {}, "email", "at least one of email, cellphone or phone"),
    ("find_contact", {"email": "ana"}, "email", "name@example.com"),
    ("find_contact", {"cellphone": "+351 912345678"}, "cellphone", "ccc-xxxxxxxxx"),
    ("find_contact", {"phone": "351-12"}, "phone", "ccc-xxxxxxxxx"),
    ("find_contact", {"email": "a@b.pt", "list_id": 0}, "list_id", "from 1"),
    ("add_tag", {"list_id": 1, "contacts": ["aaaaaaaaaa"]}, "tag_id", "exactly one of tag_id or tag_name"),
    ("add_tag", {"list_id": 1, "tag_name": "   ", "contacts": ["aaaaaaaaaa"]}, "tag_name", "not only spaces"),
    (
        "add_tag",
        {"list_id": 1, "tag_id": 1, "tag_name": "VIP", "contacts": ["aaaaaaaaaa"]},
        "tag_name",
        "exactly one of tag_id or tag_name",
    ),
    ("add_tag", {"list_id": 1, "tag_name": "VIP", "contacts": []}, "contacts", "from 1 to 1000"),
    ("detach_tag", {"list_id": 1, "contacts": ["aaaaaaaaaa"]}, "tag_id", "required"),
    ("detach_tag", {"list_id": 1, "tag_id": 1, "contacts": ["nothex0000"]}, "contacts.0", "10 hexadecimal"),
    ("detach_tag", {"list_id": 1, "tag_id": 1, "contacts": ["aaaaaaaaaa"] * 1001}, "contacts", "from 1 to 1000"),
    ("detach_tag", {"tag_id": 1, "contacts": ["aaaaaaaaaa"]}, "list_id", "required"),
]


@pytest.mark.parametrize(("key", "body", "field", "message"), BAD_INPUTS)
@responses.activate
def test_bad_inputs_are_422_and_reach_nothing(mocked, key, body, field, message):
    r = action(mocked, key, body)
    assert r.status_code == 422, r.json
    assert r.mimetype == "application/problem+json"
    assert r.json["type"].endswith("validation-error")
    assert field in r.json["errors"], r.json["errors"]
    assert any(message in m for m in r.json["errors"][field]), r.json["errors"][field]
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [("", "list_id"), ("list_id=0", "list_id"), ("list_id=1&limit=101", "limit"), ("list_id=x", "list_id")],
)
@responses.activate
def test_list_fields_bad_query_is_422(mocked, query, field):
    r = mocked.get(f"/egoi/lookups/list_fields?{query}", headers=KEY)
    assert r.status_code == 422 and field in r.json["errors"]
    assert len(responses.calls) == 0


# --- end to end against the sandbox -------------------------------------------------------------


def sandbox_contact(sandbox, contact_id, list_id=1):
    url = f"{sandbox.url}/api/lists/{list_id}/contacts/{contact_id}"
    return requests.get(url, headers={"Apikey": "k"}, timeout=5).json()


def test_upsert_creates_then_updates_the_same_contact(client, egoi_sandbox):
    first = action(client, "create_contact", {**CONTACT, "first_name": "Ana", "upsert": True})
    assert first.status_code == 201 and first.json["result"] == "created", first.json
    again = action(client, "create_contact", {**CONTACT, "last_name": "Silva", "upsert": True})
    assert again.status_code == 201, again.json
    assert again.json == {"contact_id": first.json["contact_id"], "result": "updated"}
    base = sandbox_contact(egoi_sandbox, first.json["contact_id"])["base"]
    assert (base["first_name"], base["last_name"]) == ("Ana", "Silva")
    plain = action(client, "create_contact", CONTACT)
    assert plain.status_code == 409 and plain.json["contact_id"] == first.json["contact_id"]
    removed = action(client, "create_contact", {**CONTACT, "upsert": True, "status": "removed"})
    assert removed.status_code == 409 and "status" in removed.json["errors"]


def test_extra_fields_round_trip_and_get_contact(client):
    fields = client.get("/egoi/lookups/list_fields?list_id=1", headers=KEY).json["items"]
    by_name = {field["name"]: field for field in fields}
    assert by_name["Membership"]["format"] == "options"
    assert [o["option_id"] for o in by_name["Membership"]["options"]] == [1, 2]
    assert all(isinstance(field["field_id"], int) for field in fields)
    extra = [
        {"field_id": by_name["Company"]["field_id"], "value": "Acme"},
        {"field_id": by_name["Membership"]["field_id"], "options": [2]},
    ]
    created = action(client, "create_contact", {**CONTACT, "extra": extra})
    assert created.status_code == 201, created.json
    contact_id = created.json["contact_id"]
    update = {"list_id": 1, "contact_id": contact_id, "email_status": "inactive", "consent": "contract"}
    update["extra"] = [{"field_id": by_name["Renewal date"]["field_id"], "value": "2025-12-31"}]
    assert action(client, "update_contact", update).status_code == 200
    got = action(client, "get_contact", {"list_id": 1, "contact_id": contact_id})
    assert got.status_code == 200, got.json
    assert got.json["email"] == "ana@example.com" and got.json["email_status"] == "inactive"
    assert got.json["consent"] == "contract" and got.json["list_id"] == 1
    assert got.json["extra"] == [
        {"field_id": 1, "format": "text", "value": "Acme"},
        {"field_id": 2, "format": "options", "options": [2]},
        {"field_id": 4, "format": "date", "value": "2025-12-31"},
    ]


def test_extra_values_e_goi_refuses_are_422_upstream_rejected(client):
    for extra in (
        [{"field_id": 99, "value": "x"}],  # no such field in the list
        [{"field_id": 2, "options": [9]}],  # no such option
        [{"field_id": 4, "value": "2025-02-30"}],  # not a date
        [{"field_id": 1, "options": [1]}],  # a text field takes a value
    ):
        r = action(client, "create_contact", {**CONTACT, "extra": extra})
        assert r.status_code == 422, (extra, r.json)
        assert r.json["type"].endswith("upstream-rejected")
        assert "extra" in r.json["errors"]
    assert action(client, "find_contact", {"email": CONTACT["email"]}).json["total_items"] == 0


def test_get_unknown_contact_is_404(client):
    assert action(client, "get_contact", {"list_id": 1, "contact_id": "0123456789"}).status_code == 404
    assert action(client, "get_contact", {"list_id": 9, "contact_id": "0123456789"}).status_code == 404


def test_find_contact_across_lists(client):
    contact_id = action(client, "create_contact", CONTACT).json["contact_id"]
    found = action(client, "find_contact", {"email": "ANA@example.com"})
    assert found.status_code == 200, found.json
    got = action(client, "get_contact", {"list_id": 1, "contact_id": contact_id}).json
    assert found.json == {"total_items": 1, "items": [{**got, "matched_by": "email"}]}  # whole, as GetContact
    by_phone = action(client, "find_contact", {"cellphone": "351-912345678", "phone": "351-212345678"})
    assert by_phone.json["items"] == [{**got, "matched_by": "cellphone"}]
    assert action(client, "find_contact", {"email": "nobody@example.com"}).json == {"total_items": 0, "items": []}
    assert action(client, "find_contact", {"email": "ana@example.com", "list_id": 2}).json["total_items"] == 0


def test_add_tag_by_name_creates_it_once_then_detach(client, egoi_sandbox):
    contact_id = action(client, "create_contact", CONTACT).json["contact_id"]
    first = action(client, "add_tag", {"list_id": 1, "tag_name": "VIP", "contacts": [contact_id]})
    assert first.status_code == 200, first.json
    assert first.json["tag_created"] is True
    tag_id = first.json["tag_id"]
    again = action(client, "add_tag", {"list_id": 1, "tag_name": "vip", "contacts": [contact_id]})
    assert again.json == {"tag_id": tag_id, "success": [contact_id], "tag_created": False}
    tags = client.get("/egoi/lookups/tags", headers=KEY).json
    assert [t["name"] for t in tags["items"]].count("VIP") == 1
    demo = action(client, "add_tag", {"list_id": 1, "tag_name": "Demo tag", "contacts": [contact_id]})
    assert demo.json["tag_id"] == 1 and demo.json["tag_created"] is False
    assert sorted(sandbox_contact(egoi_sandbox, contact_id)["tags"]) == [1, tag_id]

    detached = action(client, "detach_tag", {"list_id": 1, "tag_id": tag_id, "contacts": [contact_id]})
    assert detached.status_code == 200, detached.json
    assert detached.json == {"tag_id": tag_id, "contacts": [contact_id]}
    assert sandbox_contact(egoi_sandbox, contact_id)["tags"] == [1]
    got = action(client, "get_contact", {"list_id": 1, "contact_id": contact_id})
    assert got.json["tags"] == [1]


def test_detach_unknown_tag_or_list_is_404(client):
    contact_id = action(client, "create_contact", CONTACT).json["contact_id"]
    assert action(client, "detach_tag", {"list_id": 1, "tag_id": 99, "contacts": [contact_id]}).status_code == 404
    assert action(client, "detach_tag", {"list_id": 9, "tag_id": 1, "contacts": [contact_id]}).status_code == 404


def test_list_fields_of_unknown_list_is_404(client):
    assert client.get("/egoi/lookups/list_fields?list_id=9", headers=KEY).status_code == 404


def test_every_example_works_in_the_sandbox(client, egoi_catalog):
    """The declared examples of these operations succeed as they are (the docs show them)."""
    contact_id = action(client, "create_contact", {**CONTACT, "email": "x@example.com", "cellphone": "351-911111111"})
    contact_id = contact_id.json["contact_id"]
    keys = {"create_contact", "update_contact", "get_contact", "find_contact", "add_tag", "detach_tag"}
    for operation in egoi_catalog.instances:
        if operation.key in keys:
            body = dict(operation.example)
            if "contact_id" in body:
                body["contact_id"] = contact_id
            r = action(client, operation.key, body)
            assert 200 <= r.status_code < 300, (operation.key, r.json)
