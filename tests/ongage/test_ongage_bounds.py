"""Every string an Ongage operation takes is bounded (a documented maxLength), so an oversized
value is a 422 naming the field and never reaches Ongage (where a long query string is a 414)."""

from __future__ import annotations

import json

import pytest
import responses
from conftest import TEST_SETTINGS
from marshmallow import fields, validate

from actions.ongage.events import EXAMPLE_EVENT, OPERATIONS
from connector.app import create_app

ONGAGE = "https://ongage.test"
CREDENTIALS = {"X-Ongage-Credentials": "acme:ana:s3cret"}
MEGABYTE = "x" * (1024 * 1024)


@pytest.fixture(scope="module")
def app():
    return create_app({**TEST_SETTINGS, "CATALOGS": "ongage", "ONGAGE_API_URL": ONGAGE})


@pytest.fixture(scope="module")
def mocked(app):
    return app.test_client()


def string_fields(schema, path=""):
    """(path, field) of every string field of a schema, inside nested schemas and lists too."""
    for name, field in schema.fields.items():
        yield from _strings(field, f"{path}{name}")


def _strings(field, path):
    if isinstance(field, fields.List):
        yield from _strings(field.inner, f"{path}[]")
    elif isinstance(field, fields.Nested):
        yield from string_fields(field.schema, f"{path}.")
    elif isinstance(field, fields.String):
        yield path, field


def max_length(field):
    maxima = [v.max for v in field.validators if isinstance(v, validate.Length) and v.max is not None]
    return min(maxima) if maxima else None


def test_every_input_string_has_a_maximum_length():
    found = {}
    for operation in OPERATIONS:
        for path, field in string_fields(operation.Input()):
            found[f"{operation.operation_id}.{path}"] = max_length(field)
    assert "CreateEvent.triggers[].send_on_days[]" in found  # strings inside lists of nested schemas
    assert "CreateEvent.distribution[].domain" in found
    assert {path: bound for path, bound in found.items() if not bound} == {}
    assert found["ListEvents.name"] == 255
    assert found["CreateEvent.description"] == 2000
    assert found["CreateEvent.triggers[].send_on_days[]"] == 3


@pytest.mark.parametrize("spec", ["swagger.json", "openapi.json"])
def test_the_specs_document_the_maximum_lengths(mocked, spec):
    text = mocked.get(f"/ongage/{spec}").get_data(as_text=True)
    assert '"maxLength": 255' in text
    assert '"maxLength": 2000' in text
    assert '"maxLength": 253' in text


@responses.activate
def test_a_megabyte_name_on_list_events_is_a_422_and_nothing_is_sent(mocked):
    r = mocked.post("/ongage/actions/list_events", json={"list_id": 1, "name": MEGABYTE}, headers=CREDENTIALS)
    assert r.status_code == 422, r.status_code
    assert r.mimetype == "application/problem+json"
    assert r.json["errors"] == {"name": ["Write at most 255 characters."]}
    assert len(responses.calls) == 0


@responses.activate
def test_a_name_at_the_bound_is_sent(mocked):
    responses.get(f"{ONGAGE}/1/api/events", json={"metadata": {"error": False}, "payload": []})
    r = mocked.post("/ongage/actions/list_events", json={"list_id": 1, "name": "n" * 255}, headers=CREDENTIALS)
    assert r.status_code == 200, r.json
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize(
    "change, field",
    [
        ({"name": MEGABYTE}, "name"),
        ({"description": MEGABYTE}, "description"),
        ({"date_field_name": MEGABYTE}, "date_field_name"),
        ({"based_on": MEGABYTE}, "based_on"),
        ({"ongoing_event": False, "start_date": MEGABYTE, "end_date": "2026-12-31"}, "start_date"),
    ],
)
def test_megabyte_strings_on_create_event_are_422(mocked, change, field):
    r = mocked.post("/ongage/actions/create_event", json={**EXAMPLE_EVENT, **change}, headers=CREDENTIALS)
    assert r.status_code == 422, r.status_code
    assert field in r.json["errors"], r.json["errors"]
    assert "characters" in json.dumps(r.json["errors"][field])
    assert len(responses.calls) == 0


@responses.activate
def test_megabyte_strings_inside_lists_are_422_by_path(mocked):
    body = {
        **EXAMPLE_EVENT,
        "distribution": [{"domain": MEGABYTE, "esps": [{"esp_id": 1, "percent": 100}]}],
        "triggers": [{**EXAMPLE_EVENT["triggers"][0], "send_on_days": [MEGABYTE]}],
    }
    r = mocked.post("/ongage/actions/create_event", json=body, headers=CREDENTIALS)
    assert r.status_code == 422, r.status_code
    assert r.json["errors"] == {
        "distribution.0.domain": ["Write at most 253 characters."],
        "triggers.0.send_on_days.0": [
            "Write at most 3 characters.",
            "Must be one of: Sun, Mon, Tue, Wed, Thu, Fri, Sat.",
        ],
    }
    assert len(responses.calls) == 0
