"""Property: for every tool, its ``inputSchema`` accepts exactly the arguments the HTTP action
accepts. Arguments are drawn from the inputSchema itself (its properties, types, enums, patterns,
formats and bounds), then often broken in one place (a value of another type, a required field
dropped, an unknown field added), and the two verdicts are compared: JSON Schema 2020-12 with
format checks and ECMA-262 patterns (jsonschema-rs, as the spec reads patterns), and the HTTP
action's own reading (the JSON body an action loads; for a lookup, the query string the tool call
sends it, read as the lookup reads it). Kept fast: a few examples per tool."""

from __future__ import annotations

import json
import os
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, validate
from schemathesis_checks import read_leniently
from werkzeug.datastructures import MultiDict

from connector.mcp.endpoint import _query
from connector.mcp.tools import build_tools
from connector.platforms.openapi3 import FILE
from connector.registry import discover
from connector.runtime import TextInput
from connector.spec.description import Description
from connector.spec.documents import Documents

PUBLIC_URL = "http://localhost:8000"
EXAMPLES = int(os.environ.get("MCP_PROPERTY_EXAMPLES", "12"))  # more for a deeper search by hand
# Where the action checks more than its documents state, the property holds one way only: what the
# inputSchema refuses, the action refuses too. Each such tool, and why.
LOOSER_SCHEMA = {
    "ongage.create_event": "Ongage's conditional rules (each trigger type's and each distribution's required "
    "fields) are @validates_schema checks that its OpenAPI document does not state (no openapi_rules)",
    "ongage.update_event": "each esp_connection_id of esp_connections_quota must be distinct, a @validates_schema "
    "check that its OpenAPI document does not state",
}
# JSON Schema leaves the exact grammar of "email" to implementations: it is checked as the action checks it.
FORMATS = {"email": lambda text: _is_email(text)}
ANY_VALUE = (
    st.none() | st.booleans() | st.integers(-5, 2**31 + 5) | st.floats(allow_nan=False) | st.text(max_size=12)
    | st.dictionaries(st.sampled_from(["unexpected", "id"]), st.integers(0, 3), max_size=1)
)  # fmt: skip


def _cases() -> list[tuple[str, Any, Any]]:
    cases = []
    for catalog in discover():
        document = json.loads(Documents.build(catalog, PUBLIC_URL, ["openapi3"]).files[FILE])
        tools = build_tools(Description.build(catalog, PUBLIC_URL), document)
        declared = {op.path: op for op in catalog.instances}
        for tool in tools.values():
            if tool.path in declared:  # the framework's own views have no marshmallow input
                cases.append((f"{catalog.name}.{tool.name}", tool, declared[tool.path]))
    return cases


CASES = _cases()


def _is_email(text: str) -> bool:
    try:
        validate.Email()(text)
    except ValidationError:
        return False
    return True


def http_accepts(tool: Any, operation: Any, arguments: dict[str, Any]) -> bool:
    """The HTTP action's verdict, by the same reading the action applies to its input."""
    payload: Any = arguments
    if tool.method == "GET":
        pairs = [
            tuple(pair.split("=", 1))
            for pair in _query(arguments, tool.input_schema.get("properties", {})).split("&")
            if pair
        ]
        from urllib.parse import unquote_plus

        payload = TextInput(operation.input_schema).read(
            MultiDict([(unquote_plus(k), unquote_plus(v)) for k, v in pairs])
        )
    try:
        operation.input_schema.load(payload)
    except ValidationError:
        return False
    return True


def values(schema: dict[str, Any], root: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped by a schema: mostly valid, sometimes not (cross-field rules are not followed),
    which is what a comparison of verdicts needs."""
    if "$ref" in schema:
        return values(root["$defs"][schema["$ref"].rsplit("/", 1)[-1]], root, depth)
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema and "type" not in schema:
            return st.one_of([values(branch, root, depth) for branch in schema[combinator]])
    kinds = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kinds, list):
        return st.one_of([values({**schema, "type": kind}, root, depth) for kind in kinds])
    if kinds == "null":
        return st.none()
    if "enum" in schema:
        return st.sampled_from([choice for choice in schema["enum"] if choice is not None] or [None])
    if kinds == "boolean":
        return st.booleans()
    if kinds in ("integer", "number"):
        low, high = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31)
        return st.integers(int(low) - 1, int(high) + 1)
    if kinds == "array":
        items = values(schema.get("items", {}), root, depth + 1) if depth < 3 else st.none()
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 3), 3))
    if kinds == "object":
        properties = schema.get("properties", {})
        if depth >= 3 or not properties:
            return st.fixed_dictionaries({})
        required = [name for name in schema.get("required", []) if name in properties]
        return st.fixed_dictionaries(
            {name: values(properties[name], root, depth + 1) for name in required},
            optional={name: values(prop, root, depth + 1) for name, prop in properties.items() if name not in required},
        )
    if schema.get("format") == "date":
        return st.dates().map(str) | st.from_regex(r"\A\d{4}-\d{2}-\d{2}\Z")
    if schema.get("format") == "email":
        return st.emails()
    if "pattern" in schema:
        return st.from_regex(schema["pattern"])
    return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 20) + 1, 30))


@st.composite
def arguments(draw: Any, schema: dict[str, Any]) -> dict[str, Any]:
    value = dict(draw(values(schema, schema)))
    names = list(schema.get("properties", {}))
    broken = draw(st.sampled_from(["none", "value", "drop", "unknown"]))
    if broken == "value" and names:
        value[draw(st.sampled_from(names))] = draw(ANY_VALUE)
    elif broken == "drop" and schema.get("required"):
        value.pop(draw(st.sampled_from(schema["required"])), None)
    elif broken == "unknown":
        value["unexpected_field"] = draw(ANY_VALUE)
    return value


@pytest.mark.parametrize(("case", "tool", "operation"), CASES, ids=[case[0] for case in CASES])
def test_input_schema_accepts_what_the_http_action_accepts(case, tool, operation):
    validator = jsonschema_rs.validator_for(tool.input_schema, validate_formats=True, formats=FORMATS)
    one_way = case in LOOSER_SCHEMA

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.large_base_example])  # fmt: skip
    @given(arguments(tool.input_schema))
    def same_verdict(value: dict[str, Any]) -> None:
        by_schema = validator.is_valid(value)
        by_http = http_accepts(tool, operation, value)
        if one_way and by_schema:
            return  # the action may refuse what the schema does not state
        if by_http and not by_schema and read_leniently(value):
            return  # "" for "not sent", numerals and true/false as text: HTTP reads them leniently on purpose
        assert by_schema == by_http, (
            f"{tool.name}: inputSchema says {'valid' if by_schema else 'invalid'}, the HTTP action "
            f"{'accepts' if by_http else 'refuses'} {value!r}"
        )

    same_verdict()
