"""The neutral description of a catalog: every endpoint it serves, built once from the declarations.

Paths, methods, parameters, bodies, responses (errors included), triggers and the subscription
endpoints are decided here, in no platform's vocabulary; each platform module
(``connector.platforms``) renders this description into its own files. So a rule such as "GET
reads no body, so it has no 400 or 413" is written once, whatever the number of platforms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema, fields

from connector.declarations import Catalog, Operation, OutputSchema
from connector.idempotency import HEADER, KEY_PATTERN, MAX_KEY_LENGTH
from connector.triggers import (
    LIMIT,
    MAX_LIMIT,
    MAX_STATE,
    STATE,
    DeliveryListSchema,
    DeliveryQuerySchema,
    DeliverySummarySchema,
    EnableSchema,
    PollingTrigger,
    ReplaySchema,
    ResentSchema,
    SubscriptionListSchema,
    SubscriptionStateSchema,
    WebhookTrigger,
)

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
BODY_ERRORS = (400, 413)  # only where a body is read
IDEMPOTENCY_CONFLICT = "A request with the same Idempotency-Key is still being processed; retry after Retry-After."
TOO_MANY_SUBSCRIPTIONS = (
    "This API key already holds the most subscriptions allowed on this connector (CONNECTOR_MAX_SUBSCRIPTIONS); "
    "delete one before subscribing again."
)
IDEMPOTENCY_DESCRIPTION = (
    "Any unique text (a UUID, or the id of the item that started the flow). A retry with the same key "
    "and the same input returns the first answer instead of doing the action twice; kept 24 hours."
)
RETRY_AFTER = "Seconds to wait before calling again."
POLL_HEADERS = {
    "Location": "The URL to poll next, carrying the trigger's state.",
    "Retry-After": "Seconds to wait before polling again.",
}
POLL_HINT = "To see it work, make the change happen upstream, then wait for the next poll."
PROBLEM = "Problem"  # the component name of the error body


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


def schema_name(schema: type[Schema] | Schema) -> str:
    """A schema's component name: its class name without the ``Schema`` suffix."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    return name[:-6] if name.endswith("Schema") and name != "Schema" else name


@dataclass(frozen=True)
class Header:
    name: str
    description: str
    type: str = "string"


@dataclass(frozen=True)
class Parameter:
    """One named parameter outside the body (a header, a path segment, a query value)."""

    name: str
    location: str  # "header", "path" or "query"
    required: bool
    description: str
    label: str  # what a person sees (Title Case)
    schema: dict[str, Any]
    visibility: str | None = None


@dataclass(frozen=True)
class Body:
    schema: type[Schema]
    required: bool
    example: Any = None


@dataclass(frozen=True)
class Response:
    """One answer. ``schema`` is a marshmallow schema, a JSON Schema dict (which may hold one), or
    None for an answer without a body; ``problem`` marks a problem+json error answer."""

    status: int
    description: str
    schema: Any = None
    example: Any = None
    headers: tuple[Header, ...] = ()
    problem: bool = False


@dataclass(frozen=True)
class Notification:
    """What a webhook trigger delivers, documented beside its subscribe endpoint."""

    description: str
    event: type[Schema]


@dataclass(frozen=True)
class Endpoint:
    path: str
    method: str  # lower case
    operation_id: str
    summary: str
    description: str
    tag: str
    responses: tuple[Response, ...]
    query: type[Schema] | None = None  # whose fields are the query parameters
    parameters: tuple[Parameter, ...] = ()
    body: Body | None = None
    visibility: str | None = None
    trigger: str | None = None  # "batch" (polled) or "single" (webhook subscribe)
    # On a trigger's recent list (GET .../recent, for Zapier's performList and Make): the operation_id
    # of the trigger it lists the items of; its 200 answers an array of the trigger's Event.
    recent_of: str | None = None
    trigger_hint: str | None = None
    notification: Notification | None = None
    public: bool = False  # callable without the credential
    declaration: Operation | None = None  # None for the framework's own endpoints
    # Key order of the committed documents: the framework's endpoints list parameters first.
    parameters_first: bool = False


