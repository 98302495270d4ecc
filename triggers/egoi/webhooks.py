"""E-goi's webhooks: contact events of a list (Marketing API v3) and the status changes of
transactional SMS and email (Transactional API v2).

Both APIs POST a batch, a JSON array of ``{"action", "actionDate", "data"}`` (the
transactional spec's Webhooks section shows it, with ``actionDate`` in epoch milliseconds). Neither
sends an event id, so an event's key is the digest of its content (``content_key``): the same event
sent twice has the same key and is delivered once.

Shapes assumed where the specs are silent (noted again in the events' descriptions):

- v3 documents the webhook registration (``POST /webhooks`` with ``list_id``, ``url``, ``actions``;
  ``DELETE /webhooks/{id}``) but not the body it sends. It is taken to be the same batch as the
  transactional one, with the contact's fields in ``data``, flat (``contact_id``, ``list_id``,
  ``email``, ...) or under ``base``; ``data`` is also passed on whole.
- The transactional body carries no channel: an event is email when its ``data`` has
  ``recipientEmail`` and SMS when it has ``recipientMobile``.
- Transactional webhooks are one per channel (``POST /webhooks`` with ``channel``, answering
  ``{"webhookId"}``); removing one is ``DELETE /webhooks?id=…&channel=…`` (the spec's parameters;
  the published page names ``url`` instead, which is sent too: it is this subscription's own URL).
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from actions.egoi.fields import list_id
from connector import fields as f
from connector.declarations import OutputSchema
from connector.errors import Problem
from connector.triggers import SubscribeSchema, WebhookTrigger, content_key
from connector.upstream import UpstreamCall, UpstreamError

# The v3 spec's WebhookActionSchema, in its order.
CONTACT_ACTIONS = (
    "forget_subscription",
    "change_consent",
    "web_push_bounce",
    "web_push_click",
    "web_push_delivered",
    "web_push_open",
    "web_push_send",
    "web_push_subscription",
    "web_push_unsubscription",
    "email_send",
    "email_open",
    "email_click",
    "email_soft_bounce",
    "email_hard_bounce",
    "sms_send",
    "sms_delivered",
    "voice_send",
    "unsubscribe",
    "subscription",
    "edit_subscription",
    "resubscription",
    "facebook_like",
    "social_share",
    "double_optin",
    "email_spam_complaint",
    "email_field_disable",
    "cellphone_field_disable",
    "phone_field_disable",
    "push_send",
    "push_open",
    "push_click",
    "push_received",
    "push_error",
    "push_canceled",
    "new_order",
    "cart_update",
    "goal_conversion",
    "product_view",
)
# The transactional spec's Webhook_Email and Webhook_Sms action enums (email has no "delivered" in
# the spec's enum although its hooks table lists it; SMS has no opens, clicks, bounces or abuse).
MESSAGE_ACTIONS_BY_CHANNEL = {
    "email": ("processed", "failed", "sent", "canceled", "click", "view", "remove", "bounce", "abuse"),
    "sms": ("processed", "failed", "sent", "delivered", "canceled"),
}
MESSAGE_CHANNELS = tuple(MESSAGE_ACTIONS_BY_CHANNEL)
MESSAGE_ACTIONS = tuple(dict.fromkeys(a for actions in MESSAGE_ACTIONS_BY_CHANNEL.values() for a in actions))


def _choices(choices: tuple[str, ...], summary: str, description: str, example: list[str]) -> f.List:
    return f.List(
        f.Choice(choices),
        required=True,
        validate=validate.Length(min=1, error="Pick at least one."),
        summary=summary,
        description=description,
        visibility="important",
        example=example,
    )


def _items(payload: Any) -> list[dict[str, Any]]:
    """The events of one callback body: a batch (array), or a single event object."""
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list) or not all(isinstance(item, dict) for item in payload):
        raise ValueError("expected an array of events")
    return payload


def _when(value: Any) -> str | None:
    """``actionDate``/``createDate`` as ISO 8601: epoch milliseconds (the transactional API) are
    converted to UTC; a string is kept as sent."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value / 1000, UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)


