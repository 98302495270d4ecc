"""Exactly what each E-goi operation sends upstream, and how every upstream failure is answered."""

from __future__ import annotations

import json

import pytest
import requests
import responses
from responses import matchers
from werkzeug.datastructures import MultiDict

from connector.upstream import CappedRetry
from tests.conftest import API, KEY, TX

CONTACT = {"list_id": 1, "email": "ana@example.com", "cellphone": "351-912345678", "birth_date": "1990-01-31"}


def sent(call) -> dict:
    return json.loads(call.request.body)


@responses.activate
def test_create_contact_request(mocked):
    responses.post(f"{API}/lists/1/contacts", json={"contact_id": "2f3a4b5c6d"}, status=201)
    r = mocked.post(
        "/egoi/actions/create_contact", json={**CONTACT, "first_name": "Ana", "status": "active"}, headers=KEY
    )
    assert r.status_code == 201
    assert r.json == {"contact_id": "2f3a4b5c6d", "result": "created"}
    (call,) = responses.calls
    assert call.request.method == "POST"
    assert call.request.url == f"{API}/lists/1/contacts"
    assert call.request.headers["Apikey"] == "test-key-123"
    assert call.request.headers["Content-Type"] == "application/json"
    assert sent(call) == {
        "base": {
            "email": "ana@example.com",
            "cellphone": "351-912345678",
            "birth_date": "1990-01-31",
            "first_name": "Ana",
            "status": "active",
        }
    }


@responses.activate
def test_create_contact_from_a_form_body(mocked):
    responses.post(f"{API}/lists/1/contacts", json={"contact_id": "2f3a4b5c6d"}, status=201)
    r = mocked.post(
        "/egoi/actions/create_contact", data={"list_id": "1", "email": "ana@example.com", "phone": ""}, headers=KEY
    )
    assert r.status_code == 201, r.json
    assert sent(responses.calls[0]) == {"base": {"email": "ana@example.com"}}


@responses.activate
def test_create_contact_duplicate_answers_409_with_existing_id(mocked):
    responses.post(
        f"{API}/lists/1/contacts",
        status=409,
        json={
            "type": "about:blank",
            "title": "Conflict",
            "status": 409,
            "detail": "A unique field is already being used",
            "errors": {
                "unique_field_in_use": "A unique field is already being used",
                "field_id": "email",
                "contacts": ["aaaaaaaaaa"],
            },
        },
    )
    r = mocked.post("/egoi/actions/create_contact", json=CONTACT, headers=KEY)
    assert r.status_code == 409
    assert r.mimetype == "application/problem+json"
    assert r.json["contact_id"] == "aaaaaaaaaa"
    assert "aaaaaaaaaa" in r.json["detail"]


@responses.activate
def test_update_contact_request(mocked):
    responses.patch(f"{API}/lists/3/contacts/abcdef0123", json={"contact_id": "abcdef0123"})
    body = {
        "list_id": 3,
        "contact_id": "abcdef0123",
        "last_name": "Silva",
        "consent": "consent",
        "phone": "351-212345678",
    }
    r = mocked.post("/egoi/actions/update_contact", json=body, headers=KEY)
    assert r.status_code == 200
    assert r.json == {"contact_id": "abcdef0123"}
    (call,) = responses.calls
    assert call.request.method == "PATCH"
    assert sent(call) == {"base": {"last_name": "Silva", "consent": "consent", "phone": "351-212345678"}}


@responses.activate
def test_add_tag_request(mocked):
    responses.post(f"{API}/lists/1/contacts/actions/attach-tag", json={"result": "success"}, status=202)
    body = {"list_id": 1, "tag_id": 5, "contacts": ["aaaaaaaaaa", "bbbbbbbbbb", "aaaaaaaaaa"]}
    r = mocked.post("/egoi/actions/add_tag", json=body, headers=KEY)
    assert r.status_code == 200
    assert r.json == {"tag_id": 5, "success": ["aaaaaaaaaa", "bbbbbbbbbb"], "tag_created": False}
    assert sent(responses.calls[0]) == {"tag_id": 5, "contacts": ["aaaaaaaaaa", "bbbbbbbbbb"]}


