"""Trigger declarations: polling triggers and webhook triggers, read by the runtime and the specs.

A trigger is declared like an action (key, operation_id, summary, Input), plus ``Event``: the
schema of one item it emits. Each kind adds the few methods only the vendor can write:

- :class:`PollingTrigger` — ``start`` returns a cursor at "now" (nothing emitted: a new flow starts
  from its creation), ``poll`` returns what is new since a cursor, oldest first, and the advanced
  cursor; ``recent`` the latest ``limit`` items, newest first, for Zapier and Make. The framework
  keeps the cursor in Power Automate's ``triggerState`` and answers 202/200 with ``Location`` and
  ``Retry-After``.
- :class:`WebhookTrigger` — ``subscribe`` registers the framework's receiver URL upstream and returns
  what ``unsubscribe`` needs later; ``split`` turns one upstream callback body into events, each with
  a key that is the same when the upstream sends the same event twice. The framework stores, signs
  and delivers them (see ``connector.webhooks.delivery``); its ``recent`` list (Zapier's
  ``performList``) is the events it received for the caller's subscriptions, which ``wants`` narrows
  to the parameters asked for.

Every item a trigger emits, whichever way (a poll, a recent list, a delivery), is dumped by
:func:`event_dumper`: every field of ``Event`` present, ``null`` when it has no value, so the items
of one trigger always have the same keys.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import orjson
from marshmallow import Schema, ValidationError, fields, pre_load

from connector import fields as f
from connector.declarations import InputSchema, Operation, OutputSchema
from connector.upstream import UpstreamCall

# Power Automate keeps a polling trigger's cursor in this query parameter of the Location it polls
# (https://learn.microsoft.com/connectors/custom-connectors/create-polling-trigger); the runtime
# writes it and the specs document it.
STATE = "triggerState"
MAX_STATE = 4096  # characters of triggerState accepted back
# ``GET .../recent?limit=``: Zapier handles up to 100 new items per poll, so 100 is both the most
# and the default (https://docs.zapier.com/platform/build/operating-constraints); Make lets users pick less.
LIMIT, MAX_LIMIT = "limit", 100
CALLBACK_FIELDS = ("callback_url", "target_url")


def event_dumper(schema: Schema) -> Any:
    """``dump(item or items)`` with every field of ``schema`` present, ``None`` where it has no value,
    nested schemas included: a subscriber maps the same keys whether or not an item has them."""
    many = schema.many

    def complete(shape: Schema, value: Any) -> Any:
        if isinstance(value, list):
            return [complete(shape, item) for item in value]
        if not isinstance(value, dict):
            return value
        for name, field in shape.dump_fields.items():
            key = field.data_key or name
            if key not in value:
                value[key] = None
            elif isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
                value[key] = complete(field.schema, value[key])
            elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
                value[key] = complete(field.inner.schema, value[key])
        return value

    def dump(items: Any) -> Any:
        dumped = schema.dump(items)
        return [complete(schema, item) for item in dumped] if many else complete(schema, dumped)

    return dump


class Trigger(Operation):
    path_prefix = "triggers"
    Event: ClassVar[type[Schema]]

    @classmethod
    def check(cls) -> list[str]:
        problems = super().check()
        if not hasattr(cls, "Event"):
            problems.append(f"{getattr(cls, 'key', cls.__name__)}: Event schema is required")
        elif "id" not in cls.Event().fields:
            problems.append(f"{cls.key}: Event needs an `id` field (Zapier and Make deduplicate on it)")
        if LIMIT in getattr(cls, "Input", Schema)().fields:
            problems.append(f"{getattr(cls, 'key', cls.__name__)}: `{LIMIT}` is the recent list's own parameter")
        return problems


class PollingTrigger(Trigger):
    """``GET /<catalog>/triggers/<key>`` (Power Automate) and ``.../recent`` (Zapier, Make)."""

    method = "GET"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Event" in cls.__dict__:
            cls.Output = cls.Event  # what a poll outputs is its events

    def __init__(self) -> None:
        self.input_schema = self.Input()
        self.output_schema = self.Event(many=True)

    def start(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        """A cursor at the present: the first poll emits nothing and costs at most one call."""
        raise NotImplementedError

    def poll(self, data: dict[str, Any], upstream: UpstreamCall, cursor: Any) -> tuple[list[dict[str, Any]], Any]:
        """Items new since ``cursor``, oldest first, and the cursor after them. Raise on any upstream
        failure (never return a partial list with an advanced cursor)."""
        raise NotImplementedError

    def recent(self, data: dict[str, Any], upstream: UpstreamCall, limit: int) -> list[dict[str, Any]]:
        """The latest ``limit`` items (1 to ``MAX_LIMIT``), newest first."""
        raise NotImplementedError


class SubscribeSchema(InputSchema):
    """Base of a webhook trigger's input: where to deliver. Power Automate fills ``callback_url``
    itself (``x-ms-notification-url``); Zapier's REST hooks send ``target_url``. Either is accepted,
    both when they are equal."""

    callback_url = f.String(
        required=True,
        summary="Callback URL",
        description="Where events are delivered (Power Automate fills this in). target_url is accepted instead.",
        visibility="internal",
        max_length=2048,
        metadata={"x-ms-notification-url": True},
    )
    target_url = f.String(
        summary="Target URL",
        description="Where events are delivered, by the name Zapier's REST hooks give it: send it or callback_url "
        "(both only when they are the same URL).",
        visibility="internal",
        max_length=2048,
    )

    @pre_load
    def _one_callback_url(self, data: Any, **kwargs: Any) -> Any:
        """``target_url`` becomes ``callback_url``; two different URLs are a 422 naming ``target_url``."""
        target = data.get("target_url") if isinstance(data, dict) else None
        if not isinstance(target, str) or target == "":
            return data
        callback = data.get("callback_url")
        if callback not in (None, "") and callback != target:
            raise ValidationError(
                "callback_url and target_url are two names of one URL and differ here: send one of them.",
                field_name="target_url",
            )
        return {**{k: v for k, v in data.items() if k != "target_url"}, "callback_url": target}


def recent_input(schema: type[Schema]) -> type[Schema]:
    """A webhook trigger's input without the callback URL: the parameters of its recent list."""
    meta = type("Meta", (getattr(schema, "Meta", object),), {"exclude": CALLBACK_FIELDS})
    doc = "The trigger's parameters, as when subscribing, to narrow its recent events."
    return type(f"{schema.__name__}Recent", (schema,), {"Meta": meta, "__doc__": doc, "__module__": schema.__module__})