def _unique(pairs: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """One event per key: a batch that repeats an event yields it once."""
    seen: set[str] = set()
    return [(key, event) for key, event in pairs if not (key in seen or seen.add(key))]


# --- contact events (Marketing API v3) ---------------------------------------------------------------


class ContactEventInput(SubscribeSchema):
    """The list and the actions to be told about."""

    list_id = list_id()
    actions = _choices(
        CONTACT_ACTIONS,
        "Actions",
        "What to be told about: subscription, unsubscribe, edit_subscription, email_open, email_click, ... "
        "(E-goi's webhook actions).",
        ["subscription", "unsubscribe"],
    )


class ContactEventOutput(OutputSchema):
    """One contact event E-goi sent."""

    id = f.String(required=True, summary="Event Id", description="Digest of the event's content: stable, unique.")
    action = f.String(required=True, summary="Action", description="What happened, as E-goi names it.")
    action_date = f.Timestamp(
        summary="Action Date", description="When it happened, ISO 8601 (a time E-goi sends without a zone is UTC)."
    )
    list_id = f.Integer(summary="List Id", description="The list of the contact.")
    contact_id = f.String(summary="Contact Id", description="The contact the event is about.")
    email = f.String(summary="Email", description="Email address of the contact, when E-goi sends it.")
    cellphone = f.String(summary="Cellphone", description="Cellphone of the contact, when E-goi sends it.")
    first_name = f.String(summary="First Name", description="First name of the contact, when E-goi sends it.")
    last_name = f.String(summary="Last Name", description="Last name of the contact, when E-goi sends it.")
    data = f.Dict(summary="Data", description="Everything E-goi sent about the event, as sent.")


def _contact_event(item: dict[str, Any], key: str, subscribed_list: int | None = None) -> dict[str, Any]:
    """The event of one batch item; ``list_id`` is the subscription's list when E-goi sends none
    (its webhooks are registered per list)."""
    data = item.get("data") if isinstance(item.get("data"), dict) else {}
    flat = {**(data.get("base") if isinstance(data.get("base"), dict) else {}), **data}
    list_id_ = flat.get("list_id")
    event = {
        "id": key,
        "action": str(item.get("action")),
        "action_date": _when(item.get("actionDate")),
        "list_id": int(list_id_) if isinstance(list_id_, int | str) and str(list_id_).isdigit() else subscribed_list,
        "data": data,
    }
    for name in ("contact_id", "email", "cellphone", "first_name", "last_name"):
        event[name] = _text(flat.get(name))
    return event


class WhenContactEvent(WebhookTrigger):
    key = "when_contact_event"
    operation_id = "WhenContactEvent"
    summary = "When something happens to a contact of a list"
    description = (
        "Triggers when E-goi reports one of the chosen actions on a contact of the list: subscriptions, "
        "unsubscriptions, edits, opens, clicks, bounces and more, one event per action."
    )
    visibility = "important"
    upstream = "marketing"
    Input = ContactEventInput
    Event = ContactEventOutput
    example = {"callback_url": "https://example.com/hook", "list_id": 1, "actions": ["subscription"]}

    def subscribe(self, data: dict[str, Any], upstream: UpstreamCall, receiver_url: str) -> dict[str, Any]:
        body = {"list_id": data["list_id"], "url": receiver_url, "actions": list(dict.fromkeys(data["actions"]))}
        created = upstream.post("/webhooks", json=body)
        webhook_id = created.get("webhook_id") if isinstance(created, dict) else None
        if not isinstance(webhook_id, int | str) or isinstance(webhook_id, bool):
            raise Problem(502, "E-goi created the webhook but returned no webhook id.")
        return {"webhook_id": webhook_id}

    def unsubscribe(self, upstream: UpstreamCall, reference: dict[str, Any]) -> None:
        try:
            upstream.delete(f"/webhooks/{reference['webhook_id']}")
        except UpstreamError as exc:
            if exc.upstream_status != 404:
                raise

    def split(self, payload: Any, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        wanted = set(data.get("actions") or ())
        pairs = []
        for item in _items(payload):
            if item.get("action") not in wanted:
                continue
            key = content_key(item)
            pairs.append((key, _contact_event(item, key, data.get("list_id"))))
        return _unique(pairs)

    def wants(self, event: dict[str, Any], data: dict[str, Any]) -> bool:
        """The list (by the default rule) and one of the actions asked for."""
        return super().wants(event, data) and event.get("action") in set(data.get("actions") or ())


# --- transactional message status (Transactional API v2) ---------------------------------------------


class MessageStatusInput(SubscribeSchema):
    """The channels and the statuses to be told about."""

    channels = _choices(MESSAGE_CHANNELS, "Channels", "Transactional messages of these channels: email, sms.", ["sms"])
    actions = _choices(
        MESSAGE_ACTIONS,
        "Statuses",
        "The statuses to be told about. Email: processed, sent, failed, canceled, bounce, view (opened), click, "
        "abuse, remove. SMS: processed, sent, delivered, failed, canceled.",
        ["delivered", "failed"],
    )

    @validates_schema
    def _each_channel_has_an_action(self, data: dict[str, Any], **kwargs: Any) -> None:
        for channel in data.get("channels", ()):
            if not set(data.get("actions", ())) & set(MESSAGE_ACTIONS_BY_CHANNEL[channel]):
                valid = ", ".join(MESSAGE_ACTIONS_BY_CHANNEL[channel])
                raise ValidationError(f"Pick at least one status of {channel}: {valid}.", field_name="actions")


class MessageStatusOutput(OutputSchema):
    """One status change of a transactional message."""

    id = f.String(required=True, summary="Event Id", description="Digest of the event's content: stable, unique.")
    action = f.String(required=True, summary="Status", description="The status reached: sent, delivered, view, ...")
    action_date = f.Timestamp(summary="Status Date", description="When it was reached, ISO 8601 in UTC.")
    channel = f.String(summary="Channel", description="email or sms, from the recipient E-goi sent.")
    message_id = f.String(summary="Message Id", description="The id of the message, as the send returned it.")
    recipient = f.String(summary="Recipient", description="The email address or mobile number of the recipient.")
    recipient_id = f.String(summary="Recipient Id", description="E-goi's id of the recipient.")
    group_id = f.String(summary="Group Id", description="The group of the message.")
    sender = f.String(summary="Sender", description="The sender's mobile number or email, when sent.")
    created = f.Timestamp(summary="Created", description="When the message was created, ISO 8601 in UTC.")
    custom_data = f.String(summary="Custom Data", description="The customData given when sending, as given.")
    data = f.Dict(summary="Data", description="Everything E-goi sent about the event, as sent.")


def _channel(data: dict[str, Any]) -> str | None:
    if "recipientEmail" in data:
        return "email"
    if "recipientMobile" in data:
        return "sms"
    return None


def _message_event(item: dict[str, Any], key: str) -> dict[str, Any]:
    data = item.get("data") if isinstance(item.get("data"), dict) else {}
    return {
        "id": key,
        "action": str(item.get("action")).lower(),
        "action_date": _when(item.get("actionDate")),
        "channel": _channel(data),
        "message_id": _text(data.get("messageId")),
        "recipient": _text(data.get("recipientEmail", data.get("recipientMobile"))),
        "recipient_id": _text(data.get("recipientId")),
        "group_id": _text(data.get("groupId")),
        "sender": _text(data.get("senderMobile", data.get("senderEmail"))),
        "created": _when(data.get("createDate")),
        "custom_data": _text(data.get("customData")),
        "data": data,
    }


class WhenMessageStatusChanges(WebhookTrigger):
    key = "when_message_status_changes"
    operation_id = "WhenMessageStatusChanges"
    summary = "When a transactional message changes status"
    description = (
        "Triggers when a transactional SMS or email sent through E-goi reaches one of the chosen statuses: "
        "processed, sent, delivered, failed, bounce, view, click or abuse."
    )
    visibility = "important"
    upstream = "transactional"
    Input = MessageStatusInput
    Event = MessageStatusOutput
    example = {"callback_url": "https://example.com/hook", "channels": ["sms"], "actions": ["delivered"]}

    def subscribe(self, data: dict[str, Any], upstream: UpstreamCall, receiver_url: str) -> dict[str, Any]:
        """One upstream webhook per channel, with the statuses that channel has; if one fails, those
        already made are removed again, so nothing is left registered upstream."""
        made: list[dict[str, str]] = []
        reference = {"url": receiver_url, "webhooks": made}
        try:
            for channel in dict.fromkeys(data["channels"]):
                actions = [a for a in dict.fromkeys(data["actions"]) if a in MESSAGE_ACTIONS_BY_CHANNEL[channel]]
                created = upstream.post("/webhooks", json={"url": receiver_url, "channel": channel, "actions": actions})
                webhook_id = created.get("webhookId") if isinstance(created, dict) else None
                if not isinstance(webhook_id, str | int) or isinstance(webhook_id, bool):
                    raise Problem(502, "E-goi created the webhook but returned no webhook id.")
                made.append({"channel": channel, "id": str(webhook_id)})
        except BaseException:
            with suppress(Exception):  # the first failure is the one to report
                self.unsubscribe(upstream, reference)
            raise
        return reference

    def unsubscribe(self, upstream: UpstreamCall, reference: dict[str, Any]) -> None:
        for webhook in reference.get("webhooks", ()):
            params = {"id": webhook["id"], "channel": webhook["channel"], "url": reference.get("url", "")}
            try:
                upstream.request("DELETE", "/webhooks", params=params)
            except UpstreamError as exc:
                if exc.upstream_status != 404:
                    raise

    def split(self, payload: Any, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        pairs = []
        for item in _items(payload):
            key = content_key(item)
            event = _message_event(item, key)
            if not self.wants(event, data):
                continue
            pairs.append((key, event))
        return _unique(pairs)

    def wants(self, event: dict[str, Any], data: dict[str, Any]) -> bool:
        """One of the statuses asked for, on one of the channels (an event whose channel cannot be told
        is kept)."""
        channels = set(data.get("channels") or MESSAGE_CHANNELS)
        channel = event.get("channel")
        return event.get("action") in set(data.get("actions") or ()) and (channel is None or channel in channels)