@responses.activate
def test_add_tag_from_a_form_with_repeated_contacts(mocked):
    responses.post(f"{API}/lists/1/contacts/actions/attach-tag", json={"result": "success"}, status=202)
    form = MultiDict([("list_id", "1"), ("tag_id", "5"), ("contacts", "aaaaaaaaaa"), ("contacts", "bbbbbbbbbb")])
    r = mocked.post("/egoi/actions/add_tag", data=form, headers=KEY)
    assert r.status_code == 200, r.json
    assert sent(responses.calls[0])["contacts"] == ["aaaaaaaaaa", "bbbbbbbbbb"]


@responses.activate
def test_send_sms_request_goes_to_the_transactional_api(mocked):
    responses.post(f"{TX}/sms/messages/action/send", json=[{"messageId": "m-1"}], status=201)
    body = {
        "to": "351-912345678",
        "from": "7",
        "textBody": "Olá!",
        "encoding": "unicode",
        "priority": "urgent",
        "maxCount": 2,
    }
    r = mocked.post("/egoi/actions/send_sms", json=body, headers=KEY)
    assert r.status_code == 201
    assert r.json == {"messageId": "m-1"}
    (call,) = responses.calls
    assert call.request.url == f"{TX}/sms/messages/action/send"
    assert call.request.headers["ApiKey"] == "test-key-123"
    assert sent(call) == [body]


@responses.activate
def test_lookups_requests(mocked):
    responses.get(
        f"{API}/lists",
        match=[matchers.query_param_matcher({"offset": "0", "limit": "100"})],
        json={
            "total_items": 1,
            "items": [{"list_id": 1, "internal_name": "demo", "public_name": "Demo", "status": "active"}],
        },
    )
    responses.get(f"{API}/tags", json={"total_items": 0, "items": []})
    responses.get(
        f"{TX}/sms/senders", json=[{"id": "1", "name": "Demo", "phoneNumber": "351-9", "senderStatus": "active"}]
    )
    responses.get(
        f"{API}/lists/2/contacts",
        match=[matchers.query_param_matcher({"offset": "10", "limit": "5"})],
        json={
            "total_items": 11,
            "items": [{"base": {"contact_id": "aaaaaaaaaa", "email": "a@b.pt"}, "extra": [], "tags": []}],
        },
    )
    assert mocked.get("/egoi/lookups/lists", headers=KEY).json == {
        "total_items": 1,
        "items": [{"list_id": 1, "internal_name": "demo", "public_name": "Demo"}],
    }
    assert mocked.get("/egoi/lookups/tags", headers=KEY).json == {"total_items": 0, "items": []}
    assert mocked.get("/egoi/lookups/sms_senders", headers=KEY).json["items"][0]["id"] == "1"
    r = mocked.get("/egoi/lookups/contacts?list_id=2&offset=10&limit=5", headers=KEY)
    assert r.json == {"total_items": 11, "items": [{"contact_id": "aaaaaaaaaa", "email": "a@b.pt"}]}


UPSTREAM_ERRORS = [
    (400, 422),
    (401, 401),
    (403, 403),
    (404, 404),
    (408, 504),
    (413, 413),
    (422, 422),
    (429, 429),
    (500, 502),
    (502, 502),
    (503, 502),
    (504, 504),
]


@pytest.mark.parametrize(("upstream_status", "status"), UPSTREAM_ERRORS)
@responses.activate
def test_upstream_statuses_map_to_the_contract(mocked, upstream_status, status):
    headers = {"Retry-After": "7"} if upstream_status == 429 else {}
    body = {"title": "x", "status": upstream_status, "detail": "upstream says no", "errors": {"email": "bad"}}
    responses.post(f"{API}/lists/1/contacts", json=body, status=upstream_status, headers=headers)
    r = mocked.post("/egoi/actions/create_contact", json=CONTACT, headers=KEY)
    assert r.status_code == status
    assert r.mimetype == "application/problem+json"
    assert set(r.json) >= {"type", "title", "status", "detail"}
    assert r.json["status"] == status
    assert "test-key-123" not in r.get_data(as_text=True)
    assert len(responses.calls) == 1  # a POST is never retried once sent
    if status == 429:
        assert r.headers["Retry-After"] == "7"
    if status == 422:
        assert r.json["errors"] == {"email": ["bad"]}
        assert "upstream says no" in r.json["detail"]


