"""Marketing API v3: lists, tags, contacts, a list's fields and the contact search.

Paths (under ``/api``): ``GET /lists``, ``GET /lists/{id}``, ``GET /lists/{id}/fields``,
``GET|POST /lists/{id}/contacts``, ``GET|PATCH /lists/{id}/contacts/{contact_id}``,
``POST /lists/{id}/contacts/actions/attach-tag`` and ``.../detach-tag``, ``GET /contacts/search``,
``GET|POST /tags``.

Seeded extra fields of list 1 (``GET /lists/1/fields``): 1 Company (text), 2 Membership (options:
1 Gold, 2 Silver), 3 City (text), 4 Renewal date (date), 5 Points (number), 6 Work cellphone
(cellphone), 7 Invoice email (email). A contact's ``extra`` values are
checked against them as E-goi checks them: the field must exist in the list and the value must
fit its format (an option field takes an array of its option ids; every other format a string).
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any

from flask import Response, jsonify, request

from actions.egoi.sandbox import webhooks
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
    query_int,
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
_SEARCH_TYPES = ("email", "cellphone", "phone")
_NUMBER = re.compile(r"-?\d+(\.\d+)?", re.ASCII)

# GET /lists/{id}/fields: the base fields every list has (ComplexField, type "base").
_BASE_FIELDS = (
    ("email", "email", True),
    ("cellphone", "cellphone", True),
    ("phone", "phone", False),
    ("first_name", "text", False),
    ("last_name", "text", False),
    ("birth_date", "date", False),
    ("language", "text", False),
)


def _option(option_id: int, en: str, pt: str) -> dict[str, Any]:
    return {"option_id": option_id, "en": en, "pt": pt, "br": pt, "es": en, "de": en, "hu": en, "fr": en}


def _seed_fields() -> dict[int, dict[int, dict[str, Any]]]:
    """Extra fields by list and by id, in ComplexField's shape (field_id is a string there)."""

    def extra(field_id: int, name: str, fmt: str, options: list | None = None) -> dict[str, Any]:
        return {
            "field_id": str(field_id),
            "name": name,
            "format": fmt,
            "unique": False,
            "type": "extra",
            "options": options or [],
        }

    membership = [_option(1, "Gold", "Ouro"), _option(2, "Silver", "Prata")]
    return {
        1: {
            1: extra(1, "Company", "text"),
            2: extra(2, "Membership", "options", membership),
            3: extra(3, "City", "text"),
            4: extra(4, "Renewal date", "date"),
            5: extra(5, "Points", "number"),
            6: extra(6, "Work cellphone", "cellphone"),
            7: extra(7, "Invoice email", "email"),
        }
    }


def list_fields_of(state: State, list_id: int) -> dict[int, dict[str, Any]]:
    """The extra fields of a list (call under the lock, after checking the list exists)."""
    return state.store("fields", _seed_fields).setdefault(list_id, {})


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


@marketing.get("/lists/<int:list_id>/fields")
def list_fields(list_id: int) -> Response:
    """A bare array of ComplexField (base fields first, then extra), paged by offset and limit."""
    offset = query_int("offset", 0, 0, 10**9)
    limit = query_int("limit", 10, 1, 1000)
    state = current_state()
    with state.lock:
        get_list_contacts(state, list_id)
        extra = [
            dict(field, options=[dict(o) for o in field["options"]])
            for field in list_fields_of(state, list_id).values()
        ]
    base = [
        {"field_id": name, "name": name, "format": fmt, "unique": unique, "type": "base", "options": []}
        for name, fmt, unique in _BASE_FIELDS
    ]
    return jsonify([*base, *extra][offset : offset + limit])


@marketing.get("/contacts/search")
def search_contacts() -> Response:
    """Every list's contacts whose email (any case), cellphone or phone is ``contact``; none is 404."""
    kind, wanted = request.args.get("type", "email"), request.args.get("contact")
    errors = {}
    if kind not in _SEARCH_TYPES:
        errors["type"] = [f"must be one of: {', '.join(_SEARCH_TYPES)}"]
    if not wanted:
        errors["contact"] = ["is required"]
    if errors:
        raise SandboxError(422, "Invalid query parameters", errors)
    wanted = wanted.casefold() if kind == "email" else wanted
    state = current_state()
    with state.lock:
        items = [
            {"list_id": list_id, "contact_id": contact_id}
            for list_id, contacts in state.contacts.items()
            for contact_id, contact in contacts.items()
            if (str(contact["base"].get(kind, "")).casefold() if kind == "email" else contact["base"].get(kind))
            == wanted
        ]
    if not items:
        raise SandboxError(404, "No contact was found")
    return jsonify({"items": items})


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


