"""Swagger 2.0 (Power Automate) and OpenAPI 3 documents built from the declarations with apispec.

Field metadata becomes property keys through apispec's marshmallow plugin (``x_ms_summary`` →
``x-ms-summary``); operation-level Power Automate keys come in through :class:`PowerAutomatePlugin`.
Nothing is post-edited after generation, so the specs say exactly what the declarations say.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from connector import fields as cf
from connector.declarations import Catalog, Operation, OutputSchema
from connector.idempotency import HEADER, KEY_PATTERN, MAX_KEY_LENGTH
from connector.trigger_views import MAX_STATE, STATE
from connector.triggers import (
    DeliveryListSchema,
    EnableSchema,
    PollingTrigger,
    SubscriptionListSchema,
    SubscriptionStateSchema,
    WebhookTrigger,
)

SWAGGER = "2.0"
OPENAPI = "3.0.3"

COMMON_ERRORS: dict[int, str] = {
    400: "The body is not valid JSON.",
    401: "The API key is missing or was rejected.",
    403: "The API key is not allowed to do this.",
    404: "An item the request refers to does not exist.",
    413: "The body is larger than the limit.",
    422: "A field is missing or not in the expected format; `errors` names each field.",
    429: "Too many calls for this credential; retry after the seconds given in Retry-After.",
    502: "The upstream service failed or could not be reached.",
    504: "The upstream service did not answer in time.",
}
OPTIONAL_ERRORS: dict[int, str] = {
    409: "The request conflicts with the item's current state (an existing item, whose id the body carries, "
    "or a request already cancelled or validated).",
    410: "The item is no longer usable (for example an expired verification request).",
}
IDEMPOTENCY_CONFLICT = "A request with the same Idempotency-Key is still being processed; retry after Retry-After."
TOO_MANY_SUBSCRIPTIONS = (
    "This API key already holds the most subscriptions allowed on this connector (CONNECTOR_MAX_SUBSCRIPTIONS); "
    "delete one before subscribing again."
)
IDEMPOTENCY_DESCRIPTION = (
    "Any unique text (a UUID, or the id of the item that started the flow). A retry with the same key "
    "and the same input returns the first answer instead of doing the action twice; kept 24 hours."
)


class ProblemSchema(OutputSchema):
    """RFC 9457 problem details, the body of every error answer."""

    type = fields.String(metadata={"description": "URI naming the kind of problem."})
    title = fields.String(metadata={"description": "Short summary of the kind of problem."})
    status = fields.Integer(metadata={"description": "HTTP status code."})
    detail = fields.String(metadata={"description": "What went wrong, in a sentence."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages per field, keyed by field name (dotted for nested fields)."},
    )


def _schema_name(schema: type[Schema] | Schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    return name[:-6] if name.endswith("Schema") and name != "Schema" else name


class PowerAutomatePlugin(BasePlugin):
    """Adds the operation-level keys Power Automate reads, from the declaration."""

    def init_spec(self, spec: APISpec) -> None:
        self.openapi_version = spec.openapi_version

    def schema_helper(self, name: str, definition: dict, **kwargs: Any) -> dict | None:
        if self.openapi_version.major < 3:  # Swagger 2.0 has no anyOf or oneOf
            return None
        schema = kwargs.get("schema")
        # present and not null: optional fields are nullable (null = not sent), and in
        # OpenAPI 3.0 a schema without `nullable` excludes null
        properties = definition.get("properties", {})

        def given(field: str) -> dict[str, Any]:
            return {
                "required": [field],
                "properties": {field: {"type": properties.get(field, {}).get("type", "string")}},
            }

        rules: dict[str, Any] = {}
        for keyword, attribute in (("anyOf", "require_any_of"), ("oneOf", "require_one_of")):
            if names := getattr(schema, attribute, ()):
                rules[keyword] = [given(field) for field in names]
        # Other cross-field rules a schema states in JSON Schema itself (``openapi_rules``).
        if extra := getattr(schema, "openapi_rules", ()):
            rules["allOf"] = list(extra)
        return rules or None

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        declaration: Operation | None = kwargs.get("declaration")
        if declaration is None or operations is None:
            return
        operation = operations[declaration.method.lower()]
        if declaration.visibility:
            operation.setdefault("x-ms-visibility", declaration.visibility)
        if self.openapi_version.major < 3:
            # Swagger 2.0 has no ``example`` on query/path/header parameters (only in schemas), and
            # both openapi-spec-validator and Power Automate reject it there; keep it as ``x-example``.
            for parameter in operation.get("parameters", []):
                if isinstance(parameter, dict) and parameter.get("in") != "body" and "example" in parameter:
                    parameter["x-example"] = parameter.pop("example")


def _swagger_enum_without_null(converter: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Swagger 2.0 says "may be null" with ``x-nullable``; a ``null`` enum member would become an
    empty choice in Power Automate's dropdown (OpenAPI 3.0.3 does want null in the enum)."""
    if ret.get("enum") and None in ret["enum"]:
        return {"enum": [choice for choice in ret["enum"] if choice is not None]}
    return {}


