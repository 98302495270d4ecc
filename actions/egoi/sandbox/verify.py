"""Transactional API v2 "Verify": verification requests, with a sandbox-only outbox of the codes sent.

Follows E-goi's Transactional API documentation, https://developers.e-goi.com/api/transactional/ (Request Token by SMS,
email and push; get, validate, cancel, resend), and its OpenAPI spec (paths, status codes, error
bodies). Where they are silent the
choice is noted here, and the catalog reads nothing but what E-goi documents:

- Paths: SMS ``POST /verify/request`` (the spec). The documentation shows the email and push requests
  without their paths; the sandbox serves them at ``/verify/request/email`` and ``/verify/request/push``.
- Ids are 32 hex characters, as in E-goi's 2FA use case (``bcc3f465...``); answers carry ``requestId``
  (the documentation's name; the 2020 spec called it ``verifyId``).
- States (as documented): ``pending`` until validated, ``invalidated`` after ``MAX_ATTEMPTS`` wrong codes,
  ``canceled`` by the sender, ``expired`` once ``codeValidity`` seconds have passed since the code
  was sent (E-goi's 2FA use case: "E-goi marks the request as expired"). Only ``pending`` is not final.
- Validate, cancel and resend refuse a request that is not pending with 400 and a detail naming the
  state (the spec lists only 200/400/404 for them); a wrong code is a 400 that leaves it pending.
- Resend sends a new code and restarts the validity and the attempts.
- codeType ``hex`` (the documentation) and ``hexa`` (the 2020 spec) are both accepted.

Sandbox only, no key: ``GET /_sandbox/verify`` lists the codes "sent" (newest first) so the flow can
be tried by hand; ``POST /_sandbox/verify/clock`` with ``{"advance": seconds}`` moves the sandbox's
clock forward so expiry can be tried (and tested) without waiting.
Seed state: three pending SMS requests, ``1001`` (code ``123456``), ``1002`` and ``1003`` (code
``654321``), so the catalog's examples work on a fresh sandbox; their codes live an hour from the
sandbox's first verification call.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, jsonify

from actions.egoi.sandbox.core import (
    EMAIL,
    PHONE,
    PHONE_HINT,
    SANDBOX_INVALID_KEY,
    SandboxError,
    current_state,
    inspect,
    is_int,
    json_body,
    json_object,
    transactional,
)

MAX_ATTEMPTS = 3  # wrong codes a request takes before it is invalidated
MAX_CODE_LENGTH = 20  # "Maximum is 20 characters"
MAX_VALIDITY = 3600  # "Maximum validity is 3600 seconds (1 hour)"
DEFAULTS = {"codeLength": 6, "codeValidity": 600, "codeType": "numeric"}
ALPHABETS = {
    "numeric": string.digits,
    "alpha": string.ascii_uppercase,
    "alphanumeric": string.digits + string.ascii_uppercase,
    "hex": "0123456789ABCDEF",
    "hexa": "0123456789ABCDEF",
}
CODE_TAG = re.compile(r"\{\{\s*code\s*\}\}")
_DEMO_CODES = {"1001": "123456", "1002": "123456", "1003": "654321"}


@dataclass
class VerifyStore:
    """Requests by id, the outbox of messages sent, and how far the clock has been moved."""

    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    offset: float = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)


def _seeded() -> VerifyStore:
    store = VerifyStore()
    for request_id, code in _DEMO_CODES.items():
        fields = {"senderId": "1", "to": "351-912345678", "codeValidity": MAX_VALIDITY}
        fields["message"] = "Your demo code is {{ code }}"
        _open(store, request_id, "sms", fields, code=code)
    return store


def _store() -> VerifyStore:
    return current_state().store("verify", _seeded)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- validation, in E-goi's words: a 400 naming the field -------------------------------------


def _bad(name: str, message: str) -> SandboxError:
    return SandboxError(400, f"Invalid parameter {name}: {message}", {name: [message]})


def _text(body: dict[str, Any], name: str, required: bool = False) -> None:
    if name not in body:
        if required:
            raise _bad(name, "is required")
        return
    if not isinstance(body[name], str) or not body[name].strip():
        raise _bad(name, "must be a non-empty string")


def _code_settings(body: dict[str, Any]) -> None:
    _text(body, "message")
    if "codeLength" in body and not (is_int(body["codeLength"]) and body["codeLength"] <= MAX_CODE_LENGTH):
        raise _bad("codeLength", f"must be an integer from 1 to {MAX_CODE_LENGTH}")
    if "codeValidity" in body and not (is_int(body["codeValidity"]) and body["codeValidity"] <= MAX_VALIDITY):
        raise _bad("codeValidity", f"must be an integer from 1 to {MAX_VALIDITY} (seconds)")
    if "codeType" in body and body["codeType"] not in ALPHABETS:
        raise _bad("codeType", "must be one of: numeric, alpha, alphanumeric, hex")


def _check_sms(body: dict[str, Any]) -> None:
    _text(body, "senderId", required=True)
    _text(body, "to", required=True)
    if not PHONE.fullmatch(body["to"]):
        raise _bad("to", PHONE_HINT)
    if not any(sender["id"] == body["senderId"] for sender in current_state().senders):
        raise _bad("senderId", f"sender {body['senderId']!r} not found")


def _check_email(body: dict[str, Any]) -> None:
    _text(body, "email", required=True)
    if not EMAIL.fullmatch(body["email"]):
        raise _bad("email", "must be an email address (name@example.com)")
    _text(body, "subject", required=True)
    for name in ("senderId", "senderHash", "group"):
        _text(body, name)
    tags = body.get("mergeTags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise _bad("mergeTags", "must be an array of strings")


def _check_push(body: dict[str, Any]) -> None:
    _text(body, "apikey", required=True)
    if body["apikey"] == SANDBOX_INVALID_KEY:
        raise SandboxError(401, "The apikey in the body was rejected.")
    if "appId" not in body:
        raise _bad("appId", "is required")
    if not (is_int(body["appId"]) and body["appId"] <= 2**31 - 1):
        raise _bad("appId", "must be an integer of at least 1")
    for name in ("title", "device"):
        _text(body, name)


# --- state -----------------------------------------------------------------------------------


def _new_code(code_type: str, length: int) -> str:
    alphabet = ALPHABETS[code_type]
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _send(store: VerifyStore, record: dict[str, Any]) -> None:
    """Put the current code in the outbox, as the recipient would receive it."""
    template = record["message"]
    text = CODE_TAG.sub(record["code"], template) if CODE_TAG.search(template) else f"{template} {record['code']}"
    record["messageId"] = secrets.token_hex(8)
    store.outbox.append(
        {
            "requestId": record["id"],
            "messageId": record["messageId"],
            "channel": record["channel"],
            "to": record["recipient"],
            "code": record["code"],
            "message": text,
            "sentDate": _iso(record["sentAt"]),
            "expireDate": _iso(record["sentAt"] + timedelta(seconds=record["codeTTL"])),
        }
    )


def _open(store: VerifyStore, request_id: str, channel: str, body: dict[str, Any], code: str | None = None) -> None:
    settings = {**DEFAULTS, **{k: body[k] for k in DEFAULTS if k in body}}
    recipient = {"sms": "to", "email": "email", "push": "device"}[channel]
    now = store.now()
    record = {
        "id": request_id,
        "channel": channel,
        "senderId": body.get("senderId", body.get("senderHash", "")),
        "recipient": body.get(recipient, f"app {body.get('appId')}"),
        "codeType": settings["codeType"],
        "codeLength": settings["codeLength"],
        "codeTTL": settings["codeValidity"],
        "code": code or _new_code(settings["codeType"], settings["codeLength"]),
        "message": body.get("message", "Your code is {{ code }}"),
        "status": "pending",
        "createDate": _iso(now),
        "sentAt": now,
        "attempts": 0,
    }
    store.requests[request_id] = record
    _send(store, record)


def _current(store: VerifyStore, request_id: str) -> dict[str, Any]:
    """The request, with its expiry applied: a pending code past its validity is expired."""
    record = store.requests.get(request_id)
    if record is None:
        raise SandboxError(404, f"The verify request {request_id} was not found")
    if record["status"] == "pending" and store.now() >= record["sentAt"] + timedelta(seconds=record["codeTTL"]):
        record["status"] = "expired"
    return record


def _require_pending(record: dict[str, Any]) -> None:
    if record["status"] != "pending":
        raise SandboxError(400, f"The verify request {record['id']} is {record['status']}, not pending")


def _view(record: dict[str, Any]) -> dict[str, Any]:
    """CheckVerifyResponse; recipientNumber is the spec's, email/device the sandbox's for other channels."""
    view = {
        "id": record["id"],
        "messageId": record["messageId"],
        "senderId": record["senderId"],
        "recipientNumber": record["recipient"] if record["channel"] == "sms" else None,
        "code": record["code"],
        "codeTTL": record["codeTTL"],
        "status": record["status"],
        "createDate": record["createDate"],
        "message": record["message"],
        "channel": record["channel"],
    }
    if record["channel"] == "email":
        view["email"] = record["recipient"]
    if record["channel"] == "push":
        view["device"] = record["recipient"]
    return {k: v for k, v in view.items() if v is not None}


# --- routes ----------------------------------------------------------------------------------

_CHECKS = {"sms": _check_sms, "email": _check_email, "push": _check_push}


def _request_token(channel: str) -> tuple[Response, int]:
    body = json_object()
    state = current_state()
    with state.lock:
        _CHECKS[channel](body)
        _code_settings(body)
        request_id = secrets.token_hex(16)
        _open(_store(), request_id, channel, body)
    return jsonify({"requestId": request_id}), 201


@transactional.post("/verify/request")
def request_token_sms() -> tuple[Response, int]:
    return _request_token("sms")


@transactional.post("/verify/request/email")
def request_token_email() -> tuple[Response, int]:
    return _request_token("email")


@transactional.post("/verify/request/push")
def request_token_push() -> tuple[Response, int]:
    return _request_token("push")


@transactional.get("/verify/<request_id>")
def get_verify(request_id: str) -> Response:
    with current_state().lock:
        return jsonify(_view(_current(_store(), request_id)))


@transactional.post("/verify/<request_id>/validate")
def validate_code(request_id: str) -> Response:
    """A wrong code is counted; the ``MAX_ATTEMPTS``-th invalidates the request (documented as final)."""
    body = json_object()
    with current_state().lock:
        record = _current(_store(), request_id)
        _require_pending(record)
        code = body.get("code")
        if not isinstance(code, str) or not code:
            raise _bad("code", "is required and must be a non-empty string")
        if not secrets.compare_digest(code.encode(), record["code"].encode()):
            record["attempts"] += 1
            if record["attempts"] >= MAX_ATTEMPTS:
                record["status"] = "invalidated"
                raise SandboxError(400, f"Invalid code; {MAX_ATTEMPTS} wrong codes invalidated the verify request")
            left = MAX_ATTEMPTS - record["attempts"]
            raise SandboxError(
                400, f"Invalid code; {left} attempt{'s' if left != 1 else ''} left", {"code": ["invalid"]}
            )
        record["status"] = "validated"
    return jsonify([{"requestId": request_id}])


@transactional.post("/verify/<request_id>/cancel")
def cancel_verify(request_id: str) -> Response:
    with current_state().lock:
        record = _current(_store(), request_id)
        _require_pending(record)
        record["status"] = "canceled"
    return jsonify([{"requestId": request_id}])


@transactional.post("/verify/<request_id>/resend")
def resend_verify(request_id: str) -> Response:
    with current_state().lock:
        store = _store()
        record = _current(store, request_id)
        _require_pending(record)
        record.update(code=_new_code(record["codeType"], record["codeLength"]), sentAt=store.now(), attempts=0)
        _send(store, record)
    return jsonify([{"requestId": request_id}])


@inspect.get("/verify")
def sandbox_verify_outbox() -> Response:
    """Sandbox-only outbox: every code sent (requests and resends), newest first."""
    with current_state().lock:
        return jsonify([dict(item) for item in reversed(_store().outbox)])


@inspect.post("/verify/clock")
def sandbox_verify_clock() -> Response:
    """Move the sandbox's clock forward by ``advance`` seconds, so codes expire without waiting."""
    body = json_body()
    advance = body.get("advance") if isinstance(body, dict) else None
    if not (isinstance(advance, int | float) and not isinstance(advance, bool) and 0 <= advance <= 10**7):
        raise _bad("advance", "must be a number of seconds from 0 to 10000000")
    with current_state().lock:
        store = _store()
        store.offset += advance
        return jsonify({"now": _iso(store.now()), "advanced": store.offset})