def _extra_problem(item: Any, fields: dict[int, dict[str, Any]], list_id: int) -> str | None:
    """Why E-goi would refuse one extra field value of a contact, or None."""
    if not isinstance(item, dict) or not is_int(item.get("field_id")):
        return "needs an integer field_id >= 1 and a value"
    field = fields.get(item["field_id"])
    if field is None:
        return f"field {item['field_id']} does not exist in list {list_id}"
    value, fmt = item.get("value"), field["format"]
    if fmt == "options":
        known = {option["option_id"] for option in field["options"]}
        if not isinstance(value, list) or not all(is_int(o) and o in known for o in value):
            return f"field {item['field_id']} takes an array of its option ids ({', '.join(map(str, sorted(known)))})"
        return None
    if not isinstance(value, str):
        return f"field {item['field_id']} ({fmt}) takes a string value"
    if value == "" or fmt == "text":
        return None
    return _format_problem(fmt, value)


def _format_problem(fmt: str, value: str) -> str | None:
    if fmt in ("cellphone", "phone"):
        return None if PHONE.fullmatch(value) else PHONE_HINT
    if fmt == "email":
        return None if EMAIL.fullmatch(value) else "must be a valid email address"
    if fmt == "number":
        return None if _NUMBER.fullmatch(value) else "must be a number"
    return _field_problem("birth_date", value, {})  # date: same rule as the base birth date


def _check_extra(
    extra: Any, fields: dict[int, dict[str, Any]], list_id: int
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    if not isinstance(extra, list):
        return [], {"extra": ["must be an array"]}
    problems = [
        f"item {index}: {problem}"
        for index, item in enumerate(extra)
        if (problem := _extra_problem(item, fields, list_id))
    ]
    if problems:
        return [], {"extra": problems}
    items = [
        {"field_id": item["field_id"], "format": fields[item["field_id"]]["format"], "value": item["value"]}
        for item in extra
    ]
    return items, {}


def _check_contact(
    state: State, list_id: int, body: dict[str, Any], enums: dict[str, tuple[str, ...]], required: bool
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The base values and extra fields of a contact body, or a 422 listing every problem."""
    base = body.get("base") if required else body.get("base", {})
    values, errors = _check_base(base, enums)
    extra, extra_errors = _check_extra(body.get("extra", []), list_fields_of(state, list_id), list_id)
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
    """Values sent replace the stored ones; an empty string clears a field."""
    merged = {item["field_id"]: item for item in current}
    merged.update({item["field_id"]: item for item in updates})
    return [item for item in merged.values() if item["value"] not in ("", [])]


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
        values, extra = _check_contact(state, list_id, body, _CREATE_ENUMS, required=True)
        _require_channel(values)
        _check_unique(contacts, values, list_id)
        contact_id = secrets.token_hex(5)
        while any(contact_id in listed for listed in state.contacts.values()):
            contact_id = secrets.token_hex(5)
        base = _apply(_new_base(contact_id), values)
        contacts[contact_id] = {"base": base, "extra": _merge_extra([], extra), "tags": []}
        webhooks.fire_contact(state, list_id, "subscription", contacts[contact_id])
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
        values, extra = _check_contact(state, list_id, body, _PATCH_ENUMS, required=False)
        base = _apply(dict(contact["base"]), values)
        _require_channel(base)
        _check_unique(state.contacts[list_id], base, list_id, skip_id=base["contact_id"])
        base["change_date"] = timestamp()[:10]
        previous = contact["base"]
        contact["base"], contact["extra"] = base, _merge_extra(contact["extra"], extra)
        webhooks.contact_updated(state, list_id, previous, contact)
        return jsonify({"contact_id": base["contact_id"]})


def _tag_request(list_id: int, action: str) -> tuple[dict[str, dict[str, Any]], int, list[str]]:
    """The list's contacts, the tag and the contact ids of an attach-tag or detach-tag body.
    Only the by-contacts form of the spec's oneOf is emulated (no segments, no field ids)."""
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
    contacts = get_list_contacts(state, list_id)  # under the caller's lock
    if errors:
        raise SandboxError(422, f"The {action} request is not valid", errors)
    if tag_id not in state.tags:
        raise SandboxError(404, f"Tag {tag_id} not found")
    return contacts, tag_id, ids


@marketing.post("/lists/<int:list_id>/contacts/actions/attach-tag")
def attach_tag(list_id: int) -> tuple[Response, int]:
    """202 like E-goi, which attaches asynchronously: ids not in the list are skipped silently."""
    state = current_state()
    with state.lock:
        contacts, tag_id, ids = _tag_request(list_id, "attach-tag")
        for contact in (contacts.get(i.lower()) for i in ids):
            if contact is not None and tag_id not in contact["tags"]:
                contact["tags"] = sorted([*contact["tags"], tag_id])
    return jsonify({"result": "success"}), 202


@marketing.post("/lists/<int:list_id>/contacts/actions/detach-tag")
def detach_tag(list_id: int) -> tuple[Response, int]:
    """202 like attach-tag: ids not in the list, or without the tag, are skipped silently."""
    state = current_state()
    with state.lock:
        contacts, tag_id, ids = _tag_request(list_id, "detach-tag")
        for contact in (contacts.get(i.lower()) for i in ids):
            if contact is not None and tag_id in contact["tags"]:
                contact["tags"] = [tag for tag in contact["tags"] if tag != tag_id]
    return jsonify({"result": "success"}), 202
