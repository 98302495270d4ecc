"""Power Automate's certification and naming rules, checked on the declarations at start-up.

A declaration that breaks one fails ``validate_catalogs`` with a message naming the catalog, the
operation and the rule, instead of being found by Microsoft's review or by a user. The rules are
those of https://learn.microsoft.com/connectors/custom-connectors/certification-submission and
https://learn.microsoft.com/connectors/custom-connectors/openapi-extensions; they run over the
neutral description, so the endpoints the framework derives (trigger forms, subscriptions) are
held to them too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from marshmallow import Schema, fields

from connector.declarations import Catalog
from connector.spec.description import Endpoint, describe

OPERATION_ID = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SUMMARY_FORBIDDEN = re.compile(r"[/\\<>*%&?]")
MINOR_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with"}
VISIBILITIES = {"important", "advanced", "internal"}
URL = re.compile(r"^https?://")
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
REQUIRED_METADATA = ("Website", "Privacy policy", "Categories")


def is_title_case(text: str) -> bool:
    words = text.split()
    return bool(words) and all(
        w[0].isupper() or not w[0].isalpha() or (i > 0 and w in MINOR_WORDS) for i, w in enumerate(words)
    )


def check_catalog(catalog: Catalog) -> list[str]:
    """Every rule broken by a catalog, each as ``<catalog>: <where>: <rule>``."""
    endpoints = describe(catalog)
    problems = [f"{catalog.name}: {p}" for p in _identity(catalog)]
    ids = [e.operation_id for e in endpoints]
    problems += [f"{catalog.name}: duplicate operationId {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    by_id = {e.operation_id: e for e in endpoints}
    for endpoint in endpoints:
        for rule in (_strings, _visibility, _successes, _inputs, _schemas):
            problems += [f"{catalog.name}: {endpoint.operation_id}: {p}" for p in rule(endpoint)]
        problems += [f"{catalog.name}: {endpoint.operation_id}: {p}" for p in _dropdowns(endpoint, by_id)]
    return problems


# --- the catalog: info, contact, metadata, apiProperties ------------------------------------------


def _identity(catalog: Catalog) -> Iterator[str]:
    if not catalog.description.strip():
        yield "description is required (info.description)"
    if not catalog.contact.get("name", "").strip():
        yield "contact needs a name (info.contact.name)"
    if not URL.match(catalog.contact.get("url", "")):
        yield "contact needs an http(s) url (info.contact.url)"
    missing = [key for key in REQUIRED_METADATA if not str(catalog.metadata.get(key, "")).strip()]
    if missing:
        yield f"metadata must give {', '.join(missing)} (x-ms-connector-metadata)"
    for key in ("Website", "Privacy policy"):
        if catalog.metadata.get(key) and not URL.match(catalog.metadata[key]):
            yield f"metadata {key} must be an http(s) URL"
    if not COLOR.match(catalog.brand_color):
        yield f"brand_color must be #RRGGBB (apiProperties iconBrandColor), not {catalog.brand_color!r}"
    if not catalog.publisher.strip():
        yield "publisher is required (apiProperties publisher)"
    if not catalog.credential.display_name.strip():
        yield "credential display_name is required (apiProperties connectionParameters)"


# --- one endpoint ---------------------------------------------------------------------------------


def _strings(endpoint: Endpoint) -> Iterator[str]:
    if not OPERATION_ID.match(endpoint.operation_id):
        yield "operationId must be PascalCase"
    summary = endpoint.summary
    if not summary.strip() or len(summary) > 80:
        yield f"summary must have 1 to 80 characters: {summary!r}"
    if SUMMARY_FORBIDDEN.search(summary):
        yield f"summary must not contain any of /\\<>*%&?: {summary!r}"
    if summary and (unicodedata.category(summary[-1]).startswith("P") or summary != summary.strip()):
        yield f"summary must not end in punctuation or space: {summary!r}"
    description = endpoint.description
    if not (description[:1].isupper() and description.endswith(".") and " " in description):
        yield f"description must be a full sentence ending with a period: {description!r}"
    if description.rstrip(".").lower() == summary.rstrip(".").lower():
        yield "description must not repeat the summary"


def _visibility(endpoint: Endpoint) -> Iterator[str]:
    if endpoint.visibility is not None and endpoint.visibility not in VISIBILITIES:
        yield f"visibility must be important, advanced or internal, not {endpoint.visibility!r}"
    elif endpoint.path.startswith("/lookups/") and endpoint.visibility != "internal":
        yield "a lookup only fills dropdowns: visibility must be internal"
    elif endpoint.path.startswith("/actions/") and endpoint.visibility not in ("important", "advanced"):
        yield "an action must be shown: visibility must be important or advanced"
    for parameter in endpoint.parameters:
        if parameter.visibility is not None and parameter.visibility not in VISIBILITIES:
            yield f"parameter {parameter.name}: visibility must be important, advanced or internal"


def _successes(endpoint: Endpoint) -> Iterator[str]:
    """One 2xx with a body, except a polling trigger's 202 (nothing new) and an unsubscribe's 204."""
    successes = [r for r in endpoint.responses if 200 <= r.status < 300]
    if endpoint.trigger == "batch":
        successes = [r for r in successes if r.status != 202]
    if [r.status for r in successes] == [204] and endpoint.method == "delete":
        return
    if len(successes) != 1:
        yield f"{len(successes)} success responses, expected exactly one"
    for response in successes:
        if response.schema is None:
            yield f"response {response.status} has no schema"


def _inputs(endpoint: Endpoint) -> Iterator[str]:
    """What a person fills in carries a name, a Title Case label and a description."""
    for parameter in endpoint.parameters:
        if not parameter.name.strip():
            yield f"{parameter.location} parameter named {parameter.name!r}"
        if not is_title_case(parameter.label):
            yield f"parameter {parameter.name}: x-ms-summary must be Title Case: {parameter.label!r}"
    places = [("query", endpoint.query)] if endpoint.query is not None else []
    if endpoint.body is not None:
        places.append(("body", endpoint.body.schema))
    for place, schema in places:
        for where, _, field in _fields(schema, place):
            name = where.rsplit(".", 1)[-1]
            if not name.strip():
                yield f"{place} field named {name!r} at {where}"
            summary = _meta(field, "x_ms_summary")
            if not isinstance(summary, str) or not is_title_case(summary):
                yield f"{where}: x-ms-summary (summary=) must be Title Case: {summary!r}"
            if not str(field.metadata.get("description", "")).strip():
                yield f"{where}: a description is required"


def _schemas(endpoint: Endpoint) -> Iterator[str]:
    """Keys Power Automate misreads, in every schema the endpoint documents."""
    schemas = [("query", endpoint.query), ("body", endpoint.body.schema if endpoint.body else None)]
    schemas += [(f"response {r.status}", r.schema) for r in endpoint.responses if not r.problem]
    if endpoint.notification is not None:
        schemas.append(("event", endpoint.notification.event))
    for place, schema in schemas:
        for where, _, field in _fields(schema, place):
            if field.metadata.get("format") == "":
                yield f'{where}: "format": "" (give a format or none)'
            if "title" in field.metadata and _meta(field, "x_ms_summary") is None:
                yield f"{where}: title is not what Power Automate shows: use summary= (x-ms-summary)"
            visibility = _meta(field, "x_ms_visibility")
            if visibility is not None and visibility not in VISIBILITIES:
                yield f"{where}: visibility must be important, advanced or internal, not {visibility!r}"


def _dropdowns(endpoint: Endpoint, by_id: dict[str, Endpoint]) -> Iterator[str]:
    """Each dropdown calls an operation of this catalog, passes it only inputs it has (every one it
    requires) from sibling fields, and reads a collection and paths its answer really has."""
    places = [("query", endpoint.query)] if endpoint.query is not None else []
    if endpoint.body is not None:
        places.append(("body", endpoint.body.schema))
    parameter_names = {p.name for p in endpoint.parameters}
    for place, schema in places:
        for where, parent, field in _fields(schema, place):
            source = _meta(field, "x_ms_dynamic_values")
            if not source:
                continue
            target = by_id.get(source.get("operationId"))
            if target is None:
                yield f"{where}: dropdown names unknown operation {source.get('operationId')!r}"
                continue
            siblings = {_name(n, f) for n, f in parent.items()} | parameter_names
            passed = source.get("parameters", {})
            for name, value in passed.items():
                if name not in _input_names(target):
                    yield f"{where}: {target.operation_id} has no input {name!r}"
                ref = value.get("parameter") if isinstance(value, dict) else None
                if ref is not None and ref not in siblings:
                    yield f"{where}: dropdown parameter {ref!r} is not a sibling field"
            required = {_name(n, f) for n, f in _declared(target.query).items() if f.required}
            for name in sorted(required - set(passed)):
                yield f"{where}: {target.operation_id} requires {name!r}, which the dropdown does not pass"
            successes = [r for r in target.responses if 200 <= r.status < 300]
            item = successes[0].schema if successes else None
            if source.get("value-collection"):
                collection = _dig(item, source["value-collection"])
                item = _nested(collection) if isinstance(collection, fields.List) else None
                if item is None:
                    yield f"{where}: {target.operation_id} returns no list of objects at {source['value-collection']!r}"
                    continue
            for key in ("value-path", "value-title"):
                if key in source and _dig(item, source[key]) is None:
                    yield f"{where}: {target.operation_id} items have no {source[key]!r} ({key})"


# --- marshmallow helpers --------------------------------------------------------------------------


def _meta(field: fields.Field, key: str) -> Any:
    """A Power Automate key in field metadata, written ``x_ms_summary`` or ``x-ms-summary``."""
    return field.metadata.get(key, field.metadata.get(key.replace("_", "-")))


def _declared(schema: Any) -> dict[str, fields.Field]:
    """A schema's fields by attribute name, read from the class: instantiating every schema (and
    every nested one) again would cost start-up time for nothing."""
    if isinstance(schema, dict):  # a JSON Schema wrapper, e.g. {"type": "array", "items": Event}
        schema = schema.get("items")
    if isinstance(schema, Schema):
        return schema.fields
    if isinstance(schema, type) and issubclass(schema, Schema):
        return schema._declared_fields
    return {}  # None, or a schema given by name


def _nested(field: fields.Field) -> Any:
    """The schema inside a nested field (or a list of them), else None."""
    inner = field.inner if isinstance(field, fields.List) else field
    if not isinstance(inner, fields.Nested):
        return None
    nested = inner.nested
    return nested() if callable(nested) and not isinstance(nested, type) else nested


def _name(name: str, field: fields.Field) -> str:
    return field.data_key or name


def _fields(schema: Any, where: str) -> Iterator[tuple[str, dict[str, fields.Field], fields.Field]]:
    """(location, sibling fields, field) for every field, nested objects and list items included."""
    siblings = _declared(schema)
    for name, field in siblings.items():
        here = f"{where}.{_name(name, field)}"
        yield here, siblings, field
        nested = _nested(field)
        if nested is not None:
            yield from _fields(nested, here + ("[]" if isinstance(field, fields.List) else ""))


def _dig(schema: Any, path: str) -> fields.Field | None:
    """The field at a Power Automate ``a/b`` path inside a schema, or None."""
    field = None
    for part in path.split("/"):
        field = next((f for n, f in _declared(schema).items() if _name(n, f) == part), None)
        if field is None:
            return None
        schema = _nested(field) if isinstance(field, fields.Nested) else None
    return field


def _input_names(endpoint: Endpoint) -> set[str]:
    names = {p.name for p in endpoint.parameters}
    for schema in (endpoint.query, endpoint.body.schema if endpoint.body else None):
        names |= {_name(n, f) for n, f in _declared(schema).items()}
    return names
