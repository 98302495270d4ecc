"""The E-goi sandbox answers as E-goi's published specs say: paths, statuses, bodies, checks."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from actions.egoi.sandbox import (
    MARKETING_PREFIX,
    SANDBOX_INVALID_KEY,
    TRANSACTIONAL_PREFIX,
    create_app,
)

KEY = {"Apikey": "test-key"}
TX_KEY = {"ApiKey": "test-key"}
V3_TYPE = "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
TX_TYPE = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
CONTACTS = f"{MARKETING_PREFIX}/lists/1/contacts"
ATTACH = f"{CONTACTS}/actions/attach-tag"
SENDERS = f"{TRANSACTIONAL_PREFIX}/sms/senders"
SEND = f"{TRANSACTIONAL_PREFIX}/sms/messages/action/send"


@pytest.fixture()
def client():
    return create_app().test_client()


def create(client, base: dict[str, Any], **extra: Any):
    return client.post(CONTACTS, headers=KEY, json={"base": base, **extra})


def contact_count(client) -> int:
    return client.get(CONTACTS, headers=KEY).get_json()["total_items"]


def sms(**fields: Any) -> dict[str, Any]:
    return {"to": "351-912345678", "from": "1", "textBody": "Hello", **fields}


def assert_problem(response, status: int, title: str, type_: str = V3_TYPE) -> dict[str, Any]:
    body = response.get_json()
    assert response.status_code == status, body
    assert {"type": type_, "title": title, "status": status}.items() <= body.items()
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def assert_422(response, *fields: str) -> dict[str, Any]:
    body = assert_problem(response, 422, "Unprocessable Entity")
    assert set(fields) <= set(body["errors"]), body["errors"]
    assert all(isinstance(m, list) and m for m in body["errors"].values())
    return body


# --- seed state and auth ----------------------------------------------------------------------


def test_seeded_state(client):
    lists = client.get(f"{MARKETING_PREFIX}/lists", headers=KEY).get_json()
    assert lists["total_items"] == 1
    demo = lists["items"][0]
    assert {
        "list_id": 1,
        "internal_name": "Demo list",
        "public_name": "Demo list",
        "status": "active",
    }.items() <= demo.items()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", demo["created"])
    tags = client.get(f"{MARKETING_PREFIX}/tags", headers=KEY).get_json()
    assert tags == {
        "total_items": 1,
        "items": [{"tag_id": 1, "name": "Demo tag", "color": "#FFFFFF"}],
    }
    senders = client.get(SENDERS, headers=TX_KEY).get_json()
    assert [(s["id"], s["name"], s["senderStatus"]) for s in senders] == [("1", "Demo sender", "active")]
    assert set(senders[0]) == {"id", "name", "phoneNumber", "senderStatus"}
    assert contact_count(client) == 0
    assert client.get("/_sandbox/sms").get_json() == []


def test_every_app_starts_from_the_seed():
    first = create_app().test_client()
    assert create(first, {"email": "a@example.com"}).status_code == 201
    assert contact_count(first) == 1
    assert contact_count(create_app().test_client()) == 0


ENDPOINTS = [
    ("get", f"{MARKETING_PREFIX}/lists"),
    ("get", f"{MARKETING_PREFIX}/lists/1"),
    ("get", CONTACTS),
    ("post", CONTACTS),
    ("get", f"{CONTACTS}/0123456789"),
    ("patch", f"{CONTACTS}/0123456789"),
    ("post", ATTACH),
    ("get", f"{MARKETING_PREFIX}/tags"),
    ("post", f"{MARKETING_PREFIX}/tags"),
    ("get", SENDERS),
    ("post", SEND),
]


@pytest.mark.parametrize("method,path", ENDPOINTS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Apikey": ""}, {"Apikey": SANDBOX_INVALID_KEY}, {"ApiKey": SANDBOX_INVALID_KEY}],
)
def test_missing_or_invalid_key_is_401(client, method, path, headers):
    response = getattr(client, method)(path, headers=headers, json={"base": {"email": "a@b.co"}})
    tx = path.startswith(TRANSACTIONAL_PREFIX)
    assert_problem(response, 401, "Unauthorized", TX_TYPE if tx else V3_TYPE)
    assert contact_count(client) == 0


@pytest.mark.parametrize("header", ["Apikey", "ApiKey", "apikey", "APIKEY"])
def test_key_header_name_is_case_insensitive(client, header):
    assert client.get(f"{MARKETING_PREFIX}/lists", headers={header: "k"}).status_code == 200
    assert client.get(SENDERS, headers={header: "k"}).status_code == 200


def test_sandbox_outbox_needs_no_key(client):
    assert client.get("/_sandbox/sms").status_code == 200


# --- lists ------------------------------------------------------------------------------------


def test_get_list_is_a_complex_list_with_stats(client):
    create(client, {"email": "a@example.com"})
    create(client, {"email": "b@example.com", "status": "inactive"})
    body = client.get(f"{MARKETING_PREFIX}/lists/1", headers=KEY).get_json()
    assert body["list_id"] == 1 and body["public_name"] == "Demo list"
    assert body["default_language"] == "en" and body["available_languages"] == ["en"]
    assert body["stats"]["total_contacts"] == 2
    assert body["stats"]["total_active"] == body["stats"]["total_inactive"] == 1


def test_unknown_list_is_404(client):
    for response in (
        client.get(f"{MARKETING_PREFIX}/lists/99", headers=KEY),
        client.get(f"{MARKETING_PREFIX}/lists/99/contacts", headers=KEY),
        client.post(
            f"{MARKETING_PREFIX}/lists/99/contacts",
            headers=KEY,
            json={"base": {"email": "a@example.com"}},
        ),
    ):
        assert_problem(response, 404, "NotFound")


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=1001",
        "limit=x",
        "offset=-1",
        "order=up",
        "order_by=colour",
        "limit=%D9%A3",
    ],
)
def test_bad_paging_is_422(client, query):
    assert_422(client.get(f"{MARKETING_PREFIX}/lists?{query}", headers=KEY))
    assert_422(client.get(f"{MARKETING_PREFIX}/tags?{query}", headers=KEY))


def test_lists_filters_and_paging(client):
    url = f"{MARKETING_PREFIX}/lists"
    assert client.get(f"{url}?internal_name=Nope", headers=KEY).get_json()["total_items"] == 0
    assert client.get(f"{url}?public_name=Demo%20list", headers=KEY).get_json()["total_items"] == 1
    assert client.get(f"{url}?offset=1&limit=100", headers=KEY).get_json() == {
        "total_items": 1,
        "items": [],
    }


# --- contacts ---------------------------------------------------------------------------------


def test_create_and_get_contact(client):
    base = {
        "status": "active",
        "first_name": "Ana",
        "last_name": "Silva",
        "birth_date": "1990-02-28",
        "language": "pt",
        "email": "ana@example.com",
        "cellphone": "351-912345678",
        "phone": "351-212345678",
    }
    response = create(client, base, extra=[{"field_id": 3, "value": "Porto"}])
    assert response.status_code == 201
    contact_id = response.get_json()["contact_id"]
    assert response.get_json() == {"contact_id": contact_id}
    assert re.fullmatch(r"[0-9a-f]{10}", contact_id)
    body = client.get(f"{CONTACTS}/{contact_id}", headers=KEY).get_json()
    assert base.items() <= body["base"].items()
    assert body["base"]["contact_id"] == contact_id
    assert body["base"]["subscription_method"] == "api"
    assert body["extra"] == [{"field_id": 3, "format": "text", "value": "Porto"}]
    assert body["tags"] == []
    assert body["sms_stats"] == {"sent": 0, "delivered": 0} and "email_stats" in body


def test_list_contacts_shape_and_filters(client):
    first = create(client, {"email": "a@example.com", "first_name": "Ana"}).get_json()["contact_id"]
    create(client, {"cellphone": "351-911111111", "first_name": "Rui"})
    body = client.get(CONTACTS, headers=KEY).get_json()
    assert body["total_items"] == 2
    assert all(set(item) == {"base", "extra", "tags"} for item in body["items"])
    by_email = client.get(f"{CONTACTS}?email=A@example.com", headers=KEY).get_json()
    assert [c["base"]["contact_id"] for c in by_email["items"]] == [first]
    by_name = client.get(f"{CONTACTS}?first_name=Rui", headers=KEY).get_json()
    assert by_name["total_items"] == 1 and by_name["items"][0]["base"]["first_name"] == "Rui"
    page = client.get(f"{CONTACTS}?offset=1&limit=1", headers=KEY).get_json()
    assert page["total_items"] == 2 and len(page["items"]) == 1


def test_unknown_contact_is_404(client):
    assert_problem(client.get(f"{CONTACTS}/0123456789", headers=KEY), 404, "NotFound")
    assert_problem(client.patch(f"{CONTACTS}/0123456789", headers=KEY, json={"base": {}}), 404, "NotFound")


@pytest.mark.parametrize(
    "existing,duplicate,field",
    [
        ({"email": "ana@example.com"}, {"email": "ANA@example.com"}, "email"),
        (
            {"cellphone": "351-912345678"},
            {"cellphone": "351-912345678", "email": "x@example.com"},
            "cellphone",
        ),
    ],
)
def test_duplicate_is_409_with_the_existing_id(client, existing, duplicate, field):
    existing_id = create(client, existing).get_json()["contact_id"]
    body = assert_problem(create(client, duplicate), 409, "Conflict")
    assert body["errors"] == {
        "unique_field_in_use": "A unique field is already being used",
        "field_id": field,
        "contacts": [existing_id],
    }
    assert contact_count(client) == 1


@pytest.mark.parametrize(
    "base,field",
    [
        ({"cellphone": "+351 912345678"}, "cellphone"),
        ({"cellphone": "351912345678"}, "cellphone"),
        ({"cellphone": "351-91234a678"}, "cellphone"),
        ({"cellphone": "351-912345678\n"}, "cellphone"),
        ({"cellphone": "1234-912345678"}, "cellphone"),
        ({"email": "a@example.com", "phone": "351 21 234 5678"}, "phone"),
        ({"email": "a@example.com", "birth_date": "2023-02-30"}, "birth_date"),
        ({"email": "a@example.com", "birth_date": "30/01/2023"}, "birth_date"),
        ({"email": "a@example.com", "birth_date": "20230130"}, "birth_date"),
        ({"email": "a@example.com", "status": "deleted"}, "status"),
        ({"email": "a@example.com", "language": "it"}, "language"),
        ({"email": "not-an-email"}, "email"),
        ({"email": 42}, "email"),
        ({"first_name": "No channel"}, "base"),
        ({}, "base"),
    ],
)
def test_invalid_contact_is_422_and_nothing_is_stored(client, base, field):
    assert_422(create(client, base), field)
    assert contact_count(client) == 0


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, "base"),
        ({"base": "a@example.com"}, "base"),
        ([], "body"),
        ({"base": {"email": "a@example.com"}, "extra": {"field_id": 1}}, "extra"),
        ({"base": {"email": "a@example.com"}, "extra": [{"value": "x"}]}, "extra"),
        ({"base": {"email": "a@example.com"}, "extra": [{"field_id": 1, "value": [[1]]}]}, "extra"),
        (
            {"base": {"email": "a@example.com"}, "extra": [{"field_id": 1, "value": {"a": 1}}]},
            "extra",
        ),
    ],
)
def test_malformed_contact_body_is_422(client, body, field):
    assert_422(client.post(CONTACTS, headers=KEY, json=body), field)
    assert contact_count(client) == 0


def test_patch_updates_only_what_is_sent(client):
    contact_id = create(
        client, {"email": "a@example.com", "first_name": "Ana", "cellphone": "351-912345678"}
    ).get_json()["contact_id"]
    response = client.patch(
        f"{CONTACTS}/{contact_id}",
        headers=KEY,
        json={
            "base": {
                "last_name": "Silva",
                "language": "es",
                "cellphone": "",
                "consent": "contract",
            },
            "extra": [{"field_id": 2, "value": [1, 2]}],
        },
    )
    assert response.status_code == 200
    assert response.get_json() == {"contact_id": contact_id}
    body = client.get(f"{CONTACTS}/{contact_id}", headers=KEY).get_json()
    assert {
        "email": "a@example.com",
        "first_name": "Ana",
        "last_name": "Silva",
        "language": "es",
        "consent": "contract",
    }.items() <= body["base"].items()
    assert "cellphone" not in body["base"]
    assert body["extra"] == [{"field_id": 2, "format": "options", "value": [1, 2]}]


def test_patch_keeps_own_email_but_409s_on_anothers(client):
    first = create(client, {"email": "a@example.com"}).get_json()["contact_id"]
    second = create(client, {"email": "b@example.com"}).get_json()["contact_id"]
    url = f"{CONTACTS}/{second}"
    assert client.patch(url, headers=KEY, json={"base": {"email": "b@example.com"}}).status_code == 200
    body = assert_problem(client.patch(url, headers=KEY, json={"base": {"email": "A@example.com"}}), 409, "Conflict")
    assert body["errors"]["contacts"] == [first]
    assert client.get(url, headers=KEY).get_json()["base"]["email"] == "b@example.com"


@pytest.mark.parametrize(
    "base,field",
    [
        ({"cellphone": "912345678"}, "cellphone"),
        ({"birth_date": "2023-13-01"}, "birth_date"),
        ({"status": "removed"}, "status"),
        ({"email_status": "paused"}, "email_status"),
        ({"email": ""}, "base"),
    ],
)
def test_invalid_patch_is_422_and_changes_nothing(client, base, field):
    contact_id = create(client, {"email": "a@example.com"}).get_json()["contact_id"]
    url = f"{CONTACTS}/{contact_id}"
    before = client.get(url, headers=KEY).get_json()
    assert_422(client.patch(url, headers=KEY, json={"base": base}), field)
    assert client.get(url, headers=KEY).get_json() == before


# --- tags -------------------------------------------------------------------------------------


def test_create_tag_and_list_tags(client):
    response = client.post(f"{MARKETING_PREFIX}/tags", headers=KEY, json={"name": "VIP", "color": "#FF0000"})
    assert response.status_code == 201
    assert response.get_json() == {"tag_id": 2, "name": "VIP", "color": "#FF0000"}
    newest_first = client.get(f"{MARKETING_PREFIX}/tags", headers=KEY).get_json()
    assert [t["tag_id"] for t in newest_first["items"]] == [2, 1]
    by_name = client.get(f"{MARKETING_PREFIX}/tags?order_by=name&order=asc", headers=KEY).get_json()
    assert [t["name"] for t in by_name["items"]] == ["Demo tag", "VIP"]


def test_tag_conflict_and_validation(client):
    url = f"{MARKETING_PREFIX}/tags"
    body = assert_problem(client.post(url, headers=KEY, json={"name": "demo TAG"}), 409, "Conflict")
    assert body["errors"] == {"name_already_exists": "The provided name already exists"}
    assert_422(client.post(url, headers=KEY, json={"color": "#FFFFFF"}), "name")
    assert_422(client.post(url, headers=KEY, json={"name": "X", "color": "red"}), "color")
    assert client.get(url, headers=KEY).get_json()["total_items"] == 1


# --- attach tag -------------------------------------------------------------------------------


def test_attach_tag_is_reflected_in_the_contact(client):
    contact_id = create(client, {"email": "a@example.com"}).get_json()["contact_id"]
    for _ in range(2):  # attaching twice keeps one copy
        response = client.post(ATTACH, headers=KEY, json={"tag_id": 1, "contacts": [contact_id]})
        assert response.status_code == 202
        assert response.get_json() == {"result": "success"}
    assert client.get(f"{CONTACTS}/{contact_id}", headers=KEY).get_json()["tags"] == [1]
    listed = client.get(CONTACTS, headers=KEY).get_json()["items"][0]
    assert listed["tags"] == [1]


def test_attach_tag_errors(client):
    contact_id = create(client, {"email": "a@example.com"}).get_json()["contact_id"]
    assert_problem(
        client.post(
            f"{MARKETING_PREFIX}/lists/9/contacts/actions/attach-tag",
            headers=KEY,
            json={"tag_id": 1, "contacts": [contact_id]},
        ),
        404,
        "NotFound",
    )
    assert_problem(
        client.post(ATTACH, headers=KEY, json={"tag_id": 9, "contacts": [contact_id]}),
        404,
        "NotFound",
    )
    assert_422(client.post(ATTACH, headers=KEY, json={"tag_id": 1, "contacts": []}), "contacts")
    assert_422(client.post(ATTACH, headers=KEY, json={"tag_id": 1}), "contacts")
    assert_422(client.post(ATTACH, headers=KEY, json={"contacts": [contact_id]}), "tag_id")
    assert_422(client.post(ATTACH, headers=KEY, json={"tag_id": True, "contacts": [contact_id]}), "tag_id")
    assert_422(client.post(ATTACH, headers=KEY, json={"tag_id": 1, "contacts": ["nope"]}), "contacts")
    assert client.get(f"{CONTACTS}/{contact_id}", headers=KEY).get_json()["tags"] == []


# --- SMS --------------------------------------------------------------------------------------


def test_send_sms_returns_one_id_per_message_and_keeps_them(client):
    response = client.post(
        SEND,
        headers=TX_KEY,
        json=[
            sms(),
            sms(
                to="55-11987654321",
                textBody="Olá",
                encoding="unicode",
                priority="urgent",
                maxCount=2,
                mergeTags=["name:Ana"],
                customData="{}",
                registered=True,
                group="g",
            ),
        ],
    )
    assert response.status_code == 201
    ids = [item["messageId"] for item in response.get_json()]
    assert len(ids) == 2 and len(set(ids)) == 2 and all(isinstance(i, str) for i in ids)
    outbox = client.get("/_sandbox/sms").get_json()
    assert [m["messageId"] for m in outbox] == ids[::-1]  # newest first
    assert outbox[0]["to"] == "55-11987654321" and outbox[0]["textBody"] == "Olá"
    assert outbox[1]["priority"] == "non-urgent" and outbox[1]["from"] == "1"
    later = client.post(SEND, headers=TX_KEY, json=[sms()]).get_json()[0]["messageId"]
    assert client.get("/_sandbox/sms").get_json()[0]["messageId"] == later != ids[1]


@pytest.mark.parametrize(
    "batch",
    [
        [{"from": "1", "textBody": "x"}],
        [sms(textBody="")],
        [sms(to="+351912345678")],
        [sms(to="351 912345678")],
        [sms(**{"from": "9"})],
        [sms(**{"from": 1})],
        [sms(encoding="utf8")],
        [sms(priority="high")],
        [sms(maxCount=0)],
        [sms(mergeTags="a:b")],
        [sms(registered="yes")],
        [sms(), sms(to="bad")],
        [],
        [sms()] * 101,
        {"to": "351-912345678"},
        ["text"],
        [sms(templateId="7")],
    ],
)
def test_invalid_sms_batch_is_400_and_nothing_is_sent(client, batch):
    assert_problem(client.post(SEND, headers=TX_KEY, json=batch), 400, "Bad Request", TX_TYPE)
    assert client.get("/_sandbox/sms").get_json() == []


# --- transport-level errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,type_",
    [
        (CONTACTS, V3_TYPE),
        (f"{MARKETING_PREFIX}/tags", V3_TYPE),
        (ATTACH, V3_TYPE),
        (SEND, TX_TYPE),
    ],
)
@pytest.mark.parametrize("data", ["{", "", "[1,", "\xff", "[" * 5000])
def test_malformed_json_is_400(client, path, type_, data):
    response = client.post(path, headers=KEY, data=data, content_type="application/json")
    assert_problem(response, 400, "Bad Request", type_)


def test_unknown_routes_and_methods_are_json(client):
    assert_problem(client.get(f"{MARKETING_PREFIX}/nope", headers=KEY), 404, "NotFound")
    assert_problem(client.get(f"{TRANSACTIONAL_PREFIX}/nope", headers=KEY), 404, "Not Found", TX_TYPE)
    assert_problem(client.get("/nope"), 404, "NotFound")
    response = client.delete(f"{MARKETING_PREFIX}/lists", headers=KEY)
    assert_problem(response, 405, "Method Not Allowed")
    assert "GET" in response.headers["Allow"]


def test_body_over_20_mb_is_413(client):
    response = client.post(CONTACTS, headers=KEY, data=b" " * (20 * 1024 * 1024 + 1), content_type="application/json")
    assert_problem(response, 413, "Request Entity Too Large")


@pytest.mark.parametrize(
    "body",
    [
        None,
        1,
        "x",
        [{"base": {}}],
        {"base": None},
        {"base": {"email": ["a@b.co"]}},
        {"base": {"status": None}},
        {"base": {"email": "a@b.co"}, "extra": [None]},
    ],
)
def test_odd_json_never_causes_a_500(client, body):
    for method, path in (
        ("post", CONTACTS),
        ("post", ATTACH),
        ("post", f"{MARKETING_PREFIX}/tags"),
        ("post", SEND),
        ("patch", f"{CONTACTS}/0123456789"),
    ):
        response = getattr(client, method)(path, headers=KEY, json=body)
        assert 400 <= response.status_code < 500, (path, body, response.get_json())


# --- concurrency ------------------------------------------------------------------------------


def test_concurrent_writes_are_serialised():
    app = create_app()
    results: list[int] = []

    def worker(index: int) -> None:
        client = app.test_client()
        results.append(create(client, {"email": f"user{index}@example.com"}).status_code)
        results.append(create(client, {"email": "same@example.com"}).status_code)
        client.post(SEND, headers=TX_KEY, json=[sms()])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client = app.test_client()
    assert sorted(results).count(201) == 9 and results.count(409) == 7
    assert client.get(f"{CONTACTS}?limit=100", headers=KEY).get_json()["total_items"] == 9
    ids = [m["messageId"] for m in client.get("/_sandbox/sms").get_json()]
    assert len(set(ids)) == 8


@pytest.mark.parametrize("query", ["offset=" + "9" * 5000, "limit=" + "1" * 5000])
def test_huge_numbers_in_the_query_are_422(client, query):
    assert_422(client.get(f"{CONTACTS}?{query}", headers=KEY))