@dataclass(frozen=True)
class Description:
    """A catalog as every platform sees it: identity, where it is served, and its endpoints."""

    catalog: Catalog
    base_url: str
    endpoints: tuple[Endpoint, ...] = field(default=())

    @classmethod
    def build(cls, catalog: Catalog, public_url: str) -> Description:
        return cls(catalog, public_url.rstrip("/") + "/" + catalog.name, describe(catalog))

    @property
    def url_parts(self) -> Any:
        return urlsplit(self.base_url)


def describe(catalog: Catalog) -> tuple[Endpoint, ...]:
    """Every endpoint of a catalog, in the order the documents list them."""
    endpoints: list[Endpoint] = []
    for operation in catalog.instances:
        if isinstance(operation, PollingTrigger):
            endpoints += _polling_endpoints(operation)
        elif isinstance(operation, WebhookTrigger):
            endpoints += [_subscribe_endpoint(operation), _received_endpoint(operation)]
        else:
            endpoints.append(_endpoint(operation))
    if any(isinstance(operation, WebhookTrigger) for operation in catalog.instances):
        endpoints += SUBSCRIPTION_ENDPOINTS
    return tuple(endpoints)


def problems(statuses: dict[int, str]) -> tuple[Response, ...]:
    """Error answers, each a problem+json body (429 with its Retry-After header)."""
    return tuple(
        Response(s, statuses[s], PROBLEM, headers=(Header("Retry-After", RETRY_AFTER, "integer"),) if s == 429 else (), problem=True)
        for s in sorted(statuses)
    )  # fmt: skip


def _error_statuses(operation: Operation) -> dict[int, str]:
    statuses = {**COMMON_ERRORS, **{s: OPTIONAL_ERRORS[s] for s in operation.errors if s in OPTIONAL_ERRORS}}
    if operation.method == "GET":
        return {s: d for s, d in statuses.items() if s not in BODY_ERRORS}
    statuses[409] = f"{statuses[409]} Or: {IDEMPOTENCY_CONFLICT}" if 409 in statuses else IDEMPOTENCY_CONFLICT
    return statuses


def _success_description(operation: Operation) -> str:
    return operation.Output.__doc__.strip().split("\n")[0] if operation.Output.__doc__ else "Success."


IDEMPOTENCY_KEY = Parameter(
    HEADER,
    "header",
    False,
    IDEMPOTENCY_DESCRIPTION,
    "Idempotency Key",
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN.pattern},
    "advanced",
)


def _endpoint(operation: Operation, **changes: Any) -> Endpoint:
    """A declared action or lookup: GET takes its input as query parameters, POST as a JSON body."""
    success = Response(
        operation.status_code, _success_description(operation), operation.Output, operation.response_example
    )
    get = operation.method == "GET"
    values: dict[str, Any] = {
        "path": operation.path,
        "method": operation.method.lower(),
        "operation_id": operation.operation_id,
        "summary": operation.summary,
        "description": operation.description,
        "tag": operation.path_prefix.capitalize(),
        "responses": (success, *problems(_error_statuses(operation))),
        "query": operation.Input if get and operation.input_schema.fields else None,
        "parameters": () if get else (IDEMPOTENCY_KEY,),
        "body": None if get else Body(operation.Input, operation.input_required, operation.example),
        "visibility": operation.visibility,
        "declaration": operation,
    }
    values.update(changes)
    return Endpoint(**values)


def _subscribe_endpoint(trigger: WebhookTrigger) -> Endpoint:
    """Subscribing to a webhook trigger: no Idempotency-Key (a subscription is its own key)."""
    base = _endpoint(trigger)
    created, *errors = base.responses
    created = Response(
        created.status,
        created.description,
        created.schema,
        created.example,
        (Header("Location", "The subscription's URL: DELETE it to unsubscribe."),),
    )
    errors = [Response(409, TOO_MANY_SUBSCRIPTIONS, PROBLEM, problem=True) if e.status == 409 else e for e in errors]
    return _endpoint(
        trigger,
        responses=(created, *errors),
        parameters=(),
        trigger="single",
        notification=Notification(trigger.Event.__doc__ or "One event.", trigger.Event),
    )


