"""The MCP endpoint met by the official MCP Python SDK's client over real HTTP, against
``connector serve --sandbox``, in both protocol eras: 2026-07-28 (``server/discover``, stateless
requests) and the ``initialize`` handshake (2025-11-25). Protocol edges the SDK never sends are
checked with raw HTTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import requests
from jsonschema import Draft202012Validator
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from serving import Served, connector_serve

from connector.declarations import Lookup
from connector.registry import discover
from connector.triggers import Trigger, WebhookTrigger

MODES = ("auto", "legacy")  # auto settles on 2026-07-28 with this server; legacy forces the handshake
KEY = "mcp-test-key-7f3a9c"  # never to be seen in an answer or a log line
CREDENTIALS = {"egoi": KEY, "ongage": f"acct:{KEY}:secret-pass"}
MODERN_HEADERS = {"MCP-Protocol-Version": "2026-07-28"}
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    with connector_serve(tmp_path_factory.mktemp("mcp")) as served:
        yield served


def client(
    served: Served, catalog: str = "egoi", mode: str = "auto", credential: str | None = None, path: str = "/mcp"
) -> Client:
    header = {"egoi": "Apikey", "ongage": "X-Ongage-Credentials"}[catalog]
    headers = {} if credential == "" else {header: credential or CREDENTIALS[catalog]}
    transport = streamable_http_client(f"{served.url}/{catalog}{path}", http_client=httpx2.AsyncClient(headers=headers))
    return Client(transport, mode=mode)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def expected_tools(catalog: Any) -> set[str]:
    names = {
        f"lookup_{op.key}" if isinstance(op, Lookup) else op.key
        for op in catalog.instances
        if not isinstance(op, Trigger)
    }
    if any(isinstance(op, WebhookTrigger) for op in catalog.instances):
        names |= {"list_subscriptions", "list_deliveries"}
    return names


@pytest.mark.parametrize("mode", MODES)
def test_connects_in_both_eras(served, mode):
    async def connect() -> tuple[str, Any]:
        async with client(served, mode=mode) as mcp:
            return mcp.protocol_version, mcp.server_info

    version, info = run(connect())
    assert version == ("2026-07-28" if mode == "auto" else "2025-11-25")
    assert info.name == "connector-egoi" and info.version


@pytest.mark.parametrize("mode", MODES)
def test_lists_every_action_and_lookup_of_every_catalog(served, mode):
    async def list_all() -> dict[str, list[Any]]:
        listed = {}
        for catalog in CREDENTIALS:
            async with client(served, catalog, mode) as mcp:
                listed[catalog] = (await mcp.list_tools()).tools
        return listed

    listed = run(list_all())
    for catalog in discover():
        tools = listed[catalog.name]
        assert {t.name for t in tools} == expected_tools(catalog)
        for tool in tools:
            Draft202012Validator.check_schema(tool.input_schema)
            Draft202012Validator.check_schema(tool.output_schema)
            assert tool.input_schema["type"] == "object" and tool.output_schema["type"] == "object"
            assert tool.title and len(tool.description) > 80
            hints = tool.annotations
            assert hints.read_only_hint is not None and hints.destructive_hint is not None
            if tool.name.startswith(("lookup_", "list_", "get_")):
                assert hints.read_only_hint and hints.idempotent_hint and not hints.destructive_hint
            if tool.name.startswith("delete_"):
                assert hints.destructive_hint and not hints.read_only_hint
    create = next(t for t in listed["egoi"] if t.name == "create_contact")
    assert create.annotations.read_only_hint is False and create.annotations.destructive_hint is False
    assert "cellphone: like 351-912345678" in create.description
    assert create.input_schema["properties"]["cellphone"]["pattern"] == r"^\d{1,3}-\d{4,20}$"


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_copilot_studio_profile_lists_plain_schemas(served):
    """/<connector>/mcp/copilotstudio, where the Copilot Studio connector points: the same tools, with
    schemas Copilot Studio keeps (no references, one type per property, no combinators), and calls
    that work the same (the SDK checks structuredContent against the plain outputSchema)."""

    async def list_and_call() -> tuple[list[Any], list[Any], Any]:
        async with client(served, path="/mcp/copilotstudio") as mcp:
            plain = (await mcp.list_tools()).tools
            created = await mcp.call_tool(
                "create_contact", {"list_id": 1, "email": f"cs-{uuid.uuid4().hex[:8]}@example.com"}
            )
        async with client(served) as mcp:
            return plain, (await mcp.list_tools()).tools, created

    plain, standard, created = run(list_and_call())
    assert [t.name for t in plain] == [t.name for t in standard]
    for tool in plain:
        for schema in (tool.input_schema, tool.output_schema):
            Draft202012Validator.check_schema(schema)
            keys = {key for key, value in walk(schema) if key in ("$ref", "$defs", "anyOf", "oneOf", "allOf")}
            types = [value for key, value in walk(schema) if key == "type" and not isinstance(value, str)]
            assert not keys and not types, (tool.name, keys, types)
    create = next(t for t in plain if t.name == "create_contact")
    assert create.input_schema["properties"]["cellphone"]["type"] == "string"
    assert create.input_schema["properties"]["extra"]["items"]["properties"]["field_id"]["type"] == "integer"
    assert not created.is_error and created.structured_content["result"] == "created"


@pytest.mark.parametrize("mode", MODES)
def test_create_contact_creates_it_in_the_sandbox(served, mode):
    email = f"mcp-{uuid.uuid4().hex[:8]}@example.com"

    async def create() -> Any:
        async with client(served, mode=mode) as mcp:
            return await mcp.call_tool("create_contact", {"list_id": 1, "email": email, "first_name": "Ana"})

    result = run(create())
    assert not result.is_error, result.content
    contact_id = result.structured_content["contact_id"]
    assert result.structured_content["result"] == "created"
    assert contact_id in result.content[0].text
    found = requests.post(
        f"{served.url}/egoi/actions/get_contact",
        json={"list_id": 1, "contact_id": contact_id},
        headers={"Apikey": KEY},
        timeout=10,
    )
    assert found.status_code == 200
    assert found.json()["email"] == email and found.json()["first_name"] == "Ana"


@pytest.mark.parametrize("mode", MODES)
def test_bad_phone_is_a_tool_error_naming_the_field_and_format(served, mode):
    async def call() -> Any:
        async with client(served, mode=mode) as mcp:
            return await mcp.call_tool("create_contact", {"list_id": 1, "cellphone": "+351 912345678"})

    result = run(call())
    assert result.is_error is True
    text = result.content[0].text
    assert "cellphone" in text and "ccc-xxxxxxxxx" in text and "351-912345678" in text
    assert KEY not in text


@pytest.mark.parametrize("mode", MODES)
def test_unknown_tool_is_a_json_rpc_error(served, mode):
    async def call() -> MCPError | None:
        async with client(served, mode=mode) as mcp:
            try:
                await mcp.call_tool("no_such_tool", {})
            except MCPError as error:  # caught here: leaving the client would wrap it in a group
                return error
        return None

    error = run(call())
    assert error is not None and error.error.code == -32602 and "no_such_tool" in error.error.message


def post(served: Served, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> Any:
    headers = {"Apikey": KEY, "Accept": "application/json, text/event-stream", **(headers or {})}
    if raw is not None:
        return requests.post(f"{served.url}/egoi/mcp", data=raw, headers=headers, timeout=10)
    return requests.post(f"{served.url}/egoi/mcp", json=body, headers=headers, timeout=10)


def test_malformed_requests_get_the_spec_errors(served):
    cases = [
        (b"{not json", 400, -32700),
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}]', 400, -32600),  # no batches since 2025-06-18
        (b'{"jsonrpc": "1.0", "id": 1, "method": "tools/list"}', 400, -32600),
        (b'{"jsonrpc": "2.0", "id": 1}', 400, -32600),
        (b'{"jsonrpc": "2.0", "id": {"x": 1}, "method": "tools/list"}', 400, -32600),
    ]
    for raw, status, code in cases:
        answer = post(served, None, {"Content-Type": "application/json"}, raw)
        assert (answer.status_code, answer.json()["error"]["code"], answer.json()["id"]) == (status, code, None), raw
    answer = post(served, None, {"Content-Type": "application/json"}, b'{"jsonrpc": "2.0", "id": 3, "method": 5}')
    assert (answer.status_code, answer.json()["id"]) == (400, 3)
    assert answer.json()["error"] == {"code": -32600, "message": "method must be a string"}
    # a known method with bad params, an unknown method: 2026-07-28 maps them to 400 and 404
    call = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "create_contact", "arguments": 1, "_meta": META},
    }
    answer = post(served, call, {**MODERN_HEADERS, "Mcp-Method": "tools/call", "Mcp-Name": "create_contact"})
    assert (answer.status_code, answer.json()["error"]["code"], answer.json()["id"]) == (400, -32602, 7)
    unknown = {"jsonrpc": "2.0", "id": 8, "method": "prompts/list", "params": {"_meta": META}}
    answer = post(served, unknown, {**MODERN_HEADERS, "Mcp-Method": "prompts/list"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, -32601)
    # the handshake era: the JSON-RPC error in a 200, as its transport has it
    answer = post(served, {"jsonrpc": "2.0", "id": 9, "method": "prompts/list"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (200, -32601)


def test_modern_requests_need_their_envelope_and_mirrored_headers(served):
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": META}}
    assert post(served, listing, {**MODERN_HEADERS, "Mcp-Method": "tools/list"}).status_code == 200
    mismatch = post(served, listing, {**MODERN_HEADERS, "Mcp-Method": "tools/call"})
    assert (mismatch.status_code, mismatch.json()["error"]["code"]) == (400, -32020)
    no_meta = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    answer = post(served, no_meta, {**MODERN_HEADERS, "Mcp-Method": "tools/list"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, -32602)
    future = {**META, "io.modelcontextprotocol/protocolVersion": "2099-01-01"}
    answer = post(
        served,
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": future}},
        {"MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "tools/list"},
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, -32022)
    assert "2026-07-28" in answer.json()["error"]["data"]["supported"]
    old = post(served, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {"MCP-Protocol-Version": "1999-01-01"})
    assert old.status_code == 400


def test_transport_edges(served):
    notification = post(served, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert notification.status_code == 202 and notification.content == b""
    for method in ("GET", "DELETE"):  # no SSE stream, no session to end
        answer = requests.request(method, f"{served.url}/egoi/mcp", headers={"Apikey": KEY}, timeout=10)
        assert answer.status_code == 405 and "POST" in answer.headers["Allow"]
    foreign = post(served, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {"Origin": "https://evil.example"})
    assert foreign.status_code == 403


def test_missing_or_rejected_key_gets_401(served):
    answer = post(served, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {"Apikey": ""})
    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert "Apikey" in answer.json()["detail"]

    async def connect_without_key() -> None:
        async with client(served, credential="") as mcp:
            await mcp.list_tools()

    with pytest.raises(BaseException) as raised:  # the SDK fails the connection (an exception group)
        run(connect_without_key())
    assert "401" in repr(raised.value) or "error" in repr(raised.value).lower()

    # The sandbox rejects this key upstream, as E-goi rejects a wrong one: the POST is 401 too.
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "lookup_lists", "arguments": {}}}
    rejected = post(served, call, {"Apikey": "sandbox-invalid-key"})
    assert rejected.status_code == 401
    assert "sandbox-invalid-key" not in rejected.text


def test_idempotency_key_in_meta_sends_one_sms(served):
    key = f"mcp-{uuid.uuid4()}"
    text = f"Hello {uuid.uuid4().hex[:6]}"
    arguments = {"to": "351-912345678", "from": "1", "textBody": text}

    async def send_twice() -> list[Any]:
        async with client(served) as mcp:
            return [await mcp.call_tool("send_sms", arguments, meta={"idempotencyKey": key}) for _ in range(2)]

    first, second = run(send_twice())
    assert not first.is_error and not second.is_error, first.content
    assert first.structured_content == second.structured_content
    assert (second.meta or {}).get("idempotentReplayed") is True
    outbox = requests.get(f"{served.url}/egoi/_sandbox/sms", timeout=10).json()
    items = outbox["items"] if isinstance(outbox, dict) else outbox
    assert sum(1 for sms in items if text in str(sms)) == 1
    # the same key with other arguments is refused, as over HTTP
    other = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
             "params": {"name": "send_sms", "arguments": {**arguments, "textBody": "other"}, "_meta": {"idempotencyKey": key}}}  # fmt: skip
    refused = post(served, other).json()["result"]
    assert refused["isError"] is True and "Idempotency-Key" in refused["content"][0]["text"]


def test_read_only_subscription_tools(served):
    async def call() -> tuple[Any, Any]:
        async with client(served) as mcp:
            listing = await mcp.call_tool("list_subscriptions", {})
            deliveries = await mcp.call_tool("list_deliveries", {"subscription_id": "no-such-subscription"})
            return listing, deliveries

    listing, deliveries = run(call())
    assert not listing.is_error and listing.structured_content == {"items": []}
    assert deliveries.is_error and "404" in deliveries.content[0].text


def test_secrets_never_in_logs(served):
    assert KEY not in served.logs()
