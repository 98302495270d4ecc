"""A catalog's MCP tools: one per action and lookup, plus the read-only subscription views.

Each tool is read from the catalog's neutral description (``connector.spec.description``) and its
OpenAPI 3 document, so its name, texts and schemas are those of the HTTP operation it calls:

- ``name``: the operation's key (``create_contact``); a lookup's is ``lookup_<key>`` (its key
  names a collection, ``lists``), the framework's views are their operationId in snake case
  (``list_subscriptions``). Names are checked unique at start-up.
- ``description``: written for a model: what it does, what it returns, the formats it enforces
  and how to retry safely.
- ``annotations``: ``readOnlyHint`` for reads, ``destructiveHint`` for what deletes, cancels or
  overwrites, ``idempotentHint`` where a repeat changes nothing more. Read from the operation's
  verb (the first word of its key) unless the declaration states ``read_only``, ``destructive``
  or ``idempotent`` itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from connector.mcp.schemas import Translator, plain, query_object
from connector.spec.description import Description, Endpoint
from connector.triggers import Trigger, WebhookTrigger

READ_VERBS = frozenset({"get", "find", "list", "lookup", "search", "calculate", "count"})
DESTRUCTIVE_VERBS = frozenset({"delete", "cancel", "detach", "remove", "update", "toggle", "disable"})
IDEMPOTENT_VERBS = frozenset({"update", "delete", "cancel", "detach", "remove", "disable"})
READ_ONLY_VIEWS = frozenset({"ListSubscriptions", "ListDeliveries"})  # the framework's own, offered as tools
IDEMPOTENCY_META = "idempotencyKey"  # params._meta key of a tool call's Idempotency-Key
MAX_ENUM_SHOWN = 12
STANDARD, COPILOT_STUDIO = "standard", "copilotstudio"  # how tools/list shows the schemas (see plain)
PLAIN_NOTE = (
    " Optional arguments may be left out (null counts as not sent); rules across arguments are checked "
    "when the tool is called."
)


def snake(text: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", text).lower()


@dataclass(frozen=True)
class Tool:
    """One tool: what ``tools/list`` shows, and the HTTP operation a call goes through."""

    name: str
    method: str  # upper case
    path: str  # under /<catalog>, with {placeholders} for path parameters
    path_parameters: tuple[str, ...]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    definition: dict[str, Any] = field(repr=False)


def build_tools(description: Description, document: dict[str, Any]) -> dict[str, Tool]:
    """Every tool of a catalog, by name, in the order of its OpenAPI document."""
    translator = Translator(document)
    tools: dict[str, Tool] = {}
    for endpoint in description.endpoints:
        if not _offered(endpoint):
            continue
        tool = _tool(endpoint, document["paths"][endpoint.path][endpoint.method], translator)
        if tool.name in tools:
            raise ValueError(f"{description.catalog.name}: two MCP tools named {tool.name}")
        tools[tool.name] = tool
    return tools


def _offered(endpoint: Endpoint) -> bool:
    """Actions and lookups, and the read-only subscription views; triggers stay webhooks and polling."""
    if endpoint.operation_id in READ_ONLY_VIEWS:
        return True
    declaration = endpoint.declaration
    return declaration is not None and endpoint.trigger is None and not endpoint.path.startswith("/triggers/")


def name_of(declaration: Any) -> str:
    return f"lookup_{declaration.key}" if declaration.path_prefix == "lookups" else declaration.key


def _name(endpoint: Endpoint) -> str:
    declaration = endpoint.declaration
    return snake(endpoint.operation_id) if declaration is None else name_of(declaration)


def check_names(catalog: Any) -> None:
    """Two tools of one catalog must not share a name; checked at start-up, before the tools are built."""
    names = [name_of(op) for op in catalog.instances if not isinstance(op, Trigger)]
    if any(isinstance(op, WebhookTrigger) for op in catalog.instances):
        names += [snake(view) for view in sorted(READ_ONLY_VIEWS)]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{catalog.name}: two MCP tools named {', '.join(duplicates)}")


def _input_schema(operation: dict[str, Any], translator: Translator) -> tuple[dict[str, Any], tuple[str, ...]]:
    parameters = [p for p in operation.get("parameters", []) if p.get("in") in ("query", "path")]
    path_parameters = tuple(p["name"] for p in parameters if p["in"] == "path")
    body = operation.get("requestBody")
    if body is not None:
        return translator.root(body["content"]["application/json"]["schema"]), path_parameters
    as_query = [{**p, "in": "query"} for p in parameters]  # path parameters are arguments too
    return query_object(as_query, translator), path_parameters


def _output_schema(operation: dict[str, Any], translator: Translator) -> dict[str, Any] | None:
    for status, response in operation["responses"].items():
        if status.startswith("2") and "application/json" in response.get("content", {}):
            return translator.root(response["content"]["application/json"]["schema"])
    return None


def _verb(endpoint: Endpoint) -> str:
    key = endpoint.declaration.key if endpoint.declaration is not None else snake(endpoint.operation_id)
    return key.split("_", 1)[0]


def annotations(endpoint: Endpoint, title: str) -> dict[str, Any]:
    declaration = endpoint.declaration
    verb = _verb(endpoint)
    read_only = endpoint.method == "get" or verb in READ_VERBS
    destructive = not read_only and verb in DESTRUCTIVE_VERBS
    idempotent = read_only or verb in IDEMPOTENT_VERBS
    read_only = getattr(declaration, "read_only", read_only)
    destructive = getattr(declaration, "destructive", destructive)
    idempotent = getattr(declaration, "idempotent", idempotent)
    return {
        "title": title,
        "readOnlyHint": read_only,
        "destructiveHint": destructive,
        "idempotentHint": idempotent,
        "openWorldHint": True,  # every call reaches the vendor's service
    }


def expected_format(schema: dict[str, Any]) -> str | None:
    """How one argument must be written, in a few words, or None when any value of its type does."""
    kinds = schema.get("type")
    kind = next((k for k in kinds if k != "null"), None) if isinstance(kinds, list) else kinds
    examples = schema.get("examples") or []
    if "enum" in schema:
        choices = [str(c) for c in schema["enum"] if c is not None]
        shown = ", ".join(choices[:MAX_ENUM_SHOWN]) + (", ..." if len(choices) > MAX_ENUM_SHOWN else "")
        return f"one of {shown}"
    if schema.get("format") == "date":
        return "a real calendar date, yyyy-mm-dd"
    if "pattern" in schema:
        return f"like {examples[0]} (pattern {schema['pattern']})" if examples else f"matching {schema['pattern']}"
    if kind in ("integer", "number") and ("minimum" in schema or "maximum" in schema):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"{kind} from {low} to {high}"
        return f"{kind} {'at least ' + str(low) if low is not None else 'at most ' + str(high)}"
    if kind == "array" and "maxItems" in schema:
        return f"{schema.get('minItems', 0)} to {schema['maxItems']} items"
    if kind == "string" and "maxLength" in schema:
        return f"text of at most {schema['maxLength']} characters"
    return None


def _short_format(name: str, schema: dict[str, Any]) -> str | None:
    """The format note of the tool's description (patterns are shown by example only)."""
    hint = expected_format(schema)
    if hint is None or hint.startswith("text of"):
        return None
    return f"{name}: {hint.split(' (pattern', 1)[0]}"