def _polling_endpoints(trigger: PollingTrigger) -> list[Endpoint]:
    """Power Automate's polling form (state in the query, 202 when nothing is new) and the plain
    list of recent items that Zapier and Make poll."""
    errors = tuple(r for r in _endpoint(trigger).responses if not 200 <= r.status < 300)
    items = {"type": "array", "items": trigger.Event}
    state = Parameter(
        STATE,
        "query",
        False,
        "Where the previous poll stopped; written by this service into Location.",
        "Trigger State",
        {"type": "string", "maxLength": MAX_STATE},
        "internal",
    )
    poll_headers = tuple(Header(name, text) for name, text in POLL_HEADERS.items())
    polled = _endpoint(
        trigger,
        parameters=(state,),
        responses=(
            Response(200, "The new items, newest first.", items, headers=poll_headers),
            Response(202, "Nothing new yet: poll Location after Retry-After.", headers=poll_headers),
            *errors,
        ),
        trigger="batch",
        trigger_hint=POLL_HINT,
    )
    recent = _recent_endpoint(
        trigger,
        "The latest items, newest first, each with a stable id (for Zapier and Make), read upstream.",
        errors,
    )
    return [polled, recent]


RECENT_LIMIT = Parameter(
    LIMIT,
    "query",
    False,
    f"How many items at most, 1 to {MAX_LIMIT} (default {MAX_LIMIT}).",
    "Limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": MAX_LIMIT},
    "advanced",
)


def _recent_endpoint(
    trigger: PollingTrigger | WebhookTrigger, description: str, errors: tuple[Response, ...]
) -> Endpoint:
    """``GET <trigger>/recent``: the plain list Zapier (``performList`` and polling) and Make read."""
    query = trigger.RecentInput if isinstance(trigger, WebhookTrigger) else trigger.Input
    return _endpoint(
        trigger,
        path=f"{trigger.path}/recent",
        method="get",
        operation_id=f"{trigger.operation_id}Recent",
        summary=f"Recent items of {trigger.operation_id}",
        description=description,
        query=query if query().fields else None,
        parameters=(RECENT_LIMIT,),
        body=None,
        responses=(
            Response(200, "The latest items, newest first.", {"type": "array", "items": trigger.Event}),
            *errors,
        ),
        visibility="internal",
        trigger=None,
        recent_of=trigger.operation_id,
    )


def _received_endpoint(trigger: WebhookTrigger) -> Endpoint:
    """A webhook trigger's recent list: the events this service received for the caller's
    subscriptions to it, as they were delivered."""
    statuses = {s: d for s, d in COMMON_ERRORS.items() if s not in (*BODY_ERRORS, 404, 502, 504)}
    return _recent_endpoint(
        trigger,
        "The latest events received for your subscriptions to this trigger that match the parameters, newest "
        "first, exactly as they were delivered (same id); empty until a subscription has received one.",
        problems(statuses),
    )