class SubscriptionSchema(OutputSchema):
    """The subscription created: its id, and the secret that signs its deliveries."""

    id = f.String(required=True, summary="Subscription Id", description="Unsubscribe with DELETE on its URL.")
    secret = f.String(
        required=True,
        summary="Signing Secret",
        description="Verifies the webhook-signature header of each delivery (Standard Webhooks).",
    )
    url = f.String(required=True, summary="Subscription URL", description="DELETE this URL to unsubscribe.")


class SubscriptionInfoSchema(OutputSchema):
    """One webhook subscription, as its owner sees it."""

    id = f.String(required=True, summary="Subscription Id", description="The subscription's id.")
    trigger = f.String(required=True, summary="Trigger", description="The trigger's key.")
    callback_url = f.String(
        required=True,
        summary="Callback URL",
        description="Scheme, host and path of where events are delivered; the query string, which can hold "
        "a signature, is never shown.",
    )
    params = f.Dict(summary="Parameters", description="The trigger's parameters.")
    status = f.String(
        required=True,
        summary="Status",
        description="active; disabled (deliveries failed for too long, or its owner disabled it: enable it "
        "again with POST on its URL + /enable); or ended.",
    )
    ended_reason = f.String(summary="Ended Because", description="Why it ended, when it has.")
    disabled_reason = f.String(summary="Disabled Because", description="Why it is disabled, when it is.")
    failing_since = f.Timestamp(
        summary="Failing Since",
        description="When the first failed delivery since the last success was, while deliveries fail (ISO 8601, UTC).",
    )
    created_at = f.Timestamp(
        required=True, summary="Created At", description="When the subscription was made (ISO 8601, UTC)."
    )
    last_delivered_at = f.Timestamp(
        summary="Last Delivery At", description="When the latest event was delivered, if any was (ISO 8601, UTC)."
    )


class SubscriptionListSchema(OutputSchema):
    """The caller's webhook subscriptions, newest first."""

    items = f.List(f.Nested(SubscriptionInfoSchema), required=True, summary="Items", description="Subscriptions.")


class EnableSchema(InputSchema):
    """Options of re-enabling a subscription."""

    retry_failed = f.Boolean(
        summary="Retry Failed Events",
        description="Send the subscription's failed events again, oldest first (default true).",
    )


class SubscriptionStateSchema(OutputSchema):
    """A subscription after enabling or disabling it."""

    id = f.String(required=True, summary="Subscription Id", description="The subscription's id.")
    status = f.String(required=True, summary="Status", description="active or disabled.")
    requeued = f.Integer(required=True, summary="Events Queued Again", description="Failed events queued again.")


class AttemptSchema(OutputSchema):
    """One try at delivering an event."""

    attempted_at = f.Timestamp(
        required=True, summary="Attempted At", description="When the send started (ISO 8601, UTC)."
    )
    status_code = f.Integer(
        summary="Status Code", description="The subscriber's HTTP status; absent when it did not answer."
    )
    duration_ms = f.Integer(summary="Duration (ms)", description="Milliseconds the send took.")
    error = f.String(summary="Error", description="Why the attempt failed, if it did.")


