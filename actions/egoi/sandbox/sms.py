"""Transactional API v2: SMS senders and sending, phone validation, cancelling scheduled
messages (SMS and email share one id space, as ``/messages/{id}`` implies), and the sandbox-only
SMS outbox.

Statuses: a message is ``scheduled`` while its ``scheduleTo`` (``yyyy-MM-dd HH:mm:ss``, read as
UTC like every sandbox time) is in the future, ``delivered`` once sent (at once without a
schedule; a schedule in the past sends at once too) and ``canceled`` when cancelled in time.
Scheduled messages are "sent" lazily, whenever the state is read.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Response, jsonify

from actions.egoi.sandbox import webhooks
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
    "scheduleTo",
)
_SMS_ENUMS = {"encoding": ("unicode", "gsm0338"), "priority": ("urgent", "non-urgent")}
_MERGE_TAG = re.compile(r"\s*[^:\s][^:]*:.*", re.DOTALL)  # a non-blank tagName, ':', any tagValue
_SCHEDULE_FORMAT = "%Y-%m-%d %H:%M:%S"
_SCHEDULE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)


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
    return common_problem(message)


def common_problem(message: dict[str, Any]) -> str | None:
    """Checks of the options SMS and email share (mergeTags, scheduleTo, customData, ...)."""
    tags = message.get("mergeTags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) and _MERGE_TAG.fullmatch(tag) for tag in tags):
        return "mergeTags must be an array of 'tagName:tagValue' strings"
    if "scheduleTo" in message and _schedule(message["scheduleTo"]) is None:
        return "scheduleTo must be a date and time in the format yyyy-MM-dd HH:mm:ss"
    for name, kind in (("customData", str), ("group", str), ("registered", bool)):
        if name in message and not isinstance(message[name], kind):
            return f"{name} must be a {'boolean' if kind is bool else 'string'}"
    return None


def _schedule(value: Any) -> str | None:
    """The ``scheduleTo`` text when it is a real ``yyyy-MM-dd HH:mm:ss`` date-time, else None."""
    if not isinstance(value, str) or not _SCHEDULE.fullmatch(value):
        return None
    try:
        datetime.strptime(value, _SCHEDULE_FORMAT)
    except ValueError:
        return None
    return value


# Seed: message "1" is a demo email scheduled far ahead, so a cancel works on a fresh sandbox
# (it is listed in the email outbox, see ``sandbox.email``); sent messages get ids from "2".
DEMO_MESSAGE_ID = "1"


def _demo_message() -> dict[str, Any]:
    return {
        "messageId": DEMO_MESSAGE_ID,
        "createDate": timestamp(),
        "senderId": "1",
        "to": ["demo@example.com"],
        "subject": "Demo scheduled email",
        "textBody": "This email is scheduled for 2099; cancel it with its id, 1.",
        "priority": "non-urgent",
        "registered": False,
        "openTracking": False,
        "clickTracking": False,
        "group": "default",
        "scheduleTo": "2099-12-31 09:30:00",
        "attachment": [],
        "status": "scheduled",
    }


def _messages(state: State) -> dict[str, Any]:
    """Every SMS and email by id, for ``/messages/{id}``; ids are shared by both channels."""
    return state.store("messages", lambda: {"next": 2, "by_id": {DEMO_MESSAGE_ID: _demo_message()}})


def demo_message(state: State) -> dict[str, Any]:
    """The seeded scheduled email (the same record, so a cancel shows in the email outbox)."""
    return _messages(state)["by_id"][DEMO_MESSAGE_ID]


def register_message(state: State, record: dict[str, Any]) -> str:
    """Give a stored message (SMS or email record, kept by reference) its id and first status."""
    messages = _messages(state)
    message_id = str(messages["next"])
    messages["next"] += 1
    record["messageId"] = message_id
    record["status"] = "scheduled" if record.get("scheduleTo", "") > record["createDate"] else "delivered"
    messages["by_id"][message_id] = record
    if record["status"] == "delivered":
        webhooks.fire_message(state, record)
    return message_id


def send_due(state: State) -> None:
    """Scheduled messages whose time has come are sent (call under ``lock``)."""
    now = timestamp()
    for record in _messages(state)["by_id"].values():
        if record["status"] == "scheduled" and record["scheduleTo"] <= now:
            record["status"] = "delivered"
            webhooks.fire_message(state, record)


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
    sent = {name: message[name] for name in _SMS_FIELDS if name in message}
    record = {
        "messageId": "",
        "createDate": timestamp(),
        "priority": "non-urgent",
        "registered": False,
        "group": "default",
        **sent,
    }
    message_id = register_message(state, record)
    state.sms.append(record)
    return message_id


@inspect.get("/sms")
def sandbox_sms() -> Response:
    """Sandbox-only outbox: every SMS accepted so far, newest first, with its status."""
    state = current_state()
    with state.lock:
        send_due(state)
        return jsonify([dict(message) for message in reversed(state.sms)])


def _cancel(message_id: str) -> None:
    """Only a message still ``scheduled`` can be cancelled; 404 for an unknown id, else 400."""
    state = current_state()
    with state.lock:
        send_due(state)
        record = _messages(state)["by_id"].get(message_id)
        if record is None:
            raise SandboxError(404, f"Message {message_id} not found")
        if record["status"] != "scheduled":
            raise SandboxError(
                400, f"Message {message_id} is {record['status']}; only a scheduled message can be cancelled"
            )
        record["status"] = "canceled"


@transactional.delete("/messages/<message_id>/action/cancel")
def cancel_scheduled_message(message_id: str) -> Response:
    """Current docs (https://developers.e-goi.com/api/transactional/): ``DELETE /messages/{id}/action/cancel`` answers ``{}``."""
    _cancel(message_id)
    return jsonify({})


@transactional.post("/messages/<message_id>/action/send")
def cancel_scheduled_message_2020(message_id: str) -> tuple[str, int]:
    """The 2020 spec's ``cancelScheduledMessage``: ``POST /messages/{id}/action/send``, 204."""
    _cancel(message_id)
    return "", 204


_VALIDATE_PHONE = re.compile(r"(\d{1,3})-(\d{1,20})", re.ASCII)


@transactional.get("/validate-phone/<number>")
def validate_phone(number: str) -> Response:
    """400 unless ``countryCode-number``; valid (sandbox rule) when the whole number has at most
    15 digits (E.164) and the national part at least 6, and a Portuguese (351) one is 9 digits
    starting with 2 or 9. Both ``valid`` and ``isValid`` are answered, as the 2020 spec shows."""
    match = _VALIDATE_PHONE.fullmatch(number)
    if match is None:
        raise SandboxError(400, "The phone number must be in format countryCode-mobileNumber (e.g. 351-987654321)")
    prefix, national = match.groups()
    valid = 6 <= len(national) and len(prefix) + len(national) <= 15
    if prefix == "351":
        valid = len(national) == 9 and national[0] in "29"
    message = "The number is valid." if valid else "The number is not valid."
    return jsonify({"valid": valid, "prefix": prefix, "number": national, "isValid": valid, "message": message})
