"""Inputs the way no-code tools send them, in JSON: Zapier sends an unmapped optional field as "",
a mapped number or boolean as text, and a date-time as ISO 8601 with an offset. Exact upstream
requests with `responses`; every operation's optional fields as "" against the sandbox."""

from __future__ import annotations

import json

import pytest
import responses

from actions.egoi import catalog
from connector.declarations import Action
from tests.conftest import API, KEY, TX

SEND_SMS = f"{TX}/sms/messages/action/send"
SMS = {"to": "351-912345678", "from": "1", "textBody": "Hello"}


@responses.activate
def test_schedule_to_with_an_offset_is_sent_as_e_goi_takes_it(mocked):
    responses.post(SEND_SMS, json=[{"messageId": "77"}], status=201)
    for given in ("2030-01-15T09:00:00+00:00", "2030-01-15T10:00:00.000+01:00", "2030-01-15T09:00:00Z"):
        r = mocked.post("/egoi/actions/send_sms", json={**SMS, "scheduleTo": given}, headers=KEY)
        assert r.status_code == 201, r.json
    assert [json.loads(c.request.body)[0]["scheduleTo"] for c in responses.calls] == ["2030-01-15 09:00:00"] * 3


def test_a_time_without_an_offset_or_a_loose_date_is_still_422(mocked):
    for given in ("2030-01-15T09:00:00", "15/01/2030 09:00"):
        r = mocked.post("/egoi/actions/send_sms", json={**SMS, "scheduleTo": given}, headers=KEY)
        assert r.status_code == 422 and "ISO 8601 with an offset" in r.json["errors"]["scheduleTo"][0]
    r = mocked.post(
        "/egoi/actions/create_contact",
        json={"list_id": 1, "email": "a@b.pt", "birth_date": "1990-01-31T00:00:00Z"},
        headers=KEY,
    )
    assert r.status_code == 422 and "yyyy-mm-dd" in r.json["errors"]["birth_date"][0]  # dates stay strict


@responses.activate
def test_numerals_and_booleans_as_text_and_empty_optionals(mocked):
    responses.post(f"{API}/lists/1/contacts", json={"contact_id": "2f3a4b5c6d"}, status=201)
    body = {
        "list_id": "1",
        "email": "ana@example.com",
        "upsert": "false",
        "first_name": "",
        "cellphone": "",
        "extra": "",
    }
    r = mocked.post("/egoi/actions/create_contact", json=body, headers=KEY)
    assert r.status_code == 201, r.json
    assert json.loads(responses.calls[0].request.body) == {"base": {"email": "ana@example.com"}}
    bad = mocked.post("/egoi/actions/create_contact", json={**body, "list_id": "1.5", "upsert": "yes"}, headers=KEY)
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"list_id", "upsert"}
    required = mocked.post("/egoi/actions/create_contact", json={**body, "list_id": ""}, headers=KEY)
    assert required.status_code == 422 and "list_id" in required.json["errors"]  # required: "" is not "not sent"


ACTIONS = [op for op in catalog.operations if issubclass(op, Action) and op.example is not None]


@pytest.mark.parametrize("operation", ACTIONS, ids=lambda op: op.operation_id)
def test_every_action_works_with_its_other_optional_fields_as_empty_strings(client, operation):
    """What a Zap sends when the user maps only the example's fields: every other optional field "".
    The answer is the same as without them (the sandbox keeps state, so the example runs twice and
    only the status of the second is compared with a fresh run's)."""
    instance = operation()
    blanks = {
        field.data_key or name: ""
        for name, field in instance.input_schema.load_fields.items()
        if not field.required and (field.data_key or name) not in operation.example
    }
    loaded_with = instance.input_schema.load({**operation.example, **blanks})
    assert loaded_with == instance.input_schema.load(dict(operation.example))
    r = client.post(f"/egoi/actions/{operation.key}", json={**operation.example, **blanks}, headers=KEY)
    assert r.status_code < 500 and not r.json.get("type", "").endswith(":validation-error"), r.json