def _subscription_endpoints() -> tuple[Endpoint, ...]:
    """Unsubscribe (no API key: Power Automate sends none) and the owner's read-only views."""
    subscription_id = Parameter(
        "subscription_id", "path", True, "The subscription's id.", "Subscription Id", {"type": "string"}
    )
    owner_errors = problems(
        {401: COMMON_ERRORS[401], 404: "No such subscription for this API key.", 429: COMMON_ERRORS[429]}
    )
    ended = problems({409: "The subscription has ended: subscribe again."})
    common: dict[str, Any] = {"tag": "Subscriptions", "parameters_first": True}
    endpoints = [
        Endpoint(
            "/subscriptions/{subscription_id}",
            "delete",
            "DeleteSubscription",
            "Delete a webhook subscription",
            "Ends the subscription, upstream too; deliveries stop. Needs no API key.",
            parameters=(subscription_id,),
            public=True,
            responses=(Response(204, "Unsubscribed (or already)."), *problems({404: "No such subscription."})),
            visibility="internal",
            **common,
        ),
        Endpoint(
            "/subscriptions",
            "get",
            "ListSubscriptions",
            "List my webhook subscriptions",
            "The webhook subscriptions made with this API key, newest first.",
            responses=(
                Response(200, "The subscriptions.", SubscriptionListSchema),
                *(r for r in owner_errors if r.status != 404),
            ),
            visibility="advanced",
            **common,
        ),
    ]
    for action, summary, description, body in (
        (
            "enable",
            "Enable a webhook subscription",
            "Delivers to the subscription again (after it was disabled for failing too long, or by its owner) "
            "and, unless retry_failed is false, sends its failed events again, oldest first.",
            Body(EnableSchema, False),
        ),
        (
            "disable",
            "Disable a webhook subscription",
            "Stops deliveries until the subscription is enabled again; its events are kept as failed meanwhile.",
            None,
        ),
    ):
        endpoints.append(
            Endpoint(
                f"/subscriptions/{{subscription_id}}/{action}",
                "post",
                f"{action.capitalize()}Subscription",
                summary,
                description,
                parameters=(subscription_id,),
                body=body,
                responses=(
                    Response(200, "The subscription's new state.", SubscriptionStateSchema),
                    *owner_errors,
                    *ended,
                ),
                visibility="advanced",
                **common,
            )
        )
    endpoints.append(
        Endpoint(
            "/subscriptions/{subscription_id}/deliveries",
            "get",
            "ListDeliveries",
            "List the recent deliveries of a subscription",
            "The events of a subscription with their status and every delivery attempt (time, status code, "
            "duration, error), newest first, a page at a time, optionally of one status.",
            parameters=(subscription_id,),
            query=DeliveryQuerySchema,
            responses=(
                Response(200, "The deliveries, newest first.", DeliveryListSchema),
                *owner_errors,
                *problems({422: COMMON_ERRORS[422]}),
            ),
            visibility="advanced",
            **common,
        )
    )
    webhook_id = Parameter(
        "webhook_id", "path", True, "The event's webhook-id.", "Webhook Id", {"type": "string", "maxLength": 40}
    )
    not_resendable = problems({409: "The subscription is disabled or has ended, or the event is not failed."})
    endpoints.append(
        Endpoint(
            "/subscriptions/{subscription_id}/deliveries/{webhook_id}/retry",
            "post",
            "RetryDelivery",
            "Retry a failed delivery now",
            "Sends one failed event of an active subscription again now, with its original webhook-id and a "
            "fresh retry schedule (a pending event waiting for its next try is tried now).",
            parameters=(subscription_id, webhook_id),
            responses=(
                Response(200, "The event is queued again.", ResentSchema),
                *(r for r in owner_errors if r.status != 404),
                *problems({404: "No such subscription, or no such event in it, for this API key."}),
                *not_resendable,
            ),
            visibility="advanced",
            **common,
        )
    )
    endpoints.append(
        Endpoint(
            "/subscriptions/{subscription_id}/replay",
            "post",
            "ReplayDeliveries",
            "Replay deliveries since a time",
            "Delivers again every delivered or failed event of an active subscription received since the time "
            "given, oldest first, each with its original webhook-id so subscribers that deduplicate stay correct.",
            parameters=(subscription_id,),
            body=Body(ReplaySchema, True, {"since": "2026-11-27T09:00:00Z"}),
            responses=(
                Response(200, "The events queued again.", ResentSchema),
                *owner_errors,
                *problems({s: COMMON_ERRORS[s] for s in (400, 413, 422)}),
                *problems({409: "The subscription is disabled or has ended."}),
            ),
            visibility="advanced",
            **common,
        )
    )
    endpoints.append(
        Endpoint(
            "/deliveries/summary",
            "get",
            "DeliverySummary",
            "Count my deliveries of the last 24 hours",
            "How many events received in the last 24 hours by this API key's subscriptions are pending, "
            "delivered, failed or cancelled now.",
            responses=(
                Response(200, "The counts.", DeliverySummarySchema),
                *(r for r in owner_errors if r.status != 404),
            ),
            visibility="advanced",
            **common,
        )
    )
    return tuple(endpoints)


SUBSCRIPTION_ENDPOINTS = _subscription_endpoints()