def model_description(endpoint: Endpoint, input_schema: dict[str, Any], takes_key: bool, read_only: bool) -> str:
    """What a model reads to choose the tool and fill it in."""
    text = [endpoint.description.strip()]
    success = next((r for r in endpoint.responses if 200 <= r.status < 300), None)
    if success is not None:
        text.append(f"Returns: {success.description.strip()}")
    if read_only:
        text.append("Read-only: it changes nothing, so call it freely, e.g. to find the ids other tools take.")
    formats = [f for name, prop in input_schema.get("properties", {}).items() if (f := _short_format(name, prop))]
    required = input_schema.get("required", [])
    if required:
        text.append(f"Required: {', '.join(required)}.")
    if formats:
        text.append("Formats enforced: " + "; ".join(formats) + ".")
    text.append(
        "A call with a wrong argument returns isError with each field and the format it expects: fix them and call again."
    )
    if takes_key:
        text.append(
            f"To retry safely, send the same _meta.{IDEMPOTENCY_META} (any unique text) with the same arguments: "
            "the first answer comes back and nothing is done twice."
        )
    return " ".join(text)


def _tool(endpoint: Endpoint, operation: dict[str, Any], translator: Translator) -> Tool:
    name = _name(endpoint)
    input_schema, path_parameters = _input_schema(operation, translator)
    output_schema = _output_schema(operation, translator)
    hints = annotations(endpoint, endpoint.summary)
    takes_key = endpoint.method == "post"
    definition: dict[str, Any] = {
        "name": name,
        "title": endpoint.summary,
        "description": model_description(endpoint, input_schema, takes_key, hints["readOnlyHint"]),
        "inputSchema": input_schema,
    }
    if output_schema is not None:
        definition["outputSchema"] = output_schema
    definition["annotations"] = hints
    return Tool(name, endpoint.method.upper(), endpoint.path, path_parameters, input_schema, output_schema, definition)


def plain_definition(tool: Tool) -> dict[str, Any]:
    """The tool as Copilot Studio's profile lists it: plain schemas (see ``schemas.plain``)."""
    definition = {**tool.definition, "inputSchema": plain(tool.input_schema)}
    definition["description"] += PLAIN_NOTE
    if tool.output_schema is not None:
        definition["outputSchema"] = plain(tool.output_schema, output=True)
    return definition
