"""Transactional API v2: SMS senders and sending, plus the sandbox-only SMS outbox."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from actions.egoi.sandbox.core import (
    PHONE,
    PHONE_HINT,
    SandboxError,
    State,
    current_state,
    inspect,
    is_int,
    json_body,
    timestamp,
    transactional,
)

_SMS_BATCH = 100  # "Send multiple sms messages to various recipients, up to 100 messages"
_SMS_FIELDS = (
    "to",
    "from",
    "textBody",
    "encoding",
    "maxCount",
    "mergeTags",
    "priority",
    "customData",
    "registered",
    "group",
)
_SMS_ENUMS = {"encoding": ("unicode", "gsm0338"), "priority": ("urgent", "non-urgent")}


@transactional.get("/sms/senders")
def list_sms_senders() -> Response:
    with current_state().lock:
        return jsonify([dict(sender) for sender in current_state().senders])


def _sms_problem(message: Any, senders: list[dict[str, str]]) -> str | None:
    """Why Slingshot would refuse one message of a batch, or None when it is sendable."""
    if not isinstance(message, dict):
        return "must be an object"
    if "templateId" in message:
        return f"template {message['templateId']!r} not found (the sandbox has no templates)"
    for name in ("to", "from", "textBody"):
        if not isinstance(message.get(name), str) or not message[name].strip():
            return f"{name} is required and must be a non-empty string"
    if not PHONE.fullmatch(message["to"]):
        return f"to {PHONE_HINT}"
    if not any(sender["id"] == message["from"] for sender in senders):
        return f"sender {message['from']!r} not found"
    for name, allowed in _SMS_ENUMS.items():
        if name in message and message[name] not in allowed:
            return f"{name} must be one of: {', '.join(allowed)}"
    if "maxCount" in message and not is_int(message["maxCount"]):
        return "maxCount must be an integer >= 1"
    tags = message.get("mergeTags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        return "mergeTags must be an array of 'tagName:tagValue' strings"
    for name, kind in (("customData", str), ("group", str), ("registered", bool)):
        if name in message and not isinstance(message[name], kind):
            return f"{name} must be a {'boolean' if kind is bool else 'string'}"
    return None


@transactional.post("/sms/messages/action/send")
def send_sms() -> tuple[Response, int]:
    """All or nothing: one bad message fails the batch with 400 (the only error the spec lists)."""
    batch = json_body()
    if not isinstance(batch, list) or not 1 <= len(batch) <= _SMS_BATCH:
        raise SandboxError(400, f"The body must be an array of 1 to {_SMS_BATCH} messages")
    state = current_state()
    with state.lock:
        for index, message in enumerate(batch):
            if problem := _sms_problem(message, state.senders):
                raise SandboxError(400, f"Message {index}: {problem}")
        ids = [_store_sms(state, message) for message in batch]
    return jsonify([{"messageId": message_id} for message_id in ids]), 201


def _store_sms(state: State, message: dict[str, Any]) -> str:
    """Keep the message's documented fields, with the spec's defaults, in the outbox."""
    message_id = str(len(state.sms) + 1)
    sent = {name: message[name] for name in _SMS_FIELDS if name in message}
    state.sms.append(
        {
            "messageId": message_id,
            "createDate": timestamp(),
            "priority": "non-urgent",
            "registered": False,
            "group": "default",
            **sent,
        }
    )
    return message_id


@inspect.get("/sms")
def sandbox_sms() -> Response:
    """Sandbox-only outbox: every SMS accepted so far, newest first."""
    with current_state().lock:
        return jsonify([dict(message) for message in reversed(current_state().sms)])