BODY_ERRORS = (400, 413)  # only where a body is read


def _error_responses(operation: Operation, version: str) -> dict[str, Any]:
    statuses = {**COMMON_ERRORS, **{s: OPTIONAL_ERRORS[s] for s in operation.errors if s in OPTIONAL_ERRORS}}
    if operation.method == "GET":
        statuses = {s: d for s, d in statuses.items() if s not in BODY_ERRORS}
    else:
        statuses[409] = f"{statuses[409]} Or: {IDEMPOTENCY_CONFLICT}" if 409 in statuses else IDEMPOTENCY_CONFLICT
    return _problem_responses(statuses, version)


def _problem_responses(statuses: dict[int, str], version: str) -> dict[str, Any]:
    """Error answers, each a problem+json body (429 with its Retry-After header)."""
    responses: dict[str, Any] = {}
    for status in sorted(statuses):
        response: dict[str, Any] = {"description": statuses[status]}
        if version == SWAGGER:
            response["schema"] = "Problem"
        else:
            response["content"] = {"application/problem+json": {"schema": "Problem"}}
        if status == 429:
            header = {"description": "Seconds to wait before calling again.", "type": "integer"}
            response["headers"] = {
                "Retry-After": header
                if version == SWAGGER
                else {"description": header["description"], "schema": {"type": "integer"}}
            }
        responses[str(status)] = response
    return responses


def _operation(operation: Operation, version: str) -> dict[str, Any]:
    schema_in = operation.Input
    schema_out = operation.Output
    success: dict[str, Any] = {
        "description": operation.Output.__doc__.strip().split("\n")[0] if operation.Output.__doc__ else "Success."
    }
    if version == SWAGGER:
        success["schema"] = schema_out
        if operation.response_example is not None:
            success["examples"] = {"application/json": operation.response_example}
    else:
        media: dict[str, Any] = {"schema": schema_out}
        if operation.response_example is not None:
            media["example"] = operation.response_example
        success["content"] = {"application/json": media}
    spec_op: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "description": operation.description,
        "tags": [operation.path_prefix.capitalize()],
        "responses": {str(operation.status_code): success, **_error_responses(operation, version)},
    }
    if operation.method == "GET":
        if operation.input_schema.fields:
            spec_op["parameters"] = [{"in": "query", "schema": schema_in}]
    elif version == SWAGGER:
        spec_op["parameters"] = [
            _idempotency_parameter(version),
            {"in": "body", "name": "body", "required": operation.input_required, "schema": schema_in},
        ]
    else:
        media = {"schema": schema_in}
        if operation.example is not None:
            media["example"] = operation.example
        spec_op["parameters"] = [_idempotency_parameter(version)]
        spec_op["requestBody"] = {"required": operation.input_required, "content": {"application/json": media}}
    return spec_op


def _typed(schema: dict[str, Any], version: str) -> dict[str, Any]:
    """How a parameter or header states its schema: inline in Swagger 2.0, under ``schema`` in 3."""
    return dict(schema) if version == SWAGGER else {"schema": schema}


def _json(schema: Any, description: str, version: str) -> dict[str, Any]:
    """A JSON response with ``schema``, in either version."""
    if version == SWAGGER:
        return {"description": description, "schema": schema}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _idempotency_parameter(version: str) -> dict[str, Any]:
    """The optional ``Idempotency-Key`` header of every POST action (see connector/idempotency.py)."""
    schema = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN.pattern}
    parameter: dict[str, Any] = {
        "name": HEADER,
        "in": "header",
        "required": False,
        "description": IDEMPOTENCY_DESCRIPTION,
        "x-ms-summary": "Idempotency Key",
        "x-ms-visibility": "advanced",
    }
    return {**parameter, **_typed(schema, version)}


