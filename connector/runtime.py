"""Serving declared operations over HTTP: read the input, validate, perform, dump the output.

Everything per operation (schema instances, bound service, rate limit) is prepared once when the
blueprint is built; a request only parses, validates, calls upstream and encodes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from flask import Blueprint, Response, request
from marshmallow import Schema, ValidationError, fields

from connector.declarations import Catalog, Operation
from connector.errors import Problem, validation_problem
from connector.jsonio import json_response
from connector.upstream import UpstreamService

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _list_fields(schema: Schema) -> frozenset[str]:
    return frozenset(name for name, f in schema.fields.items() if isinstance(f, fields.List))


def _multidict_to_dict(values: Any, list_fields: frozenset[str]) -> dict[str, Any]:
    """Query strings and forms repeat a key for lists (``contacts=a&contacts=b``)."""
    return {key: values.getlist(key) if key in list_fields else values.get(key) for key in values.keys()}


def read_payload(method: str, list_fields: frozenset[str]) -> Any:
    """The caller's input: query string for GET, else a JSON or form body."""
    if method == "GET":
        return _multidict_to_dict(request.args, list_fields)
    mimetype = request.mimetype
    if mimetype in FORM_TYPES:
        return _multidict_to_dict(request.form, list_fields)
    raw = request.get_data(cache=False)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, f"The body is not valid JSON ({exc.msg} at position {exc.pos}).") from None


def credential_of(catalog: Catalog) -> str:
    value = request.headers.get(catalog.credential.header, "").strip()
    if not value:
        raise Problem(
            401,
            f"Missing API key: send it in the {catalog.credential.header} header.",
        )
    return value


def make_view(catalog: Catalog, operation: Operation, service: UpstreamService) -> Callable[[], Response]:
    """The Flask view of one operation, with everything it needs bound in its closure."""
    load = operation.input_schema.load
    dump = operation.output_schema.dump
    perform = operation.perform
    bind = service.bind
    method = operation.method
    status = operation.status_code
    list_fields = _list_fields(operation.input_schema)

    def view() -> Response:
        credential = credential_of(catalog)
        payload = read_payload(method, list_fields)
        try:
            data = load(payload)
        except ValidationError as exc:
            raise validation_problem(exc.messages) from None
        result = perform(data, bind(credential))
        return json_response(dump(result), status)

    view.__name__ = view.__qualname__ = operation.key
    view.__module__ = f"connector.catalogs.{catalog.name}"  # flask-limiter keys routes by module.name
    view.__doc__ = operation.description
    return view


def build_blueprint(
    catalog: Catalog,
    services: dict[str, UpstreamService],
    decorate: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
) -> Blueprint:
    """One blueprint per catalog at ``/<catalog.name>``; ``decorate`` wraps each view (rate limit)."""
    blueprint = Blueprint(catalog.name, __name__, url_prefix=f"/{catalog.name}")
    for operation_class in catalog.operations:
        operation = operation_class()
        service = services[catalog.service(operation.upstream).name]
        view = make_view(catalog, operation, service)
        if decorate is not None:
            view = decorate(view)
        blueprint.add_url_rule(operation.path, endpoint=operation.key, view_func=view, methods=[operation.method])
    return blueprint