class DeliverySchema(OutputSchema):
    """One event of a subscription and how its delivery went."""

    webhook_id = f.String(required=True, summary="Webhook Id", description="The webhook-id header it is sent with.")
    status = f.String(required=True, summary="Status", description="pending, delivered, failed or cancelled.")
    attempts = f.Integer(
        required=True,
        summary="Attempts",
        description="Sends tried since it was last queued (a retry or replay starts again at 0); attempt_log "
        "keeps every one.",
    )
    last_status = f.Integer(summary="Last Status", description="The subscriber's last HTTP status, if any.")
    last_error = f.String(summary="Last Error", description="Why the last attempt failed, if it did.")
    created_at = f.Timestamp(
        required=True, summary="Received At", description="When the event was received (ISO 8601, UTC)."
    )
    delivered_at = f.Timestamp(summary="Delivered At", description="When it was delivered, once it is (ISO 8601, UTC).")
    next_attempt_at = f.Timestamp(
        summary="Next Attempt At", description="When the next try is due, while pending (ISO 8601, UTC)."
    )
    attempt_log = f.List(
        f.Nested(AttemptSchema), summary="Attempt Log", description="Every attempt kept, oldest first."
    )


class DeliveryListSchema(OutputSchema):
    """A subscription's latest events, newest first."""

    items = f.List(f.Nested(DeliverySchema), required=True, summary="Items", description="Deliveries.")
    next_before = f.Integer(
        summary="Next Page",
        description="Pass as before to read the next (older) page; absent on the last page.",
    )


EVENT_STATUSES = ("pending", "delivered", "failed", "cancelled")


class DeliveryQuerySchema(InputSchema):
    """Which events of a subscription to list."""

    status = f.Choice(EVENT_STATUSES, summary="Status", description="Only the events in this status.")
    limit = f.BoundedInteger(
        minimum=1, maximum=100, summary="Page Size", description="How many events per page (default 20)."
    )
    before = f.Id(summary="Before", description="The next_before of the previous page.")


class ReplaySchema(InputSchema):
    """Which events of a subscription to deliver again."""

    since = f.String(
        required=True,
        max_length=40,
        summary="Since",
        description="RFC 3339 date-time with a time zone (2026-11-27T09:00:00Z): events received from then on "
        "are delivered again, oldest first, with their original webhook-id.",
        example="2026-11-27T09:00:00Z",
    )


class ResentSchema(OutputSchema):
    """Events queued to be delivered again."""

    id = f.String(required=True, summary="Subscription Id", description="The subscription's id.")
    requeued = f.Integer(required=True, summary="Events Queued Again", description="Events queued again, due now.")


class DeliverySummarySchema(OutputSchema):
    """Events received in the last 24 hours by this API key's subscriptions, by their status now."""

    since = f.Float(required=True, summary="Since", description="Unix time the count starts at (24 hours ago).")
    pending = f.Integer(required=True, summary="Pending", description="Events not yet delivered, retries to come.")
    delivered = f.Integer(required=True, summary="Delivered", description="Events delivered.")
    failed = f.Integer(
        required=True, summary="Failed", description="Events whose retries ran out (or held while disabled)."
    )
    cancelled = f.Integer(required=True, summary="Cancelled", description="Events of subscriptions that ended.")


class WebhookTrigger(Trigger):
    """``POST /<catalog>/triggers/<key>`` subscribes; ``DELETE`` on the returned Location ends it.
    ``GET .../recent`` lists the events already received for the caller's subscriptions to it."""

    method = "POST"
    status_code = 201
    Input: ClassVar[type[Schema]] = SubscribeSchema
    RecentInput: ClassVar[type[Schema]]
    Output: ClassVar[type[Schema]] = SubscriptionSchema  # the events are x-ms-notification-content

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Input" in cls.__dict__ and "RecentInput" not in cls.__dict__:
            cls.RecentInput = recent_input(cls.Input)

    def __init__(self) -> None:
        self.input_schema = self.Input()
        self.output_schema = SubscriptionSchema()
        self.event_schema = self.Event()
        self.recent_schema = self.RecentInput()

    def subscribe(self, data: dict[str, Any], upstream: UpstreamCall, receiver_url: str) -> dict[str, Any]:
        """Register ``receiver_url`` upstream; return what ``unsubscribe`` needs (kept encrypted)."""
        raise NotImplementedError

    def unsubscribe(self, upstream: UpstreamCall, reference: dict[str, Any]) -> None:
        """Remove the upstream registration; one that is already gone is not an error."""
        raise NotImplementedError

    def split(self, payload: Any, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """One upstream callback body → ``(event key, event)`` pairs, events already in ``Event``'s
        shape; events the subscriber did not ask for are left out."""
        raise NotImplementedError

    def wants(self, event: dict[str, Any], data: dict[str, Any]) -> bool:
        """Whether a received ``event`` belongs in the recent list asked for with ``data`` (the
        parameters, without the callback URL). By default each single-valued parameter that is also an
        Event field must equal the event's; a trigger with other filters (a list of actions) adds them."""
        names = self.event_schema.fields
        return all(
            event.get(name) == value
            for name, value in data.items()
            if name in names and not isinstance(value, list | dict)
        )


WebhookTrigger.RecentInput = recent_input(SubscribeSchema)


def content_key(item: Any) -> str:
    """An event key for upstreams that send no event id: the digest of the event's content."""
    return hashlib.sha256(orjson.dumps(item, option=orjson.OPT_SORT_KEYS)).hexdigest()