def build_spec(catalog: Catalog, version: str, public_url: str) -> dict[str, Any]:
    """The whole document of one catalog as a dict, for one OpenAPI version."""
    base = public_url.rstrip("/") + "/" + catalog.name
    parts = urlsplit(base)
    options: dict[str, Any] = {
        "info": {
            "description": catalog.description,
            "contact": dict(catalog.contact),
        },
        "x-ms-connector-metadata": [{"propertyName": k, "propertyValue": v} for k, v in catalog.metadata.items()],
    }
    security_scheme = {"type": "apiKey", "in": "header", "name": catalog.credential.header}
    if version == SWAGGER:
        options.update(
            host=parts.netloc,
            basePath=parts.path or "/",
            schemes=[parts.scheme],
            consumes=["application/json", "application/x-www-form-urlencoded"],
            produces=["application/json", "application/problem+json"],
            security=[{catalog.credential.parameter: []}],
        )
    else:
        options.update(servers=[{"url": base}], security=[{catalog.credential.parameter: []}])
    marshmallow_plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(
        title=catalog.title,
        version=catalog.version,
        openapi_version=version,
        plugins=[marshmallow_plugin, PowerAutomatePlugin()],
        **options,
    )
    marshmallow_plugin.map_to_openapi_type(cf.Date, "string", "date")
    if version == SWAGGER:
        marshmallow_plugin.converter.add_attribute_function(_swagger_enum_without_null)
    spec.components.security_scheme(catalog.credential.parameter, security_scheme)
    spec.components.schema("Problem", schema=ProblemSchema)
    notifications: dict[str, Any] = {}
    for operation in catalog.instances:
        if isinstance(operation, PollingTrigger):
            _add_polling_trigger(spec, operation, version)
            continue
        spec_operation = _operation(operation, version)
        if isinstance(operation, WebhookTrigger):
            notifications[operation.path] = _webhook_trigger(spec, spec_operation, operation, version)
        spec.path(path=operation.path, operations={operation.method.lower(): spec_operation}, declaration=operation)
    if notifications:
        _add_subscription_paths(spec, version)
    document = spec.to_dict()
    for path, content in notifications.items():
        document["paths"][path]["x-ms-notification-content"] = content
    return document


# --- triggers (see connector/triggers.py and connector/trigger_views.py) ----------------------------

POLL_HEADERS = {
    "Location": "The URL to poll next, carrying the trigger's state.",
    "Retry-After": "Seconds to wait before polling again.",
}


def _headers(descriptions: dict[str, str], version: str) -> dict[str, Any]:
    return {name: {"description": text, **_typed({"type": "string"}, version)} for name, text in descriptions.items()}


def _array_of(schema: Any, version: str, description: str) -> dict[str, Any]:
    return _json({"type": "array", "items": schema}, description, version)


def _add_polling_trigger(spec: APISpec, trigger: PollingTrigger, version: str) -> None:
    """Power Automate's polling trigger (``x-ms-trigger: batch``) and the list form for Zapier/Make."""
    base = _operation(trigger, version)
    state = {
        "name": STATE,
        "in": "query",
        "required": False,
        "description": "Where the previous poll stopped; written by this service into Location.",
        "x-ms-summary": "Trigger State",
        "x-ms-visibility": "internal",
    }
    state.update(_typed({"type": "string", "maxLength": MAX_STATE}, version))
    errors = {k: v for k, v in base["responses"].items() if not k.startswith("2")}
    polled = {
        **base,
        "parameters": [*base.get("parameters", []), state],
        "responses": {
            "200": {**_array_of(trigger.Event, version, "The new items, newest first."), "headers": _headers(POLL_HEADERS, version)},
            "202": {"description": "Nothing new yet: poll Location after Retry-After.", "headers": _headers(POLL_HEADERS, version)},
            **errors,
        },
        "x-ms-trigger": "batch",
        "x-ms-trigger-hint": "To see it work, make the change happen upstream, then wait for the next poll.",
    }  # fmt: skip
    spec.path(path=trigger.path, operations={"get": polled}, declaration=trigger)
    recent = {
        **base,
        "operationId": f"{trigger.operation_id}Recent",
        "summary": f"Recent items of {trigger.operation_id}",
        "description": "The latest items, newest first, each with a stable id (for Zapier and Make).",
        "responses": {"200": _array_of(trigger.Event, version, "The latest items, newest first."), **errors},
        "x-ms-visibility": "internal",
    }
    spec.path(path=f"{trigger.path}/recent", operations={"get": recent}, declaration=trigger)


