"""Every input string has a maximum length (a start-up check), and an over-long value is a 422
naming the field before anything reaches the upstream; the specs mark a body required exactly
when the service refuses a call without one."""

from __future__ import annotations

import demo_catalog
import pytest
import requests
import responses
from marshmallow import Schema

from actions.egoi import fields as egoi_fields
from connector import fields as f
from connector.app import create_app
from connector.declarations import Action, Catalog, Credential, InputSchema, OutputSchema, Service, validate_catalogs
from connector.registry import discover
from connector.wiring import runtime_of
from tests.conftest import API, KEY, TEST_SETTINGS, TX, live_service

MEGABYTE = "x" * 1_000_000


# --- the start-up check -----------------------------------------------------------------------


class Item(InputSchema):
    note = f.String(summary="Note", description="Free text.")
    label = f.String(max_length=20, summary="Label", description="Bounded.")


class SloppyInput(InputSchema):
    name = f.String(summary="Name", description="No maximum.")
    kind = f.Choice(("a", "bb"), summary="Kind", description="Bounded by its choices.")
    code = f.String(
        validate=f.FullMatch(r"^\d{4}$", error="Four digits."), summary="Code", description="A pattern alone."
    )
    day = f.Date(summary="Day", description="Bounded by its own max_length.")
    items = f.List(f.Nested(Item), summary="Items", description="Nested strings count too.")
    tags = f.List(f.String(), summary="Tags", description="So do list items.")
    extra = f.Dict(summary="Extra", description="Keys and values of any length.")
    sized = f.Dict(
        keys=f.String(max_length=10), values=f.String(max_length=10), summary="Sized", description="Bounded."
    )


class Out(OutputSchema):
    unbounded_output = f.String(summary="Out", description="Outputs are not checked.")


class Sloppy(Action):
    key = "sloppy"
    operation_id = "SloppyThing"
    summary = "Do a sloppy thing"
    description = "Declares input strings without a maximum."
    Input = SloppyInput
    Output = Out


SLOPPY = Catalog(
    name="sloppy",
    title="Sloppy",
    description="A catalog with unbounded strings.",
    version="1.0",
    credential=Credential(header="X-Key"),
    services=(Service("api", "API", "SLOPPY_URL", "X-Key"),),
    operations=(Sloppy,),
    publisher="Test",
    brand_color="#000000",
)


def test_unbounded_input_strings_are_refused_at_start_up_naming_catalog_operation_and_field():
    with pytest.raises(ValueError) as refused:
        validate_catalogs([SLOPPY])
    message = str(refused.value)
    for path in ("name", "code", "items[].note", "tags[]", "extra{key}", "extra{}"):
        assert f"sloppy: SloppyThing: input field {path} is a string without a maximum length" in message
    for bounded in (" kind ", " day ", "items[].label", "sized", "unbounded_output"):
        assert bounded not in message


def test_create_app_refuses_a_catalog_with_an_unbounded_string():
    with pytest.raises(ValueError, match="SloppyThing: input field name"):
        create_app(TEST_SETTINGS, catalogs=[SLOPPY])


def test_every_installed_catalog_and_the_demo_bound_their_input_strings():
    catalogs = [*discover(), demo_catalog.catalog]  # discover() itself runs the check
    assert {c.name: c.unbounded_inputs() for c in catalogs} == {c.name: [] for c in catalogs}


@pytest.mark.parametrize(
    "field, bound",
    [
        (f.String(max_length=5), 5),
        (f.String(), None),
        (f.Choice(("a", "bbb")), 3),
        (f.Email(), f.EMAIL_MAX),
        (egoi_fields.Phone(), egoi_fields.PHONE_MAX),
        (f.Date(), 10),
        (f.DateTime(), 35),
        (f.String(validate=f.FullMatch(r"^a{1,3}$", error="a")), None),
    ],
)
def test_max_length(field, bound):
    assert f.max_length(field) == bound


def test_an_over_long_value_gets_one_message_before_the_pattern_runs():
    class Code(Schema):
        code = f.String(max_length=4, validate=f.FullMatch(r"^\d{4}$", error="Four digits."))

    errors = Code().validate({"code": "1" * 100})
    assert errors == {"code": ["Write at most 4 characters."]}
    assert Code().validate({"code": "12a"}) == {"code": ["Four digits."]}


# --- over-long values are a 422 naming the field, with nothing sent upstream -----------------


@pytest.fixture
def mocked_all():
    return create_app({**TEST_SETTINGS, "EGOI_API_URL": API, "EGOI_TRANSACTIONAL_URL": TX}).test_client()


SMS = {"to": "351-912345678", "from": "1", "textBody": "Hi"}
EMAIL = {"senderId": "1", "to": ["ana@example.com"], "subject": "Hi", "textBody": "Hi"}


