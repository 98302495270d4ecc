"""Transactional API v2: email senders, email sending and the sandbox-only email outbox.

Checks follow ``Manual_Email`` of the v2 spec (``senderId``, ``to`` and ``subject`` required) and
the Attachments section of the docs (https://developers.e-goi.com/api/transactional/): each file at most 5 MB once decoded, one of the
listed MIME types, ``filename``/``data``/``mimeType``/``arrangement`` all required. One bad
message fails the whole batch with 400, as for SMS. The outbox keeps each attachment's name,
type, arrangement and decoded size, not its bytes.

Seed: email sender ``"1"`` "Demo email sender" <demo@example.com> (active), and message ``"1"``,
a demo email scheduled for 2099 that can be cancelled (see ``sandbox.sms``).
"""

from __future__ import annotations

import binascii
from typing import Any

from flask import Response, jsonify

from actions.egoi.sandbox.core import (
    EMAIL,
    SandboxError,
    State,
    current_state,
    inspect,
    json_body,
    timestamp,
    transactional,
)
from actions.egoi.sandbox.sms import common_problem, demo_message, register_message, send_due

_BATCH = 100  # "Send various email messages to various recipient, up to 100"
_MAX_ATTACHMENT = 5 * 1024 * 1024  # "The maximum size for an attachment is 5Mb"
# The Attachments table of the Transactional API docs (https://developers.e-goi.com/api/transactional/), copied here on purpose (see core).
_MIME_TYPES = frozenset(
    {
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
    }
)
_STRINGS = ("domain", "senderName", "replyToId", "htmlBody", "textBody", "customData", "group")
_BOOLEANS = ("openTracking", "clickTracking", "registered")
_FIELDS = (
    "domain",
    "senderId",
    "senderName",
    "to",
    "cc",
    "bcc",
    "replyToId",
    "subject",
    "htmlBody",
    "textBody",
    "openTracking",
    "clickTracking",
    "mergeTags",
    "customData",
    "priority",
    "registered",
    "header",
    "group",
    "scheduleTo",
)


def _store(state: State) -> dict[str, Any]:
    return state.store(
        "email",
        lambda: {
            "senders": [
                {"id": "1", "name": "Demo email sender", "email": "demo@example.com", "senderStatus": "active"}
            ],
            "outbox": [demo_message(state)],
        },
    )


@transactional.get("/email/senders")
def list_email_senders() -> Response:
    state = current_state()
    with state.lock:
        return jsonify([dict(sender) for sender in _store(state)["senders"]])


def _addresses(value: Any, required: bool) -> bool:
    return (
        isinstance(value, list)
        and (bool(value) or not required)
        and all(isinstance(item, str) and EMAIL.fullmatch(item) for item in value)
    )


def _attachment_problem(attachment: Any) -> str | None:
    if not isinstance(attachment, dict):
        return "must be an object"
    for name in ("filename", "data", "mimeType", "arrangement"):
        if not isinstance(attachment.get(name), str) or not attachment[name]:
            return f"{name} is required and must be a non-empty string"
    if attachment["mimeType"] not in _MIME_TYPES:
        return f"mimeType {attachment['mimeType']!r} is not an accepted attachment type"
    if attachment["arrangement"] not in ("attachment", "inline"):
        return "arrangement must be one of: attachment, inline"
    try:
        size = len(binascii.a2b_base64(attachment["data"], strict_mode=True))
    except binascii.Error:
        return "data must be the file in base64"
    if size > _MAX_ATTACHMENT:
        return f"the file is {size} bytes; the maximum size for an attachment is 5Mb"
    return None


def _email_problem(message: Any, senders: list[dict[str, str]]) -> str | None:
    """Why Slingshot would refuse one email of a batch, or None when it is sendable."""
    if not isinstance(message, dict):
        return "must be an object"
    if "templateId" in message:
        return f"template {message['templateId']!r} not found (the sandbox has no templates)"
    for name in ("senderId", "subject"):
        if not isinstance(message.get(name), str) or not message[name].strip():
            return f"{name} is required and must be a non-empty string"
    if not any(sender["id"] == message["senderId"] for sender in senders):
        return f"sender {message['senderId']!r} not found"
    if not _addresses(message.get("to"), required=True):
        return "to is required and must be a non-empty array of email addresses"
    for name in ("cc", "bcc"):
        if name in message and not _addresses(message[name], required=False):
            return f"{name} must be an array of email addresses"
    for name in _STRINGS:
        if name in message and not isinstance(message[name], str):
            return f"{name} must be a string"
    for name in _BOOLEANS:
        if name in message and not isinstance(message[name], bool):
            return f"{name} must be a boolean"
    if "priority" in message and message["priority"] not in ("urgent", "non-urgent"):
        return "priority must be one of: urgent, non-urgent"
    header = message.get("header", {})
    if not isinstance(header, dict) or ("header" in message and not isinstance(header.get("optInIpAddress"), str)):
        return "header must be an object with an optInIpAddress"
    attachments = message.get("attachment", [])
    if not isinstance(attachments, list):
        return "attachment must be an array"
    for index, attachment in enumerate(attachments):
        if problem := _attachment_problem(attachment):
            return f"attachment {index}: {problem}"
    return common_problem(message)


@transactional.post("/email/messages/action/send")
def send_email() -> tuple[Response, int]:
    """All or nothing, like the SMS send: one bad email fails the batch with 400."""
    batch = json_body()
    if not isinstance(batch, list) or not 1 <= len(batch) <= _BATCH:
        raise SandboxError(400, f"The body must be an array of 1 to {_BATCH} messages")
    state = current_state()
    with state.lock:
        store = _store(state)
        for index, message in enumerate(batch):
            if problem := _email_problem(message, store["senders"]):
                raise SandboxError(400, f"Message {index}: {problem}")
        ids = [_store_email(state, store["outbox"], message) for message in batch]
    return jsonify([{"messageId": message_id} for message_id in ids]), 201


def _store_email(state: State, outbox: list[dict[str, Any]], message: dict[str, Any]) -> str:
    record: dict[str, Any] = {
        "messageId": "",
        "createDate": timestamp(),
        "priority": "non-urgent",
        "registered": False,
        "openTracking": False,
        "clickTracking": False,
        "group": "default",
        **{name: message[name] for name in _FIELDS if name in message},
        "attachment": [
            {
                "filename": item["filename"],
                "mimeType": item["mimeType"],
                "arrangement": item["arrangement"],
                "size": len(binascii.a2b_base64(item["data"])),
            }
            for item in message.get("attachment", [])
        ],
    }
    message_id = register_message(state, record)
    outbox.append(record)
    return message_id


@inspect.get("/email")
def sandbox_email() -> Response:
    """Sandbox-only outbox: every email accepted so far, newest first, with its status."""
    state = current_state()
    with state.lock:
        send_due(state)
        return jsonify([dict(message) for message in reversed(_store(state)["outbox"])])
