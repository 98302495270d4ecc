"""Zapier: a Zapier Platform CLI app per catalog (``zapier/package.json``, ``zapier/index.js`` and
the shared ``zapier/runtime.js``), CommonJS with no build step, ready for ``zapier push``.

Read from the neutral description: actions become creates, actions that find things (Find*,
Get*, List*, Search*) become searches (paired with Create* of the same noun as search-or-create),
polling triggers become polling triggers on their ``/recent`` list, webhook triggers become REST
hooks, and the lookups that fill dropdowns become hidden triggers behind dynamic fields.
See https://docs.zapier.com/platform/reference/cli-docs and
https://github.com/zapier/zapier-platform/blob/main/packages/schema/docs/build/schema.md.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import Schema, validate
from marshmallow import fields as mf

from connector import fields as cf
from connector.idempotency import HEADER
from connector.platforms import Platform
from connector.spec.description import Description, Endpoint

CORE_VERSION = "19.1.0"  # zapier-platform-core, pinned; the app's platformVersion follows it
URL_VARIABLE = "CONNECTOR_PUBLIC_URL"  # overrides the generated public URL (zapier env:set, tests)
RUNTIME = Path(__file__).with_name("zapier_runtime.js")
SEARCH_VERBS = ("Find", "Search", "Get", "List")
HELP_MAX = 1000  # Zapier's limit on helpText and descriptions
LABEL_MAX = 64
SAMPLE_TIME = "2026-01-15T09:30:00.000Z"
LONG_TEXT = 255  # strings that may be longer get Zapier's multi-line box
# Zapier gives app code no id of a Zap run, and a key made from the input alone would answer every
# later run with the same input (a fixed SMS to the same number) from the first one: dropped work.
# So a create takes the run's identity from the user: a value mapped from the trigger, such as the
# id of the item that started the run. The runtime sends a key made from it, and never the field.
RUN_ID_KEY = "_run_id"
RUN_ID_FIELD = {
    "key": RUN_ID_KEY,
    "label": "Run ID (prevents duplicates)",
    "required": False,
    "type": "string",
    "helpText": "Map a value unique to each run of this Zap, such as the ID of the item that triggered it. When "
    "Zapier replays this step for the same item, the service answers with the first result instead of acting "
    "twice (kept 24 hours). Left empty, every run acts.",
}

log = logging.getLogger(__name__)


def words(operation_id: str) -> list[str]:
    """``SendSMSBatch`` → ``["Send", "SMS", "Batch"]``."""
    return re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+", operation_id)


def noun(operation_id: str) -> str:
    """What an operation acts on, as Zapier names it: its operation id without the first verb."""
    parts = words(operation_id)
    return " ".join(parts[1:] or parts)


def clip(text: str, limit: int = HELP_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def choices_of(item: mf.Field) -> list[str] | None:
    for validator in item.validators:
        if isinstance(validator, validate.OneOf):
            return [str(choice) for choice in validator.choices]
    return None


def scalar_type(item: mf.Field) -> str:
    """Zapier's type for a single value: ``datetime`` only for a real date-time field (dates stay
    strings, so Zapier does not turn ``yyyy-mm-dd`` into a date-time)."""
    if isinstance(item, mf.Boolean):
        return "boolean"
    if isinstance(item, mf.Integer):
        return "integer"
    if isinstance(item, mf.Number):
        return "number"
    if isinstance(item, cf.DateTime | mf.DateTime) or item.metadata.get("format") == "date-time":
        return "datetime"
    return "string"


@dataclass
class Inputs:
    """A schema's fields as Zapier input fields, plus the shape the runtime gives the body back."""

    fields: list[dict[str, Any]] = field(default_factory=list)
    shape: dict[str, Any] = field(default_factory=dict)
    depends: set[str] = field(default_factory=set)  # fields a dropdown reads


