"""The dialect translation of connector/mcp/schemas.py on the OpenAPI 3.0 constructs the catalogs
do not all use yet: nullable references, boolean exclusive bounds, self-reference, and the plain
shape of the Copilot Studio profile."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from connector.mcp.schemas import Translator, plain

DOCUMENT = {
    "components": {
        "schemas": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 5, "x-ms-summary": "Name", "example": "a"},
                    "child": {"anyOf": [{"$ref": "#/components/schemas/Node"}, {"type": "object", "nullable": True}]},
                    "size": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "nullable": True},
                    "kind": {"type": "string", "enum": ["a", "b", None], "nullable": True},
                    "tag": {"$ref": "#/components/schemas/Tag"},
                },
                "required": ["name"],
            },
            "Tag": {"type": "object", "properties": {"id": {"type": "integer", "x-ms-visibility": "internal"}}},
        }
    }
}


def test_translation_to_json_schema_2020_12():
    schema = Translator(DOCUMENT).root({"$ref": "#/components/schemas/Node"})
    Draft202012Validator.check_schema(schema)
    name, size, kind = (schema["properties"][k] for k in ("name", "size", "kind"))
    assert name == {"type": "string", "maxLength": 5, "title": "Name", "examples": ["a"]}
    assert size == {"type": ["number", "null"], "exclusiveMinimum": 0}
    assert kind == {"type": ["string", "null"], "enum": ["a", "b", None]}
    assert set(schema["$defs"]) == {"Node", "Tag"}  # what the root needs, itself included
    assert schema["$defs"]["Tag"] == {"type": "object", "properties": {"id": {"type": "integer"}}}
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"name": "x", "child": {"name": "y", "child": None}, "size": None, "kind": None})
    assert not validator.is_valid({"name": "x", "size": 0})
    assert not validator.is_valid({"name": "x", "child": {"name": "too long"}})
    assert schema["$defs"]["Node"]["properties"]["child"]["anyOf"][1] == {"type": "null"}


def test_plain_shape_for_copilot_studio():
    schema = plain(Translator(DOCUMENT).root({"$ref": "#/components/schemas/Node"}))
    Draft202012Validator.check_schema(schema)
    assert "$defs" not in schema and "$ref" not in str(schema)
    assert schema["properties"]["size"] == {"type": "number", "minimum": 0}
    assert schema["properties"]["kind"] == {"type": "string", "enum": ["a", "b"]}
    assert schema["properties"]["tag"]["properties"]["id"] == {"type": "integer"}
    assert "anyOf" not in str(schema) and schema["properties"]["child"]["required"] == ["name"]


def test_tool_names_are_checked_at_start_up():
    import dataclasses

    import demo_catalog
    import pytest

    from connector.declarations import Action, OutputSchema
    from connector.mcp.tools import check_names

    class Clash(Action):
        key = "list_subscriptions"  # the name of the framework's read-only subscription tool
        operation_id = "ListSubscriptionsAgain"
        summary = "List subscriptions again"
        description = "Clashes with the framework's tool."
        Output = OutputSchema

    check_names(demo_catalog.catalog)
    with pytest.raises(ValueError, match="two MCP tools named list_subscriptions"):
        check_names(dataclasses.replace(demo_catalog.catalog, operations=(Clash,)))