def _webhook_trigger(spec: APISpec, operation: dict[str, Any], trigger: WebhookTrigger, version: str) -> dict:
    """Marks the subscribe operation and returns its path-level ``x-ms-notification-content``."""
    operation["x-ms-trigger"] = "single"
    operation["parameters"] = [p for p in operation.get("parameters", []) if p.get("name") != HEADER]
    if not operation["parameters"]:
        del operation["parameters"]
    operation["responses"]["409"]["description"] = TOO_MANY_SUBSCRIPTIONS
    created = operation["responses"]["201"]
    created["headers"] = _headers({"Location": "The subscription's URL: DELETE it to unsubscribe."}, version)
    name = _schema_name(trigger.Event)
    if name not in spec.components.schemas:
        spec.components.schema(name, schema=trigger.Event)
    ref = f"#/definitions/{name}" if version == SWAGGER else f"#/components/schemas/{name}"
    return {"description": trigger.Event.__doc__ or "One event.", "schema": {"$ref": ref}}


def _add_subscription_paths(spec: APISpec, version: str) -> None:
    """Unsubscribe (no API key: Power Automate sends none) and the read-only views."""
    subscription_id = {
        "name": "subscription_id",
        "in": "path",
        "required": True,
        "description": "The subscription's id.",
        "x-ms-summary": "Subscription Id",
    }
    subscription_id.update(_typed({"type": "string"}, version))
    not_found = _problem_responses({404: "No such subscription."}, version)
    owner_errors = _problem_responses(
        {401: COMMON_ERRORS[401], 404: "No such subscription for this API key.", 429: COMMON_ERRORS[429]}, version
    )

    spec.path(
        path="/subscriptions/{subscription_id}",
        operations={
            "delete": {
                "operationId": "DeleteSubscription",
                "summary": "Delete a webhook subscription",
                "description": "Ends the subscription, upstream too; deliveries stop. Needs no API key.",
                "tags": ["Subscriptions"],
                "parameters": [subscription_id],
                "security": [],
                "responses": {"204": {"description": "Unsubscribed (or already)."}, **not_found},
                "x-ms-visibility": "internal",
            }
        },
    )
    spec.path(
        path="/subscriptions",
        operations={
            "get": {
                "operationId": "ListSubscriptions",
                "summary": "List my webhook subscriptions",
                "description": "The webhook subscriptions made with this API key, newest first.",
                "tags": ["Subscriptions"],
                "responses": {
                    "200": _json(SubscriptionListSchema, "The subscriptions.", version),
                    **{k: v for k, v in owner_errors.items() if k != "404"},
                },
                "x-ms-visibility": "advanced",
            }
        },
    )
    ended = _problem_responses({409: "The subscription has ended: subscribe again."}, version)
    for action, summary, description in (
        (
            "enable",
            "Enable a webhook subscription",
            "Delivers to the subscription again (after it was disabled for failing too long, or by its owner) "
            "and, unless retry_failed is false, sends its failed events again, oldest first.",
        ),
        (
            "disable",
            "Disable a webhook subscription",
            "Stops deliveries until the subscription is enabled again; its events are kept as failed meanwhile.",
        ),
    ):
        operation: dict[str, Any] = {
            "operationId": f"{action.capitalize()}Subscription",
            "summary": summary,
            "description": description,
            "tags": ["Subscriptions"],
            "parameters": [subscription_id],
            "responses": {
                "200": _json(SubscriptionStateSchema, "The subscription's new state.", version),
                **owner_errors,
                **ended,
            },
            "x-ms-visibility": "advanced",
        }
        if action == "enable":
            if version == SWAGGER:
                operation["parameters"] = [
                    subscription_id,
                    {"in": "body", "name": "body", "required": False, "schema": EnableSchema},
                ]
            else:
                operation["requestBody"] = {
                    "required": False,
                    "content": {"application/json": {"schema": EnableSchema}},
                }
        spec.path(path=f"/subscriptions/{{subscription_id}}/{action}", operations={"post": operation})
    spec.path(
        path="/subscriptions/{subscription_id}/deliveries",
        operations={
            "get": {
                "operationId": "ListDeliveries",
                "summary": "List the recent deliveries of a subscription",
                "description": "The latest events of a subscription with their status, attempts and last error.",
                "tags": ["Subscriptions"],
                "parameters": [subscription_id],
                "responses": {
                    "200": _json(DeliveryListSchema, "The deliveries, newest first.", version),
                    **owner_errors,
                },
                "x-ms-visibility": "advanced",
            }
        },
    )
