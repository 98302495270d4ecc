"""Transactional messages (Transactional API v2): the fields SMS and email share, and cancelling
a scheduled message before it is sent."""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import Schema, validate

from connector import fields as f
from connector.declarations import Action, InputSchema, OutputSchema
from connector.errors import Problem
from connector.upstream import UpstreamCall

PRIORITIES = ("urgent", "non-urgent")
# ``tagName:tagValue``: a name without colons or spaces, a colon, then any value (colons allowed).
MERGE_TAG_PATTERN = r"^[^:\s]+:[\s\S]*$"
MERGE_TAG_MESSAGE = "Not a valid merge tag: expected tagName:tagValue (for example name:Ana)."
# Message ids travel in the URL path: letters, digits, hyphens and underscores only.
MESSAGE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MESSAGE_ID_MESSAGE = "Not a valid message id: expected 1 to 64 letters, digits, hyphens or underscores (e.g. 1234)."
MESSAGE_ID_MAX = 64
# Lengths of the transactional fields, ours: E-goi's Transactional API documentation
# (https://developers.e-goi.com/api/transactional/) gives none.
SENDER_ID_MAX = 64  # a sender's id, as text
MERGE_TAG_MAX = 2000  # one tagName:tagValue; a value may be a sentence or a paragraph of the message
CUSTOM_DATA_MAX = 1024  # returned in the status webhooks, so kept small
GROUP_MAX = 255  # a report label


def merge_tags() -> f.List:
    return f.List(
        f.String(max_length=MERGE_TAG_MAX, validate=f.FullMatch(MERGE_TAG_PATTERN, error=MERGE_TAG_MESSAGE)),
        summary="Merge Tags",
        description="Values for the gaps in the text, each as tagName:tagValue (for example name:Ana).",
        visibility="advanced",
        example=["name:Ana"],
    )


def schedule_to() -> f.DateTime:
    """E-goi's Transactional API takes ``scheduleTo`` as ``yyyy-MM-dd HH:mm:ss``
    (https://developers.e-goi.com/api/transactional/); the framework's DateTime also takes ISO 8601
    with an offset (``2030-01-15T09:00:00+00:00``, as Zapier writes it) and sends it in that form, in UTC."""
    return f.DateTime(
        summary="Schedule To",
        description="When to send the message, as yyyy-MM-dd HH:mm:ss (UTC) or ISO 8601 with an offset; "
        "sent at once when not set.",
        visibility="advanced",
        example="2026-12-31 09:30:00",
    )


def priority() -> f.Choice:
    return f.Choice(
        PRIORITIES,
        summary="Priority",
        description="Priority of the message: urgent or non-urgent (the default).",
        visibility="advanced",
    )


def custom_data() -> f.String:
    return f.String(
        max_length=CUSTOM_DATA_MAX,
        summary="Custom Data",
        description="Data returned with the message's status webhooks.",
        visibility="advanced",
    )


def registered() -> f.Boolean:
    return f.Boolean(
        summary="Registered",
        description="Register the message (only for senders that require it).",
        visibility="advanced",
    )


def group() -> f.String:
    return f.String(
        max_length=GROUP_MAX,
        summary="Group",
        description="Group of the message, for reports (for example welcome).",
        visibility="advanced",
    )


class MessageIdOutput(OutputSchema):
    """The id E-goi gave the message."""

    messageId = f.String(required=True, summary="Message Id", description="The id of the message.", example="1234")


class MessageIdsOutput(OutputSchema):
    """The ids E-goi gave the messages, in the order they were sent."""

    messages = f.List(
        f.Nested(MessageIdOutput),
        required=True,
        summary="Messages",
        description="One item per message sent, in the order of the request.",
    )


MAX_BATCH = 100  # E-goi: "up to 100 messages" in one send, for SMS and email alike


def batch_of(message: type[Schema], noun: str, single: str) -> f.List:
    """The ``messages`` field of a batch send: 1 to ``MAX_BATCH`` messages, each a ``message``."""
    return f.List(
        f.Nested(message),
        required=True,
        validate=validate.Length(
            min=1, max=MAX_BATCH, error=f"Send from 1 to {MAX_BATCH} {noun} in one batch; split larger ones."
        ),
        summary="Messages",
        description=f"The {noun} to send, 1 to {MAX_BATCH}; each has the fields of {single}.",
        visibility="important",
    )


def message_ids(sent: Any, count: int, channel: str) -> list[dict[str, str]]:
    """The ``[{messageId}]`` answer of a send, checked: one id per message or a 502."""
    if (
        isinstance(sent, list)
        and len(sent) == count
        and all(isinstance(item, dict) and isinstance(item.get("messageId"), str | int) for item in sent)
    ):
        return [{"messageId": str(item["messageId"])} for item in sent]
    raise Problem(502, f"E-goi Transactional API accepted the {channel} but did not return one message id each.")


class SendMessages(Action):
    """Shared perform of the SMS and email sends: one message (the input is the message) or, with
    ``batch``, the input's ``messages``, posted as one list to ``send_path`` (E-goi's single and
    batch sends are the same call); the answer is the message id, or the ids in order."""

    upstream = "transactional"
    status_code = 201
    send_path: ClassVar[str]
    channel: ClassVar[str]  # what the 502 calls the messages when the ids do not match them
    batch: ClassVar[bool] = False

    def to_upstream(self, message: dict[str, Any]) -> dict[str, Any]:
        """One message with E-goi's field names."""
        return message

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        messages = [self.to_upstream(message) for message in (data["messages"] if self.batch else (data,))]
        ids = message_ids(upstream.post(self.send_path, json=messages), len(messages), self.channel)
        return {"messages": ids} if self.batch else ids[0]


class CancelScheduledMessageInput(InputSchema):
    """The scheduled message to cancel."""

    messageId = f.String(
        required=True,
        validate=f.FullMatch(MESSAGE_ID_PATTERN, error=MESSAGE_ID_MESSAGE),
        max_length=MESSAGE_ID_MAX,
        too_long=MESSAGE_ID_MESSAGE,
        summary="Message Id",
        description="The id of the scheduled SMS or email, as returned when it was sent.",
        visibility="important",
        example="1",
    )


class CancelScheduledMessageOutput(OutputSchema):
    """The message that will not be sent."""

    messageId = f.String(required=True, summary="Message Id", description="The id of the message.", example="1")
    status = f.String(required=True, summary="Status", description="Always canceled.", example="canceled")


class CancelScheduledMessage(Action):
    key = "cancel_scheduled_message"
    operation_id = "CancelScheduledMessage"
    summary = "Cancel a scheduled message"
    description = (
        "Cancels an SMS or email sent with a schedule, before it goes out; a message already sent or "
        "cancelled gives 409."
    )
    visibility = "advanced"
    upstream = "transactional"
    Input = CancelScheduledMessageInput
    Output = CancelScheduledMessageOutput
    errors = (404, 409)
    example = {"messageId": "1"}
    response_example = {"messageId": "1", "status": "canceled"}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        message_id = data["messageId"]
        upstream.delete(f"/messages/{message_id}/action/cancel")  # not cancellable: 409 (actions.egoi.responses)
        return {"messageId": message_id, "status": "canceled"}


OPERATIONS = (CancelScheduledMessage,)
