"""End to end: the Flask app calling the E-goi sandbox over real HTTP on loopback."""

from __future__ import annotations

import requests

from actions.egoi.sandbox import SANDBOX_INVALID_KEY
from connector import sandbox as sandboxes
from connector.app import create_app
from connector.wiring import runtime_of
from tests.conftest import KEY, TEST_SETTINGS

CONTACT = {"list_id": 1, "email": "ana@example.com", "cellphone": "351-912345678", "birth_date": "1990-01-31"}


def contacts_in_sandbox(client, list_id=1):
    return client.get(f"/egoi/lookups/contacts?list_id={list_id}", headers=KEY).json


def test_create_contact_then_duplicate_is_409_with_existing_id(client):
    r = client.post("/egoi/actions/create_contact", json=CONTACT, headers=KEY)
    assert r.status_code == 201, r.json
    contact_id = r.json["contact_id"]
    assert len(contact_id) == 10

    again = client.post("/egoi/actions/create_contact", json={**CONTACT, "cellphone": "351-911111111"}, headers=KEY)
    assert again.status_code == 409
    assert again.json["contact_id"] == contact_id
    assert contact_id in again.json["detail"]
    assert contacts_in_sandbox(client)["total_items"] == 1


def test_bad_formats_are_422_and_create_nothing(client):
    for field, value, expected in [
        ("cellphone", "+351 912345678", "ccc-xxxxxxxxx"),
        ("birth_date", "1990-02-30", "yyyy-mm-dd"),
    ]:
        r = client.post("/egoi/actions/create_contact", json={**CONTACT, field: value}, headers=KEY)
        assert r.status_code == 422
        assert r.mimetype == "application/problem+json"
        assert list(r.json["errors"]) == [field]
        assert expected in r.json["errors"][field][0]
    assert contacts_in_sandbox(client)["total_items"] == 0


def test_update_contact_changes_only_what_is_sent(client, egoi_sandbox):
    contact_id = client.post("/egoi/actions/create_contact", json={**CONTACT, "first_name": "Ana"}, headers=KEY).json[
        "contact_id"
    ]
    r = client.post(
        "/egoi/actions/update_contact", json={"list_id": 1, "contact_id": contact_id, "last_name": "Silva"}, headers=KEY
    )
    assert r.status_code == 200, r.json
    assert r.json == {"contact_id": contact_id}
    (item,) = contacts_in_sandbox(client)["items"]
    assert (item["first_name"], item["last_name"], item["email"]) == ("Ana", "Silva", "ana@example.com")


def test_update_of_unknown_contact_is_404(client):
    r = client.post(
        "/egoi/actions/update_contact", json={"list_id": 1, "contact_id": "0123456789", "first_name": "X"}, headers=KEY
    )
    assert r.status_code == 404


def test_add_tag_attaches_the_demo_tag(client, egoi_sandbox):
    contact_id = client.post("/egoi/actions/create_contact", json=CONTACT, headers=KEY).json["contact_id"]
    r = client.post("/egoi/actions/add_tag", json={"list_id": 1, "tag_id": 1, "contacts": [contact_id]}, headers=KEY)
    assert r.status_code == 200, r.json
    assert r.json == {"tag_id": 1, "success": [contact_id], "tag_created": False}
    contact = requests.get(
        f"{egoi_sandbox.url}/api/lists/1/contacts/{contact_id}", headers={"Apikey": "k"}, timeout=5
    ).json()
    assert 1 in contact["tags"]


def test_add_unknown_tag_is_404(client):
    contact_id = client.post("/egoi/actions/create_contact", json=CONTACT, headers=KEY).json["contact_id"]
    r = client.post("/egoi/actions/add_tag", json={"list_id": 1, "tag_id": 999, "contacts": [contact_id]}, headers=KEY)
    assert r.status_code == 404


def test_send_sms_returns_a_message_id_and_lands_in_the_sandbox_outbox(client, egoi_sandbox):
    r = client.post("/egoi/actions/send_sms", json={"to": "351-912345678", "from": "1", "textBody": "Olá"}, headers=KEY)
    assert r.status_code == 201, r.json
    outbox = requests.get(f"{egoi_sandbox.url}/_sandbox/sms", timeout=5).json()
    assert outbox[0]["messageId"] == r.json["messageId"]
    assert outbox[0]["textBody"] == "Olá"


