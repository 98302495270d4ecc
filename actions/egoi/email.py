"""Transactional email (Transactional API v2): single and batch sends, and the email senders lookup.

Field names are Slingshot's (``Manual_Email`` of the v2 spec). Attachments are checked here the
way E-goi documents them (at most 5 MB each once decoded, one of the MIME types its docs list,
base64 data), so a bad file is a 422 naming it rather than a rejected batch.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, pre_load, validate

from actions.egoi.fields import NAME_MAX
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
from connector import fields as f
from connector.declarations import InputSchema, Lookup, OutputSchema
from connector.upstream import UpstreamCall

SEND_PATH = "/email/messages/action/send"
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024  # "The maximum size for an attachment is 5Mb"
MAX_ATTACHMENT_BASE64 = -(-MAX_ATTACHMENT_BYTES // 3) * 4  # 5 MB in base64, padding included
# Lengths, ours (E-goi's Transactional API documentation gives none):
SUBJECT_MAX = 998  # the longest line RFC 5322 allows in a message header
BODY_MAX = 1_000_000  # characters of an HTML or text body (mail clients clip far shorter ones)
DOMAIN_MAX = 253  # the longest DNS name
# The MIME types of the Attachments table of E-goi's Transactional API docs, in its order
# (https://developers.e-goi.com/api/transactional/).
MIME_TYPES = (
    "application/pdf",
    "application/msword",
    "application/powerpoint",
    "application/mspowerpoint",
    "application/excel",
    "text/plain",
    "text/html",
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/svg+xml",
    "application/bmp",
    "application/octet-stream",
    "image/x-icon",
    "audio/mpeg",
    "audio/wav",
    "audio/midi",
    "video/mpeg",
    "video/avi",
    "application/java-archive",
    "application/x-tar",
    "application/x-zip-compressed",
    "application/zip",
    "application/x-rar-compressed",
)
ARRANGEMENTS = ("attachment", "inline")
# Standard base64 (RFC 4648 section 4) with its padding, no line breaks.
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
BASE64_MESSAGE = (
    "Not valid base64: expected the file's bytes in standard base64 (A-Z, a-z, 0-9, + and /, "
    "padded with = to a multiple of 4 characters, without line breaks)."
)

SENDERS_DROPDOWN = f.dropdown("GetEmailSenders", value_path="id", value_title="email")


def _decoded_size(text: str) -> int:
    return len(text) // 4 * 3 - text[-2:].count("=")


def _at_most_5_mb(text: str) -> None:
    """The size E-goi limits is the decoded file's; the pattern validator checks the base64 itself."""
    if (size := _decoded_size(text)) > MAX_ATTACHMENT_BYTES:
        raise ValidationError(
            f"The file is {size} bytes once decoded; an attachment can be at most 5 MB ({MAX_ATTACHMENT_BYTES} bytes)."
        )


class AttachmentInput(InputSchema):
    """One file attached to the email."""

    filename = f.String(
        required=True,
        validate=validate.Length(min=1, max=255, error="Write a file name of 1 to 255 characters."),
        summary="File Name",
        description="Name of the file as the recipient sees it (for example invoice.pdf).",
        example="hello.txt",
    )
    data = f.String(
        required=True,
        validate=[f.FullMatch(BASE64_PATTERN, error=BASE64_MESSAGE), _at_most_5_mb],
        max_length=MAX_ATTACHMENT_BASE64,
        too_long=f"The file is over 5 MB: its base64 can be at most {MAX_ATTACHMENT_BASE64} characters.",
        summary="Content",
        description="The file's content in base64, at most 5 MB once decoded.",
        example="SGVsbG8h",
    )
    mimeType = f.Choice(
        MIME_TYPES,
        required=True,
        summary="MIME Type",
        description="The type of the file, one of those E-goi accepts (for example application/pdf).",
        example="text/plain",
    )
    arrangement = f.Choice(
        ARRANGEMENTS,
        load_default="attachment",
        summary="Arrangement",
        description=(
            "attachment (an enclosed file, the default) or inline (an image shown in the HTML body "
            'with <img src="cid:N"/>, N being its position in this list from 0).'
        ),
    )


def _emails(summary: str, description: str, **kwargs: Any) -> f.List:
    return f.List(f.Email(), summary=summary, description=description, **kwargs)