@pytest.mark.parametrize(
    "key, body, field",
    [
        ("list_campaigns", {"internal_name": MEGABYTE}, "internal_name"),
        ("list_campaigns", {"campaign_hash": MEGABYTE}, "campaign_hash"),
        ("list_automations", {"title": MEGABYTE}, "title"),
        ("create_contact", {"list_id": 1, "email": "a@example.com", "first_name": MEGABYTE}, "first_name"),
        ("create_contact", {"list_id": 1, "email": "a" * 250 + "@example.com"}, "email"),
        ("add_tag", {"list_id": 1, "tag_name": MEGABYTE, "contacts": ["2f3a4b5c6d"]}, "tag_name"),
        ("send_sms", {**SMS, "customData": MEGABYTE}, "customData"),
        ("send_sms", {**SMS, "mergeTags": ["name:" + MEGABYTE]}, "mergeTags.0"),
        ("send_sms_batch", {"messages": [SMS, {**SMS, "group": MEGABYTE}]}, "messages.1.group"),
        ("send_email", {**EMAIL, "subject": MEGABYTE}, "subject"),
        ("send_email_batch", {"messages": [{**EMAIL, "cc": ["a" * 300 + "@x.io"]}]}, "messages.0.cc.0"),
        ("request_token_push", {"appId": 1, "device": MEGABYTE * 2}, "device"),
    ],
)
@responses.activate
def test_over_long_values_are_a_422_naming_the_field_and_nothing_is_sent(mocked_all, key, body, field):
    responses.get(f"{API}/campaigns", json={"total_items": 0, "items": []})
    responses.get(f"{API}/automations", json={"total_items": 0, "items": []})
    answer = mocked_all.post(f"/egoi/actions/{key}", json=body, headers=KEY)
    assert answer.status_code == 422, answer.get_json()
    problem = answer.get_json()
    assert answer.mimetype == "application/problem+json"
    assert list(problem["errors"]) == [field]
    assert any("at most" in message for message in problem["errors"][field])
    assert len(responses.calls) == 0


@responses.activate
def test_over_long_attachment_says_the_file_is_over_5_mb(mocked_all):
    attachment = {"filename": "a.txt", "mimeType": "text/plain", "data": "QUJD" * 1_800_000}
    answer = mocked_all.post("/egoi/actions/send_email", json={**EMAIL, "attachment": [attachment]}, headers=KEY)
    assert answer.status_code == 422
    assert answer.get_json()["errors"] == {
        "attachment.0.data": ["The file is over 5 MB: its base64 can be at most 6990508 characters."]
    }
    assert len(responses.calls) == 0


@responses.activate
def test_over_long_callback_url_is_refused_before_subscribing(mocked_all):
    body = {"callback_url": "https://example.com/" + "a" * 3000, "list_id": 1, "actions": ["subscription"]}
    answer = mocked_all.post("/egoi/triggers/when_contact_event", json=body, headers=KEY)
    assert answer.status_code == 422
    assert list(answer.get_json()["errors"]) == ["callback_url"]
    assert len(responses.calls) == 0


@pytest.mark.parametrize("length, status", [(255, 200), (256, 422)])
@responses.activate
def test_the_bound_is_inclusive(mocked_all, length, status):
    responses.get(f"{API}/automations", json={"total_items": 0, "items": []})
    answer = mocked_all.post("/egoi/actions/list_automations", json={"title": "t" * length}, headers=KEY)
    assert answer.status_code == status
    assert len(responses.calls) == (1 if status == 200 else 0)


# --- the specs say a body is required exactly when the service refuses a call without one -----


@pytest.fixture(scope="module")
def every_catalog_client():
    """The service over every installed catalog and the demo one, each against its sandbox."""
    app = create_app({**TEST_SETTINGS, "SANDBOX": True}, catalogs=[*discover(), demo_catalog.catalog])
    yield app.test_client()
    for sandbox in runtime_of(app).sandboxes.values():
        sandbox.stop()


def _spec_requires_input(doc: dict, operation: dict) -> bool:
    """Whether the spec says a call needs input: a required body or a required query parameter."""
    if "requestBody" in operation:
        return operation["requestBody"].get("required", False)
    parameters = [p for p in operation.get("parameters", []) if "$ref" not in p]
    return any(p.get("required") for p in parameters if p["in"] in ("body", "query"))


@pytest.mark.parametrize("document", ["openapi.json", "swagger.json"])
def test_body_required_in_the_spec_iff_the_service_refuses_no_body(every_catalog_client, document):
    client = every_catalog_client
    checked, disagreements = 0, []
    for catalog in [*discover(), demo_catalog.catalog]:
        doc = client.get(f"/{catalog.name}/{document}").get_json()
        headers = {catalog.credential.header: "sandbox-key"}
        for path, item in doc["paths"].items():
            if "{" in path:
                continue  # subscription views: about a stored subscription, not a declared input
            for method, operation in item.items():
                if method not in ("get", "post"):
                    continue
                answer = client.open(f"/{catalog.name}{path}", method=method.upper(), headers=headers)
                refused = answer.status_code in (400, 422)
                checked += 1
                if refused != _spec_requires_input(doc, operation):
                    disagreements.append((catalog.name, operation["operationId"], answer.status_code))
    assert checked >= 40
    assert disagreements == []


@pytest.mark.parametrize("key", ["list_campaigns", "list_automations"])
def test_list_actions_take_no_body_and_say_so(every_catalog_client, key):
    client = every_catalog_client
    answer = client.post(f"/egoi/actions/{key}", headers=KEY)
    assert answer.status_code == 200, answer.get_json()
    for document in ("openapi.json", "swagger.json"):
        operation = client.get(f"/egoi/{document}").get_json()["paths"][f"/actions/{key}"]["post"]
        assert _spec_requires_input({}, operation) is False


def test_over_real_http_a_megabyte_filter_is_a_422_and_no_body_is_a_200():
    """As issue reporters met it: against the running service in sandbox mode, over a socket."""
    with live_service() as url:
        long = requests.post(f"{url}/egoi/actions/list_campaigns", json={"internal_name": MEGABYTE}, headers=KEY)
        bare = requests.post(f"{url}/egoi/actions/list_automations", headers=KEY)
    assert long.status_code == 422
    assert long.headers["Content-Type"].startswith("application/problem+json")
    assert list(long.json()["errors"]) == ["internal_name"]
    assert bare.status_code == 200, bare.text