class App:
    """One catalog's app definition, built from its description."""

    def __init__(self, description: Description) -> None:
        self.description = description
        self.catalog = description.catalog
        self.by_operation = {e.operation_id: e for e in description.endpoints}
        self.by_path = {(e.method, e.path): e for e in description.endpoints}
        self.recent = {e.recent_of: e for e in description.endpoints if e.recent_of}
        self.dropdowns: dict[str, dict[str, Any]] = {}

    # --- fields ---------------------------------------------------------------------------------

    def inputs(self, schema: Schema, skip: frozenset[str] = frozenset()) -> Inputs:
        inputs = Inputs()
        for name, item in schema.fields.items():
            key = item.data_key or name
            if key in skip or item.metadata.get("x-ms-notification-url"):
                continue
            rendered, shape = self.input_field(key, item, inputs, prefix="")
            inputs.fields.append(rendered)
            if shape is not None:
                inputs.shape.setdefault("fields", {})[key] = shape
        for rendered in inputs.fields:
            if rendered["key"] in inputs.depends:
                rendered["altersDynamicFields"] = True
        return inputs

    def input_field(self, key: str, item: mf.Field, inputs: Inputs, prefix: str) -> tuple[dict[str, Any], Any]:
        """One field and how the runtime reshapes its value (None: sent as given). Zapier has one
        level of children (line items); anything deeper is asked as JSON text."""
        md = item.metadata
        rendered: dict[str, Any] = {
            "key": prefix + key,
            "label": md.get("x_ms_summary") or key,
            "required": item.required,
        }
        help_text = md.get("description") or ""
        shape: Any = None
        if isinstance(item, mf.List) and isinstance(item.inner, mf.Nested) and not prefix:
            children = Inputs()
            for child_name, child in item.inner.schema.fields.items():
                child_key = child.data_key or child_name
                child_field, child_shape = self.input_field(child_key, child, inputs, prefix=f"{key}.")
                children.fields.append(child_field)
                if child_shape is not None:
                    children.shape.setdefault("fields", {})[child_key] = child_shape
            rendered["children"] = children.fields
            return rendered, {"prefix": f"{key}.", **children.shape}
        if isinstance(item, mf.Nested | mf.Dict) or (isinstance(item, mf.List) and isinstance(item.inner, mf.Nested)):
            if isinstance(item, mf.Dict) and not prefix:
                rendered["dict"] = True
            else:
                rendered["type"] = "text"
                help_text = f"{help_text} As JSON, for example {json.dumps(self.json_example(item))}.".strip()
                shape = "json"
        elif isinstance(item, mf.List):
            rendered["type"] = scalar_type(item.inner)
            self.describe_values(rendered, item.inner, inputs)
            if prefix:  # a list inside a line item: one text, comma-separated
                shape = {"integer": "csv-integer", "number": "csv-number"}.get(rendered["type"], "csv")
                rendered["type"] = "string"
                choices = rendered.pop("choices", None)
                one_of = f" (each one of {', '.join(choices)})" if choices else ""
                help_text = f"{help_text} Separate values with commas{one_of}, or write a JSON list.".strip()
            else:
                rendered["list"] = True
        else:
            rendered["type"] = scalar_type(item)
            if rendered["type"] == "string" and (getattr(item, "max_length", None) or 0) > LONG_TEXT:
                rendered["type"] = "text"  # a box rather than a line
            self.describe_values(rendered, item, inputs)
            if isinstance(item, cf.Patterned) and item.hint and rendered["type"] == "string":
                help_text = f"{help_text} Format: {item.hint}.".strip()
        if "example" in md and not isinstance(md["example"], dict | list) and "children" not in rendered:
            rendered["placeholder"] = str(md["example"])
        if help_text:
            rendered["helpText"] = clip(help_text)
        return rendered, shape

    def json_example(self, item: mf.Field) -> Any:
        """What a field asked as JSON text looks like: its example, else one built from its schema."""
        if "example" in item.metadata:
            return item.metadata["example"]
        if isinstance(item, mf.Nested):
            return self.sample(item.schema)
        if isinstance(item, mf.List) and isinstance(item.inner, mf.Nested):
            return [self.sample(item.inner.schema)]
        return {}

    def describe_values(self, rendered: dict[str, Any], item: mf.Field, inputs: Inputs) -> None:
        """Choices from an enum, or a dynamic dropdown backed by a hidden trigger on the lookup."""
        source = item.metadata.get("x_ms_dynamic_values")
        if source and source["operationId"] in self.by_operation:
            key = self.dropdown(self.by_operation[source["operationId"]], source)
            rendered["dynamic"] = f"{key}.{source['value-path']}.{source['value-title']}"
            inputs.depends.update(p["parameter"] for p in source.get("parameters", {}).values())
            return
        if choices := choices_of(item):
            rendered["choices"] = choices

    def dropdown(self, lookup: Endpoint, source: dict[str, Any]) -> str:
        key = f"dropdown_{lookup.declaration.key if lookup.declaration else lookup.operation_id.lower()}"
        self.dropdowns.setdefault(
            key,
            {
                "key": key,
                "noun": noun(lookup.operation_id),
                "display": {
                    "label": clip(lookup.summary, LABEL_MAX),
                    "description": lookup.description,
                    "hidden": True,
                },
                "method": "GET",
                "path": lookup.path,
                "inputFields": [],
                "collection": source.get("value-collection"),
                "valueField": source["value-path"],
                "parameters": {name: ref["parameter"] for name, ref in source.get("parameters", {}).items()},
            },
        )
        return key

    def output_fields(self, schema: Schema, prefix: str = "") -> list[dict[str, Any]]:
        """Zapier's output field keys: ``parent__child`` for an object, ``parent[]child`` for a list of them."""
        rendered: list[dict[str, Any]] = []
        for name, item in schema.fields.items():
            key = prefix + (item.data_key or name)
            label = item.metadata.get("x_ms_summary") or name
            if isinstance(item, mf.Nested):
                rendered += self.output_fields(item.schema, f"{key}__")
            elif isinstance(item, mf.List) and isinstance(item.inner, mf.Nested):
                rendered += self.output_fields(item.inner.schema, f"{key}[]")
            elif isinstance(item, mf.List):
                rendered.append({"key": key, "label": label, "type": scalar_type(item.inner), "list": True})
            elif isinstance(item, mf.Dict):
                rendered.append({"key": key, "label": label})
            else:
                rendered.append({"key": key, "label": label, "type": scalar_type(item)})
        return rendered

    def sample(self, schema: Schema, example: Any = None) -> dict[str, Any]:
        """The declared example, else one built from each field's example or type."""
        if isinstance(example, dict) and example:
            return example
        built: dict[str, Any] = {}
        for name, item in schema.fields.items():
            key = item.data_key or name
            if "example" in item.metadata:
                built[key] = item.metadata["example"]
            elif isinstance(item, mf.Nested):
                built[key] = self.sample(item.schema)
            elif isinstance(item, mf.List):
                built[key] = [self.sample(item.inner.schema)] if isinstance(item.inner, mf.Nested) else []
            elif isinstance(item, mf.Dict):
                built[key] = {}
            else:
                typed = {"boolean": True, "integer": 1, "number": 1.0, "datetime": SAMPLE_TIME}
                built[key] = typed.get(scalar_type(item), "1" if key == "id" else "")
        return built

    # --- operations -----------------------------------------------------------------------------

    def base(self, endpoint: Endpoint, inputs: Inputs) -> dict[str, Any]:
        return {
            "key": endpoint.declaration.key,
            "noun": noun(endpoint.operation_id),
            "display": {"label": clip(endpoint.summary, LABEL_MAX), "description": clip(endpoint.description)},
            "method": endpoint.method.upper(),
            "path": endpoint.path,
            "inputFields": inputs.fields,
            **({"shape": inputs.shape} if inputs.shape else {}),
        }

    def create(self, endpoint: Endpoint) -> dict[str, Any]:
        operation = endpoint.declaration
        created = self.base(endpoint, self.inputs(operation.input_schema))
        if any(p.name == HEADER for p in endpoint.parameters):
            created["inputFields"] = [*created["inputFields"], RUN_ID_FIELD]
            created["runIdField"] = RUN_ID_KEY  # the runtime makes the Idempotency-Key from this field
        return {
            **created,
            "outputFields": self.output_fields(operation.output_schema),
            "sample": self.sample(operation.output_schema, operation.response_example),
        }

    def search(self, endpoint: Endpoint) -> dict[str, Any]:
        """Full objects: the items of a page (one required list of objects beside counts, as
        ``declarations.paged`` makes), else the answer itself."""
        operation = endpoint.declaration
        output = operation.output_schema
        lists = [n for n, f in output.fields.items() if isinstance(f, mf.List) and isinstance(f.inner, mf.Nested)]
        others = [f for n, f in output.fields.items() if n not in lists]
        page = len(lists) == 1 and output.fields[lists[0]].required and all(isinstance(f, mf.Integer) for f in others)
        collection = lists[0] if page else None
        item_schema = output.fields[collection].inner.schema if collection else output
        example = operation.response_example
        if collection and isinstance(example, dict) and example.get(collection):
            example = example[collection][0]
        return {
            **self.base(endpoint, self.inputs(operation.input_schema)),
            "collection": collection,
            "outputFields": self.output_fields(item_schema),
            "sample": self.sample(item_schema, example),
        }

    def trigger(self, endpoint: Endpoint) -> dict[str, Any]:
        operation = endpoint.declaration
        event = operation.Event()
        recent = self.recent.get(endpoint.operation_id)
        limit = self.limit(recent)
        query = recent.query().fields if recent is not None and recent.query is not None else {}
        skip = {"limit"} if limit else set()
        if endpoint.trigger == "single":  # where to deliver: Zapier fills it in (bundle.targetUrl)
            skip |= {item.data_key or name for name, item in operation.input_schema.fields.items() if self.hidden(item)}
        return {
            **self.base(endpoint, self.inputs(operation.input_schema, frozenset(skip))),
            "recentPath": recent.path if recent else None,
            "recentQuery": [item.data_key or name for name, item in query.items()],
            "limit": limit,
            "outputFields": self.output_fields(event),
            "sample": self.sample(event),
        }

    @staticmethod
    def hidden(item: mf.Field) -> bool:
        """A field the platform fills in, never the person (Power Automate's internal visibility)."""
        return item.metadata.get("x_ms_visibility") == "internal" or bool(item.metadata.get("x-ms-notification-url"))

    @staticmethod
    def limit(recent: Endpoint | None) -> int | None:
        """The most items ``/recent`` gives at once: its ``limit`` parameter's maximum (the framework's
        own parameter; a trigger's input may not declare one, see ``Trigger.check``)."""
        if recent is None:
            return None
        return next((int(p.schema.get("maximum", 100)) for p in recent.parameters if p.name == "limit"), None)

    def test_call(self, searches: list[Endpoint]) -> dict[str, Any]:
        """The cheapest authenticated call: a lookup that needs no input, the subscription list, a
        search with the required part of its declared example, or a trigger's recent list."""
        for endpoint in self.description.endpoints:
            declaration = endpoint.declaration
            if endpoint.method == "get" and not endpoint.public and not endpoint.trigger and "{" not in endpoint.path:
                if declaration is None or not declaration.input_required:
                    return {"method": "GET", "path": endpoint.path, "body": {}}
        for endpoint in sorted(searches, key=lambda e: not e.operation_id.startswith("List")):
            operation = endpoint.declaration
            if operation.example:
                required = {f.data_key or n for n, f in operation.input_schema.fields.items() if f.required}
                body = {k: v for k, v in operation.example.items() if k in required}
                return {"method": endpoint.method.upper(), "path": endpoint.path, "body": body}
        if recent := next(iter(self.recent.values()), None):
            return {"method": "GET", "path": recent.path, "body": {"limit": 1, **(recent.declaration.example or {})}}
        raise NoConnectionTest(f"{self.catalog.name}: no lookup or recent list to test a Zapier connection with")

    def build(self) -> dict[str, Any]:
        triggers: dict[str, dict[str, Any]] = {}
        hooks: dict[str, dict[str, Any]] = {}
        searches: dict[str, dict[str, Any]] = {}
        creates: dict[str, dict[str, Any]] = {}
        search_endpoints = []
        for endpoint in self.description.endpoints:
            declaration = endpoint.declaration
            if declaration is None or endpoint.recent_of:
                continue
            if endpoint.trigger == "batch":
                triggers[declaration.key] = self.trigger(endpoint)
            elif endpoint.trigger == "single":
                hooks[declaration.key] = self.trigger(endpoint)
            elif endpoint.visibility == "internal":
                continue  # lookups: dropdowns only
            elif words(endpoint.operation_id)[0] in SEARCH_VERBS:
                searches[declaration.key] = self.search(endpoint)
                search_endpoints.append(endpoint)
            else:
                creates[declaration.key] = self.create(endpoint)
        return {
            "triggers": triggers,
            "hooks": hooks,
            "dropdowns": dict(sorted(self.dropdowns.items())),
            "searches": searches,
            "creates": creates,
            "searchOrCreates": self.search_or_creates(searches, creates),
            "test": self.test_call(search_endpoints),
        }

    def search_or_creates(self, searches: dict[str, Any], creates: dict[str, Any]) -> dict[str, Any]:
        """Find<Noun> (else List<Noun>s, else Get<Noun>) with Create<Noun>: "find it, or create it"."""
        pairs: dict[str, Any] = {}
        by_id = {self.by_path[(d["method"].lower(), d["path"])].operation_id: key for key, d in searches.items()}
        for create_key, create in creates.items():
            operation_id = self.by_path[(create["method"].lower(), create["path"])].operation_id
            if not operation_id.startswith("Create"):
                continue
            thing = operation_id.removeprefix("Create")
            # by what a person knows (Find, List by a name) before by id (Get)
            search_key = by_id.get(f"Find{thing}") or by_id.get(f"List{thing}s") or by_id.get(f"Get{thing}")
            if search_key and search_key not in pairs:
                pairs[search_key] = {
                    "key": search_key,
                    "display": {
                        "label": clip(f"Find or Create {noun(operation_id)}", LABEL_MAX),
                        "description": f"Finds a matching {noun(operation_id).lower()}, or creates one when none is found.",
                    },
                    "search": search_key,
                    "create": create_key,
                }
        return pairs


