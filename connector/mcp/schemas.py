"""Tool schemas as JSON Schema 2020-12 (MCP's dialect), read from the catalog's OpenAPI 3 document.

The OpenAPI 3 document is already rendered from the marshmallow schemas at start-up
(``connector.platforms.openapi3``); this module only translates its dialect, so a tool's
``inputSchema`` says exactly what the HTTP action's documented body says:

- ``nullable: true`` (OpenAPI 3.0) becomes ``null`` among the ``type`` members (an optional field
  sent as null counts as not sent), and apispec's nullable reference, ``anyOf: [{$ref}, {type:
  object, nullable: true}]``, becomes ``anyOf: [{$ref}, {type: null}]``, which is what it means;
- ``$ref: #/components/schemas/X`` becomes ``$ref: #/$defs/X``, with only the definitions used;
- boolean ``exclusiveMinimum``/``exclusiveMaximum`` (3.0) become the 2020-12 numbers;
- ``example`` becomes ``examples``; ``x-ms-summary`` becomes ``title``; other ``x-*`` keys (Power
  Automate's dropdown wiring) are dropped: a model reads none of them.
"""

from __future__ import annotations

from typing import Any

COMPONENTS = "#/components/schemas/"
DEFS = "#/$defs/"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
NULL_BRANCH = {"type": "object", "nullable": True}


class Translator:
    """Translates schemas of one OpenAPI 3.0 document. Each named component is translated once and
    shared by every tool that refers to it (the E-goi catalog has about fifty)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.components: dict[str, Any] = document.get("components", {}).get("schemas", {})
        self.translated: dict[str, Any] = {}
        self.refers_to: dict[str, set[str]] = {}  # component -> the components it names directly

    def root(self, schema: Any) -> dict[str, Any]:
        """A self-contained schema: the translated ``schema`` with the ``$defs`` it needs. A root
        ``$ref`` is inlined, so the root states its ``type`` as MCP asks."""
        if isinstance(schema, dict) and set(schema) == {"$ref"}:
            schema = self.components[schema["$ref"].removeprefix(COMPONENTS)]
        refs: set[str] = set()
        return self.with_defs(self.translate(schema, refs), refs)

    def with_defs(self, rendered: dict[str, Any], refs: set[str]) -> dict[str, Any]:
        needed, todo = set(), list(refs)
        while todo:
            name = todo.pop()
            if name not in needed:
                needed.add(name)
                todo += self.refers_to[name]
        if needed:
            rendered["$defs"] = {name: self.translated[name] for name in sorted(needed)}
        return rendered

    def component(self, name: str) -> None:
        if name in self.translated:
            return
        self.translated[name] = {}  # a placeholder first: a schema may refer to itself
        refs: set[str] = set()
        self.refers_to[name] = refs
        self.translated[name] = self.translate(self.components[name], refs)

    def translate(self, schema: Any, refs: set[str]) -> Any:
        if isinstance(schema, list):
            return [self.translate(item, refs) for item in schema]
        if not isinstance(schema, dict):
            return schema
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "$ref":
                name = value.removeprefix(COMPONENTS)
                refs.add(name)
                self.component(name)
                out["$ref"] = DEFS + name
            elif key == "nullable":
                continue
            elif key == "example":
                out["examples"] = [value]
            elif key == "x-ms-summary":
                out.setdefault("title", value)
            elif key.startswith("x-"):
                continue
            elif key in ("properties", "patternProperties"):
                out[key] = {name: self.translate(prop, refs) for name, prop in value.items()}
            elif key == "anyOf" and NULL_BRANCH in value and len(value) > 1:
                # apispec's "X or null" in 3.0 (taken literally, its null branch admits any object)
                out[key] = [{"type": "null"} if b == NULL_BRANCH else self.translate(b, refs) for b in value]
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
                bound = "minimum" if key == "exclusiveMinimum" else "maximum"
                if value and bound in schema:
                    out[key] = schema[bound]
            elif key in ("enum", "default", "examples", "const", "required"):
                out[key] = value
            else:
                out[key] = self.translate(value, refs)
        for key in ("exclusiveMinimum", "exclusiveMaximum"):
            if isinstance(schema.get(key), bool) and schema[key]:
                out.pop("minimum" if key == "exclusiveMinimum" else "maximum", None)
        if schema.get("nullable"):
            _allow_null(out)
        return out


def _allow_null(schema: dict[str, Any]) -> None:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    elif kind is None and "$ref" in schema:
        ref = schema.pop("$ref")
        schema["anyOf"] = [{"$ref": ref}, {"type": "null"}]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]


def query_object(parameters: list[dict[str, Any]], translator: Translator) -> dict[str, Any]:
    """The object a GET operation's query parameters make: a tool takes them as one argument object.
    Unknown names are refused, as the HTTP lookup refuses unknown query parameters."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    refs: set[str] = set()
    for parameter in parameters:
        if parameter.get("in") != "query":
            continue
        schema = translator.translate(parameter.get("schema", {}), refs)
        if parameter.get("description"):
            schema = {"description": parameter["description"], **schema}
        properties[parameter["name"]] = schema
        if parameter.get("required"):
            required.append(parameter["name"])
    rendered: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        rendered["required"] = required
    return translator.with_defs(rendered, refs)


def plain(schema: Any, defs: dict[str, Any] | None = None, depth: int = 0, output: bool = False) -> Any:
    """The schema in the shape Copilot Studio keeps a tool for: references inlined, one type per
    property, no combinators. Copilot Studio drops tools whose inputs use reference types or several
    types (https://learn.microsoft.com/microsoft-copilot-studio/mcp-troubleshooting, known
    issues; it also fails on a numeric ``exclusiveMinimum``, so exclusive bounds become inclusive
    ones). What is lost is stated in the tool's description: null is still read as "not sent"
    and the rules across fields are still checked by the action. In an ``output`` schema a value
    that may be null keeps no type at all, so that no answer contradicts it."""
    if defs is None and isinstance(schema, dict):
        defs = schema.get("$defs", {})
    if isinstance(schema, list):
        return [plain(item, defs, depth, output) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        if depth > 8:  # a schema that contains itself: leave it open from here
            return {"type": "object"}
        target = (defs or {}).get(schema["$ref"].removeprefix(DEFS), {})
        return plain({**target, **{k: v for k, v in schema.items() if k != "$ref"}}, defs, depth + 1, output)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("$defs", "allOf", "oneOf", "not", "if", "then", "else"):
            continue
        if key == "anyOf":
            branches = [b for b in value if b != {"type": "null"}]
            if len(branches) == 1:  # a nullable reference: the reference
                out.update(plain(branches[0], defs, depth, output))
            continue
        if key == "type" and isinstance(value, list):
            if not output:
                out["type"] = next((kind for kind in value if kind != "null"), "string")
        elif key == "enum":
            out["enum"] = [choice for choice in value if choice is not None]
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):  # Copilot Studio fails on the numeric form
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
        elif key in ("properties", "patternProperties"):
            out[key] = {name: plain(prop, defs, depth, output) for name, prop in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = plain(value, defs, depth, output)
        else:
            out[key] = value
    return out
