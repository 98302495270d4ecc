"""Transactional SMS on E-goi's Transactional API v2 ("Slingshot")."""

from __future__ import annotations

from typing import Any

from marshmallow import validate

from connector import fields as f
from connector.declarations import Action, InputSchema, OutputSchema
from connector.errors import Problem

ENCODINGS = ("unicode", "gsm0338")
PRIORITIES = ("urgent", "non-urgent")
MAX_TEXT = 1600  # E-goi splits long texts into parts; maxCount bounds how many are sent

SENDERS_DROPDOWN = f.dropdown("GetSenders", value_path="id", value_title="name")


class SendSMSInput(InputSchema):
    """One SMS to one recipient."""

    to = f.Phone(
        required=True,
        summary="Send To",
        description="Cellphone of the recipient, as ccc-xxxxxxxxx where ccc is the country code.",
        visibility="important",
    )
    sender = f.String(
        data_key="from",
        required=True,
        validate=validate.Length(min=1, error="Choose a sender."),
        summary="Send From",
        description="The id of the SMS sender.",
        visibility="important",
        example="1",
        dropdown=SENDERS_DROPDOWN,
    )
    textBody = f.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_TEXT, error=f"Write from 1 to {MAX_TEXT} characters."),
        summary="Message",
        description="The text of the message.",
        visibility="important",
        example="Hello!",
    )
    encoding = f.Choice(
        ENCODINGS,
        summary="Encoding",
        description="Character set of the message: gsm0338 or unicode.",
        visibility="advanced",
    )
    maxCount = f.BoundedInteger(
        minimum=1,
        summary="Maximum Parts",
        description="Most SMS parts to send when the text is too long for one message.",
        visibility="advanced",
        example=1,
    )
    priority = f.Choice(PRIORITIES, summary="Priority", description="Priority of the message.", visibility="advanced")
    customData = f.String(
        summary="Custom Data", description="Data returned with the message's status webhooks.", visibility="advanced"
    )
    registered = f.Boolean(
        summary="Registered",
        description="Register the message (only for senders that require it).",
        visibility="advanced",
    )
    group = f.String(
        summary="Group", description="Group of the message, for reports (for example welcome).", visibility="advanced"
    )


class SendSMSOutput(OutputSchema):
    """The id E-goi gave the message."""

    messageId = f.String(required=True, summary="Message Id", description="The id of the message.", example="a1b2c3")


class SendSMS(Action):
    key = "send_sms"
    operation_id = "SendSMS"
    summary = "Send an SMS"
    description = "Sends a transactional SMS from one of your senders to one cellphone and returns the message id."
    visibility = "important"
    upstream = "transactional"
    Input = SendSMSInput
    Output = SendSMSOutput
    status_code = 201
    example = {"to": "351-912345678", "from": "1", "textBody": "Hello from the sandbox!"}
    response_example = {"messageId": "a1b2c3"}

    def perform(self, data: dict[str, Any], upstream: Any) -> Any:
        message = {"from" if k == "sender" else k: v for k, v in data.items()}
        sent = upstream.post("/sms/messages/action/send", json=[message])
        if not (isinstance(sent, list) and sent and isinstance(sent[0], dict) and sent[0].get("messageId")):
            raise Problem(502, "E-goi Transactional API accepted the SMS but returned no message id.")
        return sent[0]


OPERATIONS = (SendSMS,)
