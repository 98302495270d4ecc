"""Transactional SMS on E-goi's Transactional API v2 ("Slingshot"): single and batch sends, and
phone number validation. The SMS length calculator lives in :mod:`actions.egoi.sms_length`."""

from __future__ import annotations

from typing import Any

from marshmallow import validate

from actions.egoi import sms_length
from actions.egoi.fields import Phone
from actions.egoi.messages import (
    SENDER_ID_MAX,
    MessageIdOutput,
    MessageIdsOutput,
    SendMessages,
    batch_of,
    custom_data,
    group,
    merge_tags,
    priority,
    registered,
    schedule_to,
)
from actions.egoi.sms_length import ENCODINGS, MAX_TEXT
from connector import fields as f
from connector.declarations import Action, InputSchema, OutputSchema
from connector.errors import Problem
from connector.upstream import UpstreamCall

SEND_PATH = "/sms/messages/action/send"

SENDERS_DROPDOWN = f.dropdown("GetSenders", value_path="id", value_title="name")


class SendSMSInput(InputSchema):
    """One SMS to one recipient."""

    to = Phone(
        required=True,
        summary="Send To",
        description="Cellphone of the recipient, as ccc-xxxxxxxxx where ccc is the country code.",
        visibility="important",
    )
    sender = f.String(
        data_key="from",
        required=True,
        validate=validate.Length(min=1, error="Choose a sender."),
        max_length=SENDER_ID_MAX,
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
        description="The text of the message; merge tags fill its gaps such as {{ name }}.",
        visibility="important",
        example="Hello!",
    )
    encoding = f.Choice(
        ENCODINGS,
        summary="Encoding",
        description="Character set of the message: gsm0338 (160 characters a part) or unicode (70).",
        visibility="advanced",
    )
    maxCount = f.BoundedInteger(
        minimum=1,
        summary="Maximum Parts",
        description="Most SMS parts to send when the text is too long for one message.",
        visibility="advanced",
        example=1,
    )
    mergeTags = merge_tags()
    priority = priority()
    customData = custom_data()
    registered = registered()
    group = group()
    scheduleTo = schedule_to()


def upstream_message(data: dict[str, Any]) -> dict[str, Any]:
    """Slingshot's field names: ``sender`` is ``from`` (a Python keyword) on the wire."""
    return {"from" if key == "sender" else key: value for key, value in data.items()}


class SendSMS(SendMessages):
    key = "send_sms"
    operation_id = "SendSMS"
    summary = "Send an SMS"
    description = "Sends a transactional SMS from one of your senders to one cellphone and returns the message id."
    visibility = "important"
    send_path = SEND_PATH
    channel = "SMS"
    Input = SendSMSInput
    Output = MessageIdOutput
    example = {"to": "351-912345678", "from": "1", "textBody": "Hello from the sandbox!"}
    response_example = {"messageId": "1"}

    def to_upstream(self, message: dict[str, Any]) -> dict[str, Any]:
        return upstream_message(message)


class SendSMSBatchInput(InputSchema):
    """Up to 100 SMS, sent in one call."""

    messages = batch_of(SendSMSInput, "SMS", "Send an SMS")


class SendSMSBatch(SendSMS):
    key = "send_sms_batch"
    operation_id = "SendSMSBatch"
    summary = "Send up to 100 SMS at once"
    description = (
        "Sends 1 to 100 transactional SMS in one call to E-goi and returns their message ids in order; "
        "if one message is invalid, none is sent."
    )
    visibility = "advanced"
    batch = True
    Input = SendSMSBatchInput
    Output = MessageIdsOutput
    example = {
        "messages": [
            {"to": "351-912345678", "from": "1", "textBody": "Hello {{ name }}!", "mergeTags": ["name:Ana"]},
            {"to": "351-912345679", "from": "1", "textBody": "Hello {{ name }}!", "mergeTags": ["name:Rui"]},
        ]
    }
    response_example = {"messages": [{"messageId": "1"}, {"messageId": "2"}]}


class ValidatePhoneNumberInput(InputSchema):
    """The number to check."""

    number = Phone(
        required=True,
        summary="Phone Number",
        description="The number to check, landline or mobile, as ccc-xxxxxxxxx where ccc is the country code.",
        visibility="important",
    )


class ValidatePhoneNumberOutput(OutputSchema):
    """E-goi's verdict on the number."""

    valid = f.Boolean(required=True, summary="Valid", description="Whether the number is valid.", example=True)
    prefix = f.String(summary="Prefix", description="The country code of the number.", example="351")
    number = f.String(summary="Number", description="The number without its country code.", example="912345678")
    message = f.String(summary="Message", description="E-goi's explanation of the result.", example="Valid number")


class ValidatePhoneNumber(Action):
    key = "validate_phone_number"
    operation_id = "ValidatePhoneNumber"
    summary = "Validate a phone number"
    description = "Asks E-goi whether a landline or mobile number in the form ccc-xxxxxxxxx is a valid number."
    visibility = "advanced"
    upstream = "transactional"
    Input = ValidatePhoneNumberInput
    Output = ValidatePhoneNumberOutput
    example = {"number": "351-912345678"}
    response_example = {"valid": True, "prefix": "351", "number": "912345678", "message": "Valid number"}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        answer = upstream.get(f"/validate-phone/{data['number']}")
        if not isinstance(answer, dict):
            raise Problem(502, "E-goi Transactional API answered the phone validation without a result.")
        # The 2020 spec documents both ``valid`` and ``isValid``; the current docs only ``valid``.
        valid = answer.get("valid", answer.get("isValid"))
        return {**answer, "valid": valid is True}


OPERATIONS = (SendSMS, SendSMSBatch, *sms_length.OPERATIONS, ValidatePhoneNumber)
