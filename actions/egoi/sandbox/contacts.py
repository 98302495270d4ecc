"""Marketing API v3: lists, tags and contacts."""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any

from flask import Response, jsonify, request

from actions.egoi.sandbox.core import (
    CONTACT_ID,
    DATE,
    EMAIL,
    PHONE,
    PHONE_HINT,
    SandboxError,
    State,
    current_state,
    is_int,
    json_object,
    marketing,
    ordered,
    page,
    timestamp,
)

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


def get_list_contacts(state: State, list_id: int) -> dict[str, dict[str, Any]]:
    """The list's contacts by id, or E-goi's 404 when the list does not exist."""
    if list_id not in state.lists:
        raise SandboxError(404, f"List {list_id} not found")
    return state.contacts[list_id]


@marketing.get("/lists")
def list_lists() -> Response:
    state = current_state()
    with state.lock:
        items = [dict(item) for item in state.lists.values()]
    for name in ("internal_name", "public_name"):
        if name in request.args:
            items = [item for item in items if item[name] == request.args[name]]
    keys = ("list_id", "internal_name", "public_name", "created", "updated")
    return page(ordered(items, "list_id", keys))


@marketing.get("/lists/<int:list_id>")
def get_list(list_id: int) -> Response:
    """ComplexList: the list plus languages and contact stats computed from the contacts."""
    state = current_state()
    with state.lock:
        statuses = [c["base"]["status"] for c in get_list_contacts(state, list_id).values()]
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
    state = current_state()
    with state.lock:
        items = [dict(tag) for tag in state.tags.values()]
    return page(ordered(items, "tag_id", ("tag_id", "name", "color")))


@marketing.post("/tags")
def create_tag() -> tuple[Response, int]:
    body = json_object()
    name, color = body.get("name"), body.get("color", "#FFFFFF")
    errors = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["is required and must be a non-empty string"]
    if not isinstance(color, str) or not re.fullmatch(r"#[0-9A-Fa-f]{6}", color):
        errors["color"] = ["must be a hexadecimal colour such as #FFFFFF"]
    if errors:
        raise SandboxError(422, "The tag is not valid", errors)
    state = current_state()
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


def _field_problem(name: str, value: str, enums: dict[str, tuple[str, ...]]) -> str | None:
    """Why E-goi would refuse this value for a base field, or None when it is acceptable."""
    if name in enums:
        return None if value in enums[name] else f"must be one of: {', '.join(enums[name])}"
    if name in ("cellphone", "phone") and not PHONE.fullmatch(value):
        return PHONE_HINT
    if name == "email" and not EMAIL.fullmatch(value):
        return "must be a valid email address"
    if name == "birth_date":
        try:
            if DATE.fullmatch(value) and date.fromisoformat(value):
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
    if not isinstance(item, dict) or not is_int(item.get("field_id")):
        return None
    value = item.get("value")
    if isinstance(value, list) and all(is_int(option) for option in value):
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
    now = timestamp()
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


def _get_contact(state: State, list_id: int, contact_id: str) -> dict[str, Any]:
    contact = get_list_contacts(state, list_id).get(contact_id.lower())
    if contact is None:
        raise SandboxError(404, f"Contact {contact_id} not found in list {list_id}")
    return contact


@marketing.get("/lists/<int:list_id>/contacts")
def list_contacts(list_id: int) -> Response:
    """Contacts in creation order, filtered by the spec's cheap exact-match filters."""
    state = current_state()
    with state.lock:
        items = [_public(c) for c in get_list_contacts(state, list_id).values()]
    for name in ("first_name", "last_name", "email", "cellphone", "phone", "language"):
        if name in request.args:
            wanted = request.args[name].casefold()
            items = [c for c in items if str(c["base"].get(name, "")).casefold() == wanted]
    return page(items)


@marketing.post("/lists/<int:list_id>/contacts")
def create_contact(list_id: int) -> tuple[Response, int]:
    body = json_object()
    state = current_state()
    with state.lock:
        contacts = get_list_contacts(state, list_id)
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
    state = current_state()
    with state.lock:
        body = _public(_get_contact(state, list_id, contact_id))
    return jsonify({**body, **_ZERO_STATS})


@marketing.patch("/lists/<int:list_id>/contacts/<contact_id>")
def update_contact(list_id: int, contact_id: str) -> Response:
    """Partial update; answers 200 ``{contact_id}`` as the spec's PATCH response does."""
    body = json_object()
    state = current_state()
    with state.lock:
        contact = _get_contact(state, list_id, contact_id)
        values, extra = _check_contact(body, _PATCH_ENUMS, required=False)
        base = _apply(dict(contact["base"]), values)
        _require_channel(base)
        _check_unique(state.contacts[list_id], base, list_id, skip_id=base["contact_id"])
        base["change_date"] = timestamp()[:10]
        contact["base"], contact["extra"] = base, _merge_extra(contact["extra"], extra)
        return jsonify({"contact_id": base["contact_id"]})


@marketing.post("/lists/<int:list_id>/contacts/actions/attach-tag")
def attach_tag(list_id: int) -> tuple[Response, int]:
    """202 like E-goi, which attaches asynchronously: ids not in the list are skipped silently."""
    body = json_object()
    tag_id, ids = body.get("tag_id"), body.get("contacts")
    errors = {}
    if not is_int(tag_id):
        errors["tag_id"] = ["is required and must be an integer >= 1"]
    if not isinstance(ids, list) or not ids:
        errors["contacts"] = ["is required and must be a non-empty array of contact ids"]
    elif not all(isinstance(i, str) and CONTACT_ID.fullmatch(i) for i in ids):
        errors["contacts"] = ["every item must be a contact id of 10 hexadecimal characters"]
    elif len({i.lower() for i in ids}) != len(ids):
        errors["contacts"] = ["items must be unique"]
    state = current_state()
    with state.lock:
        contacts = get_list_contacts(state, list_id)
        if errors:
            raise SandboxError(422, "The attach-tag request is not valid", errors)
        if tag_id not in state.tags:
            raise SandboxError(404, f"Tag {tag_id} not found")
        for contact in (contacts.get(i.lower()) for i in ids):
            if contact is not None and tag_id not in contact["tags"]:
                contact["tags"] = sorted([*contact["tags"], tag_id])
    return jsonify({"result": "success"}), 202