class SendEmailInput(InputSchema):
    """One email to one or more recipients; an HTML or a text body, or both."""

    require_any_of = ("htmlBody", "textBody")

    senderId = f.String(
        required=True,
        validate=validate.Length(min=1, error="Choose a sender."),
        max_length=SENDER_ID_MAX,
        summary="Send From",
        description="The id of the email sender.",
        visibility="important",
        example="1",
        dropdown=SENDERS_DROPDOWN,
    )
    to = _emails(
        "Send To",
        "Email addresses of the recipients (a single address is taken as a list of one).",
        required=True,
        validate=validate.Length(min=1, error="Give at least one recipient."),
        visibility="important",
        example=["ana@example.com"],
    )
    subject = f.String(
        required=True,
        validate=validate.Length(min=1, error="Write a subject."),
        max_length=SUBJECT_MAX,
        summary="Subject",
        description="The subject of the email.",
        visibility="important",
        example="Your order has shipped",
    )
    htmlBody = f.String(
        validate=validate.Length(min=1, error="Write the HTML body, or leave it out."),
        max_length=BODY_MAX,
        summary="HTML Body",
        description="The HTML version of the body; give this, a text body or both.",
        visibility="important",
        example="<p>Hello <b>Ana</b>!</p>",
    )
    textBody = f.String(
        validate=validate.Length(min=1, error="Write the text body, or leave it out."),
        max_length=BODY_MAX,
        summary="Text Body",
        description="The plain-text version of the body; give this, an HTML body or both.",
        visibility="important",
        example="Hello Ana!",
    )
    cc = _emails("Cc", "Email addresses that receive a copy.", visibility="advanced")
    bcc = _emails("Bcc", "Email addresses that receive a hidden copy.", visibility="advanced")
    replyToId = f.String(
        validate=validate.Length(min=1, error="Give the id of the reply-to address."),
        max_length=SENDER_ID_MAX,
        summary="Reply To Id",
        description="The id of the address that receives replies to this email.",
        visibility="advanced",
    )
    senderName = f.String(
        max_length=NAME_MAX,
        summary="Sender Name",
        description="Name shown with the sender's address.",
        visibility="advanced",
    )
    domain = f.String(
        max_length=DOMAIN_MAX,
        summary="Domain",
        description="Domain of the sender's address (for example example.com).",
        visibility="advanced",
    )
    openTracking = f.Boolean(
        summary="Track Opens", description="Track whether the email is opened (default false).", visibility="advanced"
    )
    clickTracking = f.Boolean(
        summary="Track Clicks",
        description="Track clicks on the email's links (default false).",
        visibility="advanced",
    )
    attachment = f.List(
        f.Nested(AttachmentInput),
        summary="Attachments",
        description="Files to attach, each at most 5 MB (attachments must be enabled on the E-goi account).",
        visibility="advanced",
    )
    mergeTags = merge_tags()
    priority = priority()
    customData = custom_data()
    registered = registered()
    group = group()
    scheduleTo = schedule_to()

    @pre_load
    def _one_recipient(self, data: Any, **kwargs: Any) -> Any:
        """E-goi's single send documents ``to`` as one address (its example sends
        ``"to": "john-doe@email.com"``), its batch send as a list: take both, send a list."""
        if isinstance(data, dict) and isinstance(data.get("to"), str):
            return {**data, "to": [data["to"]]}
        return data


class SendEmail(SendMessages):
    key = "send_email"
    operation_id = "SendEmail"
    summary = "Send an email"
    description = "Sends a transactional email from one of your email senders and returns the message id."
    visibility = "important"
    send_path = SEND_PATH
    channel = "email"
    Input = SendEmailInput
    Output = MessageIdOutput
    example = {
        "senderId": "1",
        "to": ["ana@example.com"],
        "subject": "Your order has shipped",
        "htmlBody": "<p>Hello <b>Ana</b>, your order is on its way.</p>",
        "textBody": "Hello Ana, your order is on its way.",
    }
    response_example = {"messageId": "1"}


class SendEmailBatchInput(InputSchema):
    """Up to 100 emails, sent in one call."""

    messages = batch_of(SendEmailInput, "emails", "Send an email")


class SendEmailBatch(SendEmail):
    key = "send_email_batch"
    operation_id = "SendEmailBatch"
    summary = "Send up to 100 emails at once"
    description = (
        "Sends 1 to 100 transactional emails in one call to E-goi and returns their message ids in order; "
        "if one email is invalid, none is sent."
    )
    visibility = "advanced"
    batch = True
    channel = "emails"
    Input = SendEmailBatchInput
    Output = MessageIdsOutput
    example = {
        "messages": [
            {"senderId": "1", "to": ["ana@example.com"], "subject": "Hello Ana", "textBody": "Welcome, Ana!"},
            {"senderId": "1", "to": ["rui@example.com"], "subject": "Hello Rui", "textBody": "Welcome, Rui!"},
        ]
    }
    response_example = {"messages": [{"messageId": "1"}, {"messageId": "2"}]}


class EmailSenderItem(OutputSchema):
    id = f.String(required=True, summary="Sender Id", description="The id of the sender.")
    name = f.String(summary="Name", description="Name of the sender.")
    email = f.String(summary="Email", description="Address the sender sends from.")
    senderStatus = f.String(summary="Status", description="Approval status of the sender.")


class EmailSendersOutput(OutputSchema):
    """The account's email senders."""

    items = f.List(f.Nested(EmailSenderItem), required=True, summary="Senders", description="The email senders.")


class GetEmailSenders(Lookup):
    key = "email_senders"
    operation_id = "GetEmailSenders"
    summary = "List email senders"
    description = "Returns the email senders of the account, to choose one in a dropdown."
    upstream = "transactional"
    Output = EmailSendersOutput

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        senders = upstream.get("/email/senders")
        return {"items": senders if isinstance(senders, list) else []}


OPERATIONS = (SendEmail, SendEmailBatch, GetEmailSenders)
