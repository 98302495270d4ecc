"""Trigger declarations: polling triggers and webhook triggers, read by the runtime and the specs.

A trigger is declared like an action (key, operation_id, summary, Input), plus ``Event``: the
schema of one item it emits. Each kind adds the few methods only the vendor can write:

- :class:`PollingTrigger` — ``start`` returns a cursor at "now" (nothing emitted: a new flow starts
  from its creation), ``poll`` returns what is new since a cursor, oldest first, and the advanced
  cursor; ``recent`` the latest items, newest first, for Zapier and Make. The framework keeps the
  cursor in Power Automate's ``triggerState`` and answers 202/200 with ``Location`` and ``Retry-After``.
- :class:`WebhookTrigger` — ``subscribe`` registers the framework's receiver URL upstream and returns
  what ``unsubscribe`` needs later; ``split`` turns one upstream callback body into events, each with
  a key that is the same when the upstream sends the same event twice. The framework stores, signs
  and delivers them (see ``connector.webhooks.delivery``).
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import orjson
from marshmallow import Schema, pre_load

from connector import fields as f
from connector.declarations import InputSchema, Operation, OutputSchema
from connector.upstream import UpstreamCall

# Power Automate keeps a polling trigger's cursor in this query parameter of the Location it polls
# (https://learn.microsoft.com/connectors/custom-connectors/create-polling-trigger); the runtime
# writes it and the specs document it.
STATE = "triggerState"
MAX_STATE = 4096  # characters of triggerState accepted back


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
        return problems


class PollingTrigger(Trigger):
    """``GET /<catalog>/triggers/<key>`` (Power Automate) and ``.../recent`` (Zapier, Make)."""

    method = "GET"
    recent_limit: ClassVar[int] = 25

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
        """The latest items, newest first."""
        raise NotImplementedError


class SubscribeSchema(InputSchema):
    """Base of a webhook trigger's input: where to deliver. Power Automate fills ``callback_url``
    itself (``x-ms-notification-url``); Zapier's REST hooks send ``target_url``, accepted as an alias."""

    callback_url = f.String(
        required=True,
        summary="Callback URL",
        description="Where events are delivered (Power Automate fills this in).",
        visibility="internal",
        max_length=2048,
        metadata={"x-ms-notification-url": True},
    )

    @pre_load
    def _zapier_target_url(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and "target_url" in data and "callback_url" not in data:
            data = {**data, "callback_url": data["target_url"]}
            del data["target_url"]
        return data


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
    failing_since = f.Float(
        summary="Failing Since",
        description="Unix time of the first failed delivery since the last success, while deliveries fail.",
    )
    created_at = f.Float(required=True, summary="Created At", description="Unix time of the subscription.")
    last_delivered_at = f.Float(
        summary="Last Delivery At", description="Unix time of the latest event delivered, if any was."
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

    attempted_at = f.Float(required=True, summary="Attempted At", description="Unix time the send started.")
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
    created_at = f.Float(required=True, summary="Received At", description="Unix time the event was received.")
    delivered_at = f.Float(summary="Delivered At", description="Unix time of the delivery, once delivered.")
    next_attempt_at = f.Float(summary="Next Attempt At", description="Unix time of the next try, while pending.")
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
    """``POST /<catalog>/triggers/<key>`` subscribes; ``DELETE`` on the returned Location ends it."""

    method = "POST"
    status_code = 201
    Input: ClassVar[type[Schema]] = SubscribeSchema
    Output: ClassVar[type[Schema]] = SubscriptionSchema  # the events are x-ms-notification-content

    def __init__(self) -> None:
        self.input_schema = self.Input()
        self.output_schema = SubscriptionSchema()
        self.event_schema = self.Event()

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


def content_key(item: Any) -> str:
    """An event key for upstreams that send no event id: the digest of the event's content."""
    return hashlib.sha256(orjson.dumps(item, option=orjson.OPT_SORT_KEYS)).hexdigest()