def test_lookups_fill_the_dropdowns(client):
    assert client.get("/egoi/lookups/lists", headers=KEY).json["items"][0]["list_id"] == 1
    assert client.get("/egoi/lookups/tags", headers=KEY).json["items"][0]["tag_id"] == 1
    assert client.get("/egoi/lookups/sms_senders", headers=KEY).json["items"][0]["id"] == "1"


def test_the_documented_invalid_key_gets_401(client):
    r = client.post("/egoi/actions/create_contact", json=CONTACT, headers={"Apikey": SANDBOX_INVALID_KEY})
    assert r.status_code == 401
    assert SANDBOX_INVALID_KEY not in r.get_data(as_text=True)


def test_missing_key_is_401_before_anything_else(client):
    r = client.post("/egoi/actions/create_contact", json=CONTACT)
    assert r.status_code == 401
    assert "Apikey" in r.json["detail"]


def test_malformed_json_is_400(client):
    r = client.post(
        "/egoi/actions/create_contact", data=b'{"list_id": 1,', content_type="application/json", headers=KEY
    )
    assert r.status_code == 400
    assert r.mimetype == "application/problem+json"
    assert "not valid JSON" in r.json["detail"]


def test_a_non_object_body_and_unknown_fields_are_422(client):
    r = client.post("/egoi/actions/create_contact", json=[CONTACT], headers=KEY)
    assert r.status_code == 422 and "_body" in r.json["errors"]
    r = client.post("/egoi/actions/create_contact", json={**CONTACT, "birthdate": "1990-01-31"}, headers=KEY)
    assert r.status_code == 422 and r.json["errors"] == {"birthdate": ["Unknown field."]}


def test_a_body_over_the_limit_is_413(egoi_catalog, egoi_sandbox):
    urls = sandboxes.service_urls(egoi_catalog, egoi_sandbox)
    app = create_app({**TEST_SETTINGS, **urls, "CATALOGS": "egoi", "MAX_BODY_BYTES": 1024})
    r = app.test_client().post(
        "/egoi/actions/create_contact", data=b"x" * 2048, content_type="application/json", headers=KEY
    )
    assert r.status_code == 413
    assert r.mimetype == "application/problem+json"


def test_the_rate_limit_is_per_credential_with_retry_after(egoi_catalog, egoi_sandbox):
    app = create_app(
        {
            **TEST_SETTINGS,
            **sandboxes.service_urls(egoi_catalog, egoi_sandbox),
            "CATALOGS": "egoi",
            "RATE_LIMIT": "3 per 60 seconds",
        }
    )
    client = app.test_client()
    statuses = [client.get("/egoi/lookups/tags", headers={"Apikey": "one"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/egoi/lookups/tags", headers={"Apikey": "one"})
    assert limited.mimetype == "application/problem+json"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert client.get("/egoi/lookups/tags", headers={"Apikey": "two"}).status_code == 200
    assert client.get("/egoi/openapi.json").status_code == 200  # specs are not limited


def test_unknown_routes_and_methods_are_problems(client):
    assert client.post("/egoi/actions/nope", json={}, headers=KEY).status_code == 404
    r = client.get("/egoi/actions/create_contact", headers=KEY)
    assert r.status_code == 405 and r.mimetype == "application/problem+json"


def test_service_endpoints(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json["status"] == "ready"
    connectors = {c["name"]: c for c in client.get("/").json["connectors"]}  # whatever else is installed
    assert connectors["egoi"]["swagger"] == "/egoi/swagger.json"
    docs = client.get("/egoi/docs")
    assert (
        docs.status_code == 200 and b"CreateContact" in docs.data and b"http" not in docs.data.split(b"<style>")[0][:0]
    )


def test_sandbox_pages_are_reachable_on_the_service_port():
    """In sandbox mode the emulator's outboxes are at /<connector>/_sandbox/... on the service."""
    app = create_app({**TEST_SETTINGS, "CATALOGS": "egoi", "SANDBOX": True})
    try:
        client = app.test_client()
        sent = client.post(
            "/egoi/actions/send_sms", json={"to": "351-912345678", "from": "1", "textBody": "Hi"}, headers=KEY
        )
        outbox = client.get("/egoi/_sandbox/sms")
        assert outbox.status_code == 200
        assert outbox.get_json()[0]["messageId"] == sent.get_json()["messageId"]
        assert client.post("/egoi/_sandbox/verify/clock", json={"advance": 1}).status_code == 200
    finally:
        for sandbox in runtime_of(app).sandboxes.values():
            sandbox.stop()


def test_sandbox_pages_do_not_exist_outside_sandbox_mode(client):
    assert client.get("/egoi/_sandbox/sms").status_code == 404
