"""A service's response hook (``Service.on_response``), with a catalog defined here: it maps its
vendor's error bodies to our problems and unwraps its envelope, once for every call, and a
service without one keeps the framework's status table."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import responses

from connector import fields as f
from connector.app import create_app
from connector.declarations import Action, Catalog, Credential, InputSchema, OutputSchema, Service, paged
from connector.errors import Problem
from connector.upstream import UpstreamCall, UpstreamResponse
from tests.conftest import TEST_SETTINGS

HOOKED = "https://hooked.test"
PLAIN = "https://plain.test"
KEY = {"X-Acme-Key": "k"}


def acme_response(response: UpstreamResponse) -> Any:
    """Acme wraps answers as {"ok": bool, "data": ..., "error": {"code", "message", "duplicate_of"}}."""
    error = response.body.get("error") if isinstance(response.body, dict) else None
    if isinstance(error, dict) and error.get("code") == "DUPLICATE":
        raise Problem(409, f"Already exists as item {error['duplicate_of']}.", item_id=error["duplicate_of"])
    if isinstance(error, dict) and error.get("code") == "INVALID":
        raise response.error(message=error["message"], errors={error["field"]: [error["message"]]})
    if response.ok:
        return response.data()["data"]
    raise response.error()


class ItemInput(InputSchema):
    name = f.String(required=True, max_length=50, summary="Name", description="The item's name.")


class ItemOutput(OutputSchema):
    item_id = f.Integer(required=True, summary="Item Id", description="The id of the item.")


class ItemsOutput(OutputSchema):
    total_items, items = paged(ItemOutput, summary="Items", total="Number of items.", items="The items.")


class CreateItem(Action):
    key = "create_item"
    operation_id = "CreateItem"
    summary = "Create an item"
    description = "Creates an item and returns its id."
    visibility = "important"
    Input = ItemInput
    Output = ItemOutput
    errors = (409,)

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        return upstream.post("/items", json=data)


class CreatePlainItem(CreateItem):
    key = "create_plain_item"
    operation_id = "CreatePlainItem"
    summary = "Create an item without a hook"
    upstream = "plain"


class ListItems(Action):
    key = "list_items"
    operation_id = "ListItems"
    summary = "List items"
    description = "Returns the items."
    visibility = "advanced"
    Output = ItemsOutput

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        items = upstream.get("/items")
        return {"total_items": len(items), "items": items}


catalog = Catalog(
    name="acme",
    title="Acme",
    description="A catalog for testing response hooks.",
    version="1.0.0",
    credential=Credential(header="X-Acme-Key"),
    services=(
        Service("hooked", "Acme API", "ACME_API_URL", "X-Acme-Key", default_url=HOOKED, on_response=acme_response),
        Service("plain", "Acme Plain API", "ACME_PLAIN_URL", "X-Acme-Key", default_url=PLAIN),
    ),
    operations=(CreateItem, CreatePlainItem, ListItems),
    publisher="Connector tests",
    brand_color="#123456",
    contact={"name": "Connector tests", "url": "https://example.com/acme"},
    metadata={"Website": "https://example.com/", "Privacy policy": "https://example.com/privacy", "Categories": "IT"},
)


@pytest.fixture
def client():
    return create_app(TEST_SETTINGS, catalogs=[catalog]).test_client()


@responses.activate
def test_the_hook_unwraps_the_envelope(client):
    responses.post(f"{HOOKED}/items", json={"ok": True, "data": {"item_id": 7}}, status=201)
    r = client.post("/acme/actions/create_item", json={"name": "a"}, headers=KEY)
    assert r.status_code == 200
    assert r.json == {"item_id": 7}


@responses.activate
@pytest.mark.parametrize("status", [200, 400, 409])
def test_the_hook_maps_a_vendor_error_body_to_a_409_whatever_the_status(client, status):
    body = {"ok": False, "error": {"code": "DUPLICATE", "duplicate_of": 3}}
    responses.post(f"{HOOKED}/items", json=body, status=status)
    r = client.post("/acme/actions/create_item", json={"name": "a"}, headers=KEY)
    assert r.status_code == 409
    assert r.mimetype == "application/problem+json"
    assert r.json["type"] == "urn:connector:problem:conflict"
    assert r.json["detail"] == "Already exists as item 3."
    assert r.json["item_id"] == 3


@responses.activate
def test_the_hook_passes_the_vendors_message_and_field_errors_to_the_status_table(client):
    body = {"ok": False, "error": {"code": "INVALID", "field": "name", "message": "Name taken"}}
    responses.post(f"{HOOKED}/items", json=body, status=400)
    r = client.post("/acme/actions/create_item", json={"name": "a"}, headers=KEY)
    assert r.status_code == 422
    assert r.json["type"] == "urn:connector:problem:upstream-rejected"
    assert r.json["detail"] == "Acme API rejected the request: Name taken."
    assert r.json["errors"] == {"name": ["Name taken"]}


@responses.activate
@pytest.mark.parametrize(("upstream", "ours"), [(401, 401), (404, 404), (429, 429), (500, 502)])
def test_a_hook_falls_back_to_the_status_table(client, upstream, ours):
    responses.post(f"{HOOKED}/items", json={"ok": False}, status=upstream)
    r = client.post("/acme/actions/create_item", json={"name": "a"}, headers=KEY)
    assert r.status_code == ours


@responses.activate
def test_a_service_without_a_hook_keeps_the_status_table(client):
    body = {"ok": False, "error": {"code": "DUPLICATE", "duplicate_of": 3}}
    responses.post(f"{PLAIN}/items", json=body, status=409)
    r = client.post("/acme/actions/create_plain_item", json={"name": "a"}, headers=KEY)
    assert r.status_code == 409
    assert "item_id" not in r.json
    assert r.json["detail"] == "Acme Plain API reported a conflict."
    responses.post(f"{PLAIN}/items", json={"item_id": 8}, status=201)
    assert client.post("/acme/actions/create_plain_item", json={"name": "a"}, headers=KEY).json == {"item_id": 8}


@responses.activate
def test_the_hook_sees_method_path_and_headers(client):
    seen: list[tuple[str, str, str]] = []

    def spy(response: UpstreamResponse) -> Any:
        seen.append((response.method, response.path, response.headers["X-Trace"]))
        return acme_response(response)

    spying = replace(
        catalog,
        services=(Service("hooked", "Acme API", "ACME_API_URL", "X-Acme-Key", on_response=spy),),
        operations=(ListItems,),
    )
    app = create_app({**TEST_SETTINGS, "ACME_API_URL": HOOKED}, catalogs=[spying])
    responses.get(f"{HOOKED}/items", json={"ok": True, "data": [{"item_id": 1}]}, headers={"X-Trace": "t1"})
    r = app.test_client().post("/acme/actions/list_items", json={}, headers=KEY)
    assert r.json == {"total_items": 1, "items": [{"item_id": 1}]}
    assert seen == [("GET", "/items", "t1")]


def test_paged_documents_total_then_items(client):
    schema = client.get("/acme/openapi.json").json["components"]["schemas"]["ItemsOutput"]
    assert list(schema["properties"]) == ["total_items", "items"]
    assert sorted(schema["required"]) == ["items", "total_items"]
    assert schema["properties"]["items"]["items"]["$ref"].endswith("/ItemOutput")