# --- rendering ------------------------------------------------------------------------------------


def js(value: Any, indent: int) -> str:
    """A JSON literal indented to sit inside the generated JavaScript."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return text.replace("\n", "\n" + " " * indent)


def section(kind: str, items: dict[str, Any]) -> str:
    if not items:
        return "{}"
    lines = [f"    {key}: service.{kind}({js(value, 4)})," for key, value in items.items()]
    return "{\n" + "\n".join(lines) + "\n  }"


def index_js(description: Description, app: dict[str, Any]) -> str:
    catalog = description.catalog
    credential = catalog.credential
    config = {
        "name": catalog.name,
        "title": catalog.title,
        "baseUrl": description.base_url,
        "urlVariable": URL_VARIABLE,
        "credential": {
            "key": credential.parameter,
            "header": credential.header,
            "label": credential.display_name,
            "helpText": clip(credential.description),
        },
    }
    triggers = [
        *(f"    {k}: service.pollingTrigger({js(v, 4)})," for k, v in app["triggers"].items()),
        *(f"    {k}: service.hookTrigger({js(v, 4)})," for k, v in app["hooks"].items()),
        *(f"    {k}: service.dropdown({js(v, 4)})," for k, v in app["dropdowns"].items()),
    ]
    return f"""'use strict';
