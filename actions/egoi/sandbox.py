"""In-memory emulator of the parts of E-goi's APIs that the E-goi connector calls.

Why it exists: ``serve --sandbox`` and the end-to-end tests need an upstream that answers like
E-goi (paths, status codes, bodies, validation) on a machine with no account and no internet.
Shapes follow E-goi's published specs (``reference/egoi/apiv3-openapi.yaml`` and
``transactional-v2-openapi.yaml``); where they are silent, the choice is noted next to the code.

Served paths (every one needs the key header, ``Apikey`` / ``ApiKey``; header names are
case-insensitive). Any non-empty key is accepted except ``SANDBOX_INVALID_KEY``, which gets 401:

- Marketing API v3 under ``MARKETING_PREFIX`` (``/api``): ``GET /lists``, ``GET /lists/{id}``,
  ``GET|POST /lists/{id}/contacts``, ``GET|PATCH /lists/{id}/contacts/{contact_id}``,
  ``POST /lists/{id}/contacts/actions/attach-tag``, ``GET|POST /tags``.
- Transactional API v2 under ``TRANSACTIONAL_PREFIX`` (``/slingshot/api/v2``):
  ``GET /sms/senders``, ``POST /sms/messages/action/send``.
- Sandbox only, no prefix and no key: ``GET /_sandbox/sms`` returns a JSON array of the SMS
  messages "sent" so far, newest first, each with its ``messageId`` and ``createDate``, so a
  user can see what would have reached a phone.

The vocabularies below (languages, consents, patterns) are E-goi's, copied from its spec on
purpose rather than imported from the catalog: the emulator is the oracle the connector is tested
against, so a mistake in the catalog's copy must not be mirrored here.

Seed state of every ``create_app()``: list 1 "Demo list", tag 1 "Demo tag", SMS sender "1"
"Demo sender" (active), no contacts. One state per app, guarded by a lock (threaded servers).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

SANDBOX_INVALID_KEY = "sandbox-invalid-key"
MARKETING_PREFIX = "/api"
TRANSACTIONAL_PREFIX = "/slingshot/api/v2"

_EXTENSION = "egoi_sandbox"
_MAX_BODY = 20 * 1024 * 1024  # E-goi refuses POST/PATCH/PUT bodies over 20 MB with 413 (seed 000)
_MAX_LIMIT = 1000  # the v3 spec's maximum for `limit` on /lists, /lists/{id}/contacts and /tags
_SMS_BATCH = 100  # "Send multiple sms messages to various recipients, up to 100 messages"
_PHONE = re.compile(r"\d{1,3}-\d{4,20}", re.ASCII)  # E-goi's ^\d{1,3}-\d{4,20}$, ASCII digits only
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CONTACT_ID = re.compile(r"[a-fA-F\d]{10}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_PHONE_HINT = "must be country code, '-', number (e.g. 351-912345678; pattern ^\\d{1,3}-\\d{4,20}$)"
_CHANNELS = ("email", "cellphone", "phone")
_UNIQUE_FIELDS = ("email", "cellphone")

_LANGUAGES = ("en", "pt", "br", "es", "de", "hu", "fr")
_CONSENTS = (
    "any",
    "consent",
    "contract",
    "legitimate_interest",
    "none",
    "protect_vital_interests",
    "public_interests",
    "required_by_law",
    "withdrawn",
)
_ON_OFF = ("active", "inactive")
# Writable enums: POST allows `removed`; PATCH does not, but adds consent and channel statuses.
_CREATE_ENUMS = {"status": ("active", "inactive", "removed", "unconfirmed"), "language": _LANGUAGES}
_PATCH_ENUMS = {
    "status": ("active", "inactive", "unconfirmed"),
    "language": _LANGUAGES,
    "consent": _CONSENTS,
    "email_status": _ON_OFF,
    "cellphone_status": _ON_OFF,
    "phone_status": _ON_OFF,
}
_TEXT_FIELDS = ("first_name", "last_name", "birth_date", *_CHANNELS)
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

# Error bodies: v3 uses the http:// RFC link and "NotFound"; Slingshot https:// and "Not Found".
_V3_TYPE = "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
_TX_TYPE = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "NotFound",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Request Entity Too Large",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}

# ComplexContact's stats (GET /lists/{id}/contacts/{id}): the sandbox runs no campaigns.
_ZERO_STATS: dict[str, Any] = {
    "email_stats": {
        **dict.fromkeys(("sent", "opens", "clicks", "soft_bounces", "hard_bounces"), 0),
        **dict.fromkeys(("forwards", "conversions", "social_actions"), 0),
        **dict.fromkeys(("last_send_date", "last_open_date", "last_click_date"), None),
        **dict.fromkeys(("last_open_country", "last_open_region", "last_open_city"), None),
    },
    "sms_stats": {"sent": 0, "delivered": 0},
    "push_stats": {
        **dict.fromkeys(("sent", "delivered", "not_delivered", "views", "clicks"), 0),
        "last_view_date": None,
    },
    "webpush_stats": {"sent": 0, "delivered": 0, "clicks": 0, "bounces": 0},
    "voice_stats": {"sent": 0, "answered": 0},
    "traffic_stats": {"utm": {}, "referrer": {}, "advertising": {}},
}

_V3_UNAUTHORIZED = (
    "The request has not been applied because it lacks valid authentication credentials for the target resource"
)
_TX_UNAUTHORIZED = "The request requires user authentication. Use the proper Authentication method and try again."


class SandboxError(Exception):
    """An E-goi error response; raised anywhere in a request, rendered in the caller's API style."""

    def __init__(self, status: int, detail: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors


@dataclass
class _State:
    """Everything the emulated account holds; every read and write happens under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    lists: dict[int, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)
    tags: dict[int, dict[str, Any]] = field(default_factory=dict)
    senders: list[dict[str, str]] = field(default_factory=list)
    sms: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def seeded(cls) -> _State:
        state, now = cls(), _now()
        state.lists[1] = {
            "list_id": 1,
            "internal_name": "Demo list",
            "public_name": "Demo list",
            "status": "active",
            "group_id": 0,
            "created": now,
            "updated": now,
        }
        state.contacts[1] = {}
        state.tags[1] = {"tag_id": 1, "name": "Demo tag", "color": "#FFFFFF"}
        state.senders.append(
            {
                "id": "1",
                "name": "Demo sender",
                "phoneNumber": "351-910000000",
                "senderStatus": "active",
            }
        )
        return state


marketing = Blueprint("egoi_sandbox_marketing", __name__)
transactional = Blueprint("egoi_sandbox_transactional", __name__)


def create_app() -> Flask:
    """A fresh emulator with freshly seeded state, so tests never share data."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = _MAX_BODY
    app.json.sort_keys = False  # keep the spec's field order in bodies
    app.extensions[_EXTENSION] = _State.seeded()
    app.before_request(_authenticate)
    app.register_error_handler(SandboxError, _render_sandbox_error)
    for code in (400, 404, 405, 413, 500):
        app.register_error_handler(code, _render_http_error)
    app.register_blueprint(marketing, url_prefix=MARKETING_PREFIX)
    app.register_blueprint(transactional, url_prefix=TRANSACTIONAL_PREFIX)
    app.add_url_rule("/_sandbox/sms", view_func=_sandbox_sms, methods=["GET"])
    return app


# --- plumbing: auth, errors, input ------------------------------------------------------------


def _state() -> _State:
    return current_app.extensions[_EXTENSION]


def _now() -> str:
    """E-goi's date-time format, ``YYYY-MM-DD hh:mm:ss`` (seed 000), in UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _is_transactional() -> bool:
    return request.path.startswith(TRANSACTIONAL_PREFIX + "/")


def _authenticate() -> None:
    """Both APIs reject a request without a key (or with the documented invalid one) with 401."""
    if not request.path.startswith((MARKETING_PREFIX + "/", TRANSACTIONAL_PREFIX + "/")):
        return
    # Header names are case-insensitive, so this also reads Slingshot's "ApiKey".
    key = request.headers.get("Apikey", "").strip()
    if not key or key == SANDBOX_INVALID_KEY:
        raise SandboxError(401, _TX_UNAUTHORIZED if _is_transactional() else _V3_UNAUTHORIZED)


def _problem(status: int, detail: str, errors: dict[str, Any] | None = None) -> Response:
    tx = _is_transactional()
    title = "Not Found" if tx and status == 404 else _TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": _TX_TYPE if tx else _V3_TYPE,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    return response


def _render_sandbox_error(error: SandboxError) -> Response:
    return _problem(error.status, error.detail, error.errors)


def _render_http_error(error: Any) -> Response:
    """Routing and framework errors (unknown path, wrong method, body too large) as JSON too."""
    code = getattr(error, "code", None) or 500
    detail = getattr(error, "description", None) if code != 500 else None
    response = _problem(code, detail or "The server encountered an unexpected condition")
    if getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _json_body() -> Any:
    """The parsed body; malformed or missing JSON is E-goi's 400, never a 500."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise SandboxError(400, "The request body is empty; a JSON body is required")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise SandboxError(400, "The request body is not valid JSON") from None


def _json_object() -> dict[str, Any]:
    body = _json_body()
    if not isinstance(body, dict):
        raise SandboxError(422, "The request body must be a JSON object", {"body": ["must be a JSON object"]})
    return body


def _is_int(value: Any, minimum: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and low <= int(raw) <= high):
        raise SandboxError(
            422,
            f"Invalid query parameter {name}",
            {name: [f"must be an integer from {low} to {high}"]},
        )
    return int(raw)


def _query_enum(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = request.args.get(name, default)
    if value not in allowed:
        raise SandboxError(
            422,
            f"Invalid query parameter {name}",
            {name: [f"must be one of: {', '.join(allowed)}"]},
        )
    return value


def _page(items: list[dict[str, Any]]) -> Response:
    """E-goi's collection shape; ``total_items`` counts every match so callers can page."""
    offset = _query_int("offset", 0, 0, 10**9)
    limit = _query_int("limit", 10, 1, _MAX_LIMIT)
    return jsonify({"total_items": len(items), "items": items[offset : offset + limit]})


def _ordered(items: list[dict[str, Any]], default_key: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Sort by the spec's ``order_by``/``order`` (default: id, newest first)."""
    key = _query_enum("order_by", default_key, keys)
    descending = _query_enum("order", "desc", ("asc", "desc")) == "desc"

    def sort_key(item: dict[str, Any]) -> tuple[Any, int]:
        value = item[key]
        return (value.casefold() if isinstance(value, str) else value, item[default_key])

    return sorted(items, key=sort_key, reverse=descending)


# --- marketing v3: lists and tags -------------------------------------------------------------


def _get_list(state: _State, list_id: int) -> dict[str, dict[str, Any]]:
    """The list's contacts by id, or E-goi's 404 when the list does not exist."""
    if list_id not in state.lists:
        raise SandboxError(404, f"List {list_id} not found")
    return state.contacts[list_id]


@marketing.get("/lists")
def list_lists() -> Response:
    state = _state()
    with state.lock:
        items = [dict(item) for item in state.lists.values()]
    for name in ("internal_name", "public_name"):
        if name in request.args:
            items = [item for item in items if item[name] == request.args[name]]
    keys = ("list_id", "internal_name", "public_name", "created", "updated")
    return _page(_ordered(items, "list_id", keys))


@marketing.get("/lists/<int:list_id>")
def get_list(list_id: int) -> Response:
    """ComplexList: the list plus languages and contact stats computed from the contacts."""
    state = _state()
    with state.lock:
        statuses = [c["base"]["status"] for c in _get_list(state, list_id).values()]
        body = {**state.lists[list_id], "default_language": "en", "available_languages": ["en"]}
    body["stats"] = {
        "total_contacts": len(statuses),
        "total_active": statuses.count("active"),
        "total_inactive": statuses.count("inactive"),
        "total_removed": statuses.count("removed"),
        "total_unconfirmed": statuses.count("unconfirmed"),
        "total_waiting_new_confirmation": 0,
    }
    return jsonify(body)


@marketing.get("/tags")
def list_tags() -> Response:
    state = _state()
    with state.lock:
        items = [dict(tag) for tag in state.tags.values()]
    return _page(_ordered(items, "tag_id", ("tag_id", "name", "color")))


@marketing.post("/tags")
def create_tag() -> tuple[Response, int]:
    body = _json_object()
    name, color = body.get("name"), body.get("color", "#FFFFFF")
    errors = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["is required and must be a non-empty string"]
    if not isinstance(color, str) or not re.fullmatch(r"#[0-9A-Fa-f]{6}", color):
        errors["color"] = ["must be a hexadecimal colour such as #FFFFFF"]
    if errors:
        raise SandboxError(422, "The tag is not valid", errors)
    state = _state()
    with state.lock:
        if any(tag["name"].casefold() == name.strip().casefold() for tag in state.tags.values()):
            raise SandboxError(
                409,
                "A tag with this name already exists",
                {"name_already_exists": "The provided name already exists"},
            )
        tag_id = max(state.tags, default=0) + 1
        tag = state.tags[tag_id] = {"tag_id": tag_id, "name": name.strip(), "color": color}
        return jsonify(dict(tag)), 201


# --- marketing v3: contacts -------------------------------------------------------------------


def _field_problem(name: str, value: str, enums: dict[str, tuple[str, ...]]) -> str | None:
    """Why E-goi would refuse this value for a base field, or None when it is acceptable."""
    if name in enums:
        return None if value in enums[name] else f"must be one of: {', '.join(enums[name])}"
    if name in ("cellphone", "phone") and not _PHONE.fullmatch(value):
        return _PHONE_HINT
    if name == "email" and not _EMAIL.fullmatch(value):
        return "must be a valid email address"
    if name == "birth_date":
        try:
            if _DATE.fullmatch(value) and date.fromisoformat(value):
                return None
        except ValueError:
            pass
        return "must be a real calendar date in the format yyyy-mm-dd"
    return None


def _check_base(base: Any, enums: dict[str, tuple[str, ...]]) -> tuple[dict[str, str], dict]:
    """Validate the writable base fields; null or "" clears a text field (PATCH)."""
    if not isinstance(base, dict):
        return {}, {"base": ["is required and must be an object"]}
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name in (*_TEXT_FIELDS, *enums):
        if name not in base:
            continue
        value = base[name]
        if name in _TEXT_FIELDS and value in (None, ""):
            values[name] = ""
        elif not isinstance(value, str):
            errors[name] = ["must be a string"]
        elif problem := _field_problem(name, value, enums):
            errors[name] = [problem]
        else:
            values[name] = value
    return values, errors


def _extra_item(item: Any) -> dict[str, Any] | None:
    """One extra field as E-goi shows it, or None when the spec would not accept it."""
    if not isinstance(item, dict) or not _is_int(item.get("field_id")):
        return None
    value = item.get("value")
    if isinstance(value, list) and all(_is_int(option) for option in value):
        return {"field_id": item["field_id"], "format": "options", "value": value}
    if isinstance(value, str):  # every other format (text, number, date, email...) is a string
        return {"field_id": item["field_id"], "format": "text", "value": value}
    return None


def _check_extra(extra: Any) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    if not isinstance(extra, list):
        return [], {"extra": ["must be an array"]}
    items = [_extra_item(item) for item in extra]
    if None in items:
        return [], {
            "extra": [
                f"item {items.index(None)} needs an integer field_id >= 1 and a "
                "value: a string or an array of option ids"
            ]
        }
    return items, {}


def _check_contact(
    body: dict[str, Any], enums: dict[str, tuple[str, ...]], required: bool
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The base values and extra fields of a contact body, or a 422 listing every problem."""
    base = body.get("base") if required else body.get("base", {})
    values, errors = _check_base(base, enums)
    extra, extra_errors = _check_extra(body.get("extra", []))
    errors.update(extra_errors)
    if errors:
        raise SandboxError(422, "The contact is not valid", errors)
    return values, extra


def _require_channel(base: dict[str, Any]) -> None:
    if not any(base.get(name) for name in _CHANNELS):
        raise SandboxError(
            422,
            "The contact is not valid",
            {"base": ["must include at least one of: email, cellphone, phone"]},
        )


def _check_unique(
    contacts: dict[str, dict[str, Any]],
    base: dict[str, Any],
    list_id: int,
    skip_id: str | None = None,
) -> None:
    """409 PostContactsConflict when another contact of the list has this email or cellphone."""
    for name in _UNIQUE_FIELDS:
        value = str(base.get(name) or "").casefold()
        if not value:
            continue
        for contact_id, contact in contacts.items():
            if contact_id != skip_id and str(contact["base"].get(name, "")).casefold() == value:
                raise SandboxError(
                    409,
                    f"The {name} is already used in list {list_id}",
                    {
                        "unique_field_in_use": "A unique field is already being used",
                        "field_id": name,
                        "contacts": [contact_id],
                    },
                )


def _apply(base: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    for name, value in values.items():
        if value == "":
            base.pop(name, None)
        else:
            base[name] = value
    return base


def _merge_extra(current: list[dict[str, Any]], updates: list[dict[str, Any]]) -> list[dict]:
    merged = {item["field_id"]: item for item in current}
    merged.update({item["field_id"]: item for item in updates})
    return list(merged.values())


def _new_base(contact_id: str) -> dict[str, Any]:
    """The read-only fields E-goi fills in for a contact created through the API."""
    now = _now()
    return {
        "contact_id": contact_id,
        "status": "active",
        "consent": "consent",
        "consent_date": now,
        "subscription_method": "api",
        "subscription_date": now,
        "subscription_form": 0,
        "unsubscription_method": "",
        "unsubscription_reason": "",
        "unsubscription_observation": "",
        "change_date": now[:10],
        "language": "en",
        "email_status": "active",
        "cellphone_status": "active",
        "phone_status": "active",
        "push_token_android": [],
        "push_token_ios": [],
    }


def _public(contact: dict[str, Any]) -> dict[str, Any]:
    """A deep enough copy for the response, so it is serialised outside the lock safely."""
    return {
        "base": dict(contact["base"]),
        "extra": [dict(item) for item in contact["extra"]],
        "tags": list(contact["tags"]),
    }


def _get_contact(state: _State, list_id: int, contact_id: str) -> dict[str, Any]:
    contact = _get_list(state, list_id).get(contact_id.lower())
    if contact is None:
        raise SandboxError(404, f"Contact {contact_id} not found in list {list_id}")
    return contact


@marketing.get("/lists/<int:list_id>/contacts")
def list_contacts(list_id: int) -> Response:
    """Contacts in creation order, filtered by the spec's cheap exact-match filters."""
    state = _state()
    with state.lock:
        items = [_public(c) for c in _get_list(state, list_id).values()]
    for name in ("first_name", "last_name", "email", "cellphone", "phone", "language"):
        if name in request.args:
            wanted = request.args[name].casefold()
            items = [c for c in items if str(c["base"].get(name, "")).casefold() == wanted]
    return _page(items)


@marketing.post("/lists/<int:list_id>/contacts")
def create_contact(list_id: int) -> tuple[Response, int]:
    body = _json_object()
    state = _state()
    with state.lock:
        contacts = _get_list(state, list_id)
        values, extra = _check_contact(body, _CREATE_ENUMS, required=True)
        _require_channel(values)
        _check_unique(contacts, values, list_id)
        contact_id = secrets.token_hex(5)
        while any(contact_id in listed for listed in state.contacts.values()):
            contact_id = secrets.token_hex(5)
        base = _apply(_new_base(contact_id), values)
        contacts[contact_id] = {"base": base, "extra": extra, "tags": []}
    return jsonify({"contact_id": contact_id}), 201


@marketing.get("/lists/<int:list_id>/contacts/<contact_id>")
def get_contact(list_id: int, contact_id: str) -> Response:
    state = _state()
    with state.lock:
        body = _public(_get_contact(state, list_id, contact_id))
    return jsonify({**body, **_ZERO_STATS})


@marketing.patch("/lists/<int:list_id>/contacts/<contact_id>")
def update_contact(list_id: int, contact_id: str) -> Response:
    """Partial update; answers 200 ``{contact_id}`` as the spec's PATCH response does."""
    body = _json_object()
    state = _state()
    with state.lock:
        contact = _get_contact(state, list_id, contact_id)
        values, extra = _check_contact(body, _PATCH_ENUMS, required=False)
        base = _apply(dict(contact["base"]), values)
        _require_channel(base)
        _check_unique(state.contacts[list_id], base, list_id, skip_id=base["contact_id"])
        base["change_date"] = _now()[:10]
        contact["base"], contact["extra"] = base, _merge_extra(contact["extra"], extra)
        return jsonify({"contact_id": base["contact_id"]})


@marketing.post("/lists/<int:list_id>/contacts/actions/attach-tag")
def attach_tag(list_id: int) -> tuple[Response, int]:
    """202 like E-goi, which attaches asynchronously: ids not in the list are skipped silently."""
    body = _json_object()
    tag_id, ids = body.get("tag_id"), body.get("contacts")
    errors = {}
    if not _is_int(tag_id):
        errors["tag_id"] = ["is required and must be an integer >= 1"]
    if not isinstance(ids, list) or not ids:
        errors["contacts"] = ["is required and must be a non-empty array of contact ids"]
    elif not all(isinstance(i, str) and _CONTACT_ID.fullmatch(i) for i in ids):
        errors["contacts"] = ["every item must be a contact id of 10 hexadecimal characters"]
    elif len({i.lower() for i in ids}) != len(ids):
        errors["contacts"] = ["items must be unique"]
    state = _state()
    with state.lock:
        contacts = _get_list(state, list_id)
        if errors:
            raise SandboxError(422, "The attach-tag request is not valid", errors)
        if tag_id not in state.tags:
            raise SandboxError(404, f"Tag {tag_id} not found")
        for contact in (contacts.get(i.lower()) for i in ids):
            if contact is not None and tag_id not in contact["tags"]:
                contact["tags"] = sorted([*contact["tags"], tag_id])
    return jsonify({"result": "success"}), 202


# --- transactional v2: SMS --------------------------------------------------------------------


@transactional.get("/sms/senders")
def list_sms_senders() -> Response:
    with _state().lock:
        return jsonify([dict(sender) for sender in _state().senders])


def _sms_problem(message: Any, senders: list[dict[str, str]]) -> str | None:
    """Why Slingshot would refuse one message of a batch, or None when it is sendable."""
    if not isinstance(message, dict):
        return "must be an object"
    if "templateId" in message:
        return f"template {message['templateId']!r} not found (the sandbox has no templates)"
    for name in ("to", "from", "textBody"):
        if not isinstance(message.get(name), str) or not message[name].strip():
            return f"{name} is required and must be a non-empty string"
    if not _PHONE.fullmatch(message["to"]):
        return f"to {_PHONE_HINT}"
    if not any(sender["id"] == message["from"] for sender in senders):
        return f"sender {message['from']!r} not found"
    for name, allowed in _SMS_ENUMS.items():
        if name in message and message[name] not in allowed:
            return f"{name} must be one of: {', '.join(allowed)}"
    if "maxCount" in message and not _is_int(message["maxCount"]):
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
    batch = _json_body()
    if not isinstance(batch, list) or not 1 <= len(batch) <= _SMS_BATCH:
        raise SandboxError(400, f"The body must be an array of 1 to {_SMS_BATCH} messages")
    state = _state()
    with state.lock:
        for index, message in enumerate(batch):
            if problem := _sms_problem(message, state.senders):
                raise SandboxError(400, f"Message {index}: {problem}")
        ids = [_store_sms(state, message) for message in batch]
    return jsonify([{"messageId": message_id} for message_id in ids]), 201


def _store_sms(state: _State, message: dict[str, Any]) -> str:
    """Keep the message's documented fields, with the spec's defaults, in the outbox."""
    message_id = str(len(state.sms) + 1)
    sent = {name: message[name] for name in _SMS_FIELDS if name in message}
    state.sms.append(
        {
            "messageId": message_id,
            "createDate": _now(),
            "priority": "non-urgent",
            "registered": False,
            "group": "default",
            **sent,
        }
    )
    return message_id


def _sandbox_sms() -> Response:
    """Sandbox-only outbox: every SMS accepted so far, newest first."""
    with _state().lock:
        return jsonify([dict(message) for message in reversed(_state().sms)])