@responses.activate
def test_timeout_is_504_and_connection_error_is_502(mocked):
    responses.post(f"{API}/lists/1/contacts", body=requests.ReadTimeout("slow"))
    responses.post(f"{API}/lists/2/contacts", body=requests.ConnectionError("refused"))
    r = mocked.post("/egoi/actions/create_contact", json=CONTACT, headers=KEY)
    assert (r.status_code, r.json["status"]) == (504, 504)
    r = mocked.post("/egoi/actions/create_contact", json={**CONTACT, "list_id": 2}, headers=KEY)
    assert (r.status_code, r.json["status"]) == (502, 502)


@responses.activate
def test_non_json_success_is_502(mocked):
    responses.post(f"{API}/lists/1/contacts", body="<html>maintenance</html>", status=200)
    assert mocked.post("/egoi/actions/create_contact", json=CONTACT, headers=KEY).status_code == 502


@responses.activate
def test_sms_without_message_id_is_502(mocked):
    responses.post(f"{TX}/sms/messages/action/send", json=[], status=201)
    r = mocked.post("/egoi/actions/send_sms", json={"to": "351-912345678", "from": "1", "textBody": "x"}, headers=KEY)
    assert r.status_code == 502


@responses.activate
def test_idempotent_reads_are_retried_on_503_then_succeed(mocked):
    responses.get(f"{API}/tags", status=503, json={})
    responses.get(f"{API}/tags", status=429, json={}, headers={"Retry-After": "1"})
    responses.get(f"{API}/tags", json={"total_items": 0, "items": []})
    r = mocked.get("/egoi/lookups/tags", headers=KEY)
    assert r.status_code == 200
    assert len(responses.calls) == 3


@responses.activate
def test_reads_give_up_after_the_configured_retries(mocked):
    responses.get(f"{API}/tags", status=503, json={"detail": "down"})
    r = mocked.get("/egoi/lookups/tags", headers=KEY)
    assert r.status_code == 502
    assert len(responses.calls) == 4  # 1 + 3 retries


@responses.activate
def test_validation_failures_send_nothing_upstream(mocked):
    r = mocked.post("/egoi/actions/create_contact", json={**CONTACT, "cellphone": "+351 912345678"}, headers=KEY)
    assert r.status_code == 422
    assert len(responses.calls) == 0


def test_retry_after_is_honoured_but_capped():
    class Response:
        headers = {"Retry-After": "3600"}

        def getheader(self, name):
            return self.headers.get(name)

    retry = CappedRetry(total=1, retry_after_cap=30.0)
    assert retry.get_retry_after(Response()) == 30.0
    assert retry.new(total=0).retry_after_cap == 30.0
    Response.headers = {"Retry-After": "2"}
    assert retry.get_retry_after(Response()) == 2.0


@responses.activate
def test_the_api_key_never_reaches_the_logs(mocked, caplog):
    caplog.set_level("DEBUG")
    responses.post(f"{API}/lists/1/contacts", body=requests.ConnectionError("refused"))
    responses.post(f"{API}/lists/2/contacts", status=500, json={"detail": "boom"})
    mocked.post("/egoi/actions/create_contact", json=CONTACT, headers=KEY)
    mocked.post("/egoi/actions/create_contact", json={**CONTACT, "list_id": 2}, headers=KEY)
    mocked.post("/egoi/actions/create_contact", json={**CONTACT, "cellphone": "bad"}, headers=KEY)
    assert caplog.records, "expected some log records to inspect"
    assert KEY["Apikey"] not in caplog.text


@responses.activate
def test_upstream_cookies_are_never_replayed_to_another_caller(mocked):
    """One pooled session serves every credential, so it must not keep cookies."""
    responses.get(
        f"{API}/tags", json={"total_items": 0, "items": []}, headers={"Set-Cookie": "sid=alice-session; Path=/"}
    )
    mocked.get("/egoi/lookups/tags", headers={"Apikey": "alice"})
    mocked.get("/egoi/lookups/tags", headers={"Apikey": "bob"})
    assert len(responses.calls) == 2
    assert "Cookie" not in responses.calls[1].request.headers
    assert responses.calls[1].request.headers["Apikey"] == "bob"


@responses.activate
def test_upstream_redirects_are_not_followed(mocked):
    """A redirect would carry the caller's API key to wherever upstream points."""
    responses.get(f"{API}/tags", status=302, headers={"Location": "https://elsewhere.test/steal"})
    r = mocked.get("/egoi/lookups/tags", headers=KEY)
    assert r.status_code == 502
    assert len(responses.calls) == 1