// The {catalog.title} app for Zapier, generated by `connector export` from the connector's
// declarations: do not edit, change the declarations and export again. The service's URL is
// {description.base_url} unless the {URL_VARIABLE} variable says otherwise.
const runtime = require('./runtime');

const service = runtime.service({js(config, 0)});

module.exports = {{
  version: require('./package.json').version,
  platformVersion: '{CORE_VERSION}',
  authentication: service.authentication({js(app["test"], 2)}),
  beforeRequest: service.beforeRequest,
  afterResponse: service.afterResponse,
  triggers: {{
{chr(10).join(triggers)}
  }},
  searches: {section("search", app["searches"])},
  creates: {section("create", app["creates"])},
  searchOrCreates: {js(app["searchOrCreates"], 2)},
}};
"""


def package_json(description: Description) -> dict[str, Any]:
    catalog = description.catalog
    return {
        "name": f"{catalog.name}-zapier",
        "version": catalog.version,
        "description": clip(catalog.description),
        "main": "index.js",
        "private": True,
        "engines": {"node": ">=22"},
        "dependencies": {"zapier-platform-core": CORE_VERSION},
    }


class NoConnectionTest(ValueError):
    """The catalog has no call that checks a key without doing anything (a lookup, a recent list)."""


def render(description: Description) -> dict[str, bytes]:
    """The app's files; none for a catalog with nothing to test a connection with (Zapier requires
    that test), which is logged, so the catalog's other platforms and its service still work."""
    try:
        app = App(description).build()
    except NoConnectionTest as exc:
        log.warning("no Zapier app: %s", exc)
        return {}
    return {
        "zapier/package.json": (json.dumps(package_json(description), indent=2, ensure_ascii=False) + "\n").encode(),
        "zapier/index.js": index_js(description, app).encode(),
        "zapier/runtime.js": RUNTIME.read_bytes(),
    }


platform = Platform("zapier", "Zapier", render)
