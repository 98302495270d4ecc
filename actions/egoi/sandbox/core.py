"""Plumbing shared by the E-goi emulator's modules: state, auth, errors, input and paging."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

SANDBOX_INVALID_KEY = "sandbox-invalid-key"
MARKETING_PREFIX = "/api"
TRANSACTIONAL_PREFIX = "/slingshot/api/v2"

_EXTENSION = "egoi_sandbox"
# E-goi refuses POST/PATCH/PUT bodies over 20 MB with 413 (https://developers.e-goi.com/api/v3/)
_MAX_BODY = 20 * 1024 * 1024
MAX_LIMIT = 1000  # the v3 spec's maximum for `limit` on /lists, /lists/{id}/contacts and /tags
PHONE = re.compile(r"\d{1,3}-\d{4,20}", re.ASCII)  # E-goi's ^\d{1,3}-\d{4,20}$, ASCII digits only
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CONTACT_ID = re.compile(r"[a-fA-F\d]{10}")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
PHONE_HINT = "must be country code, '-', number (e.g. 351-912345678; pattern ^\\d{1,3}-\\d{4,20}$)"
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
class State:
    """Everything the emulated account holds; every read and write happens under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    lists: dict[int, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)
    tags: dict[int, dict[str, Any]] = field(default_factory=dict)
    senders: list[dict[str, str]] = field(default_factory=list)
    sms: list[dict[str, Any]] = field(default_factory=list)
    # Per-module stores of the modules added later (email, verify, campaigns, ...), by module name,
    # so a module owns its data without widening this class: see ``store``.
    stores: dict[str, Any] = field(default_factory=dict)

    def store(self, name: str, factory: Callable[[], Any]) -> Any:
        """The named module's store, created by ``factory`` on first use (call under ``lock``)."""
        if name not in self.stores:
            self.stores[name] = factory()
        return self.stores[name]

    @classmethod
    def seeded(cls) -> State:
        state, now = cls(), timestamp()
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


# Every module adds its routes to these; ``create_app`` mounts them under the APIs' prefixes.
marketing = Blueprint("egoi_sandbox_marketing", __name__)
transactional = Blueprint("egoi_sandbox_transactional", __name__)
# Sandbox-only pages at ``/_sandbox/...``, without a key: what a real account would show elsewhere.
inspect = Blueprint("egoi_sandbox_inspect", __name__)


def configure(app: Flask) -> None:
    """Fresh seeded state, the key check and E-goi's error bodies on ``app``."""
    app.config["MAX_CONTENT_LENGTH"] = _MAX_BODY
    app.json.sort_keys = False  # keep the spec's field order in bodies
    app.extensions[_EXTENSION] = State.seeded()
    app.before_request(_authenticate)
    app.register_error_handler(SandboxError, _render_sandbox_error)
    for code in (400, 404, 405, 413, 500):
        app.register_error_handler(code, _render_http_error)


def current_state() -> State:
    return current_app.extensions[_EXTENSION]


def timestamp() -> str:
    """E-goi's date-time format, ``YYYY-MM-DD hh:mm:ss`` (https://developers.e-goi.com/api/v3/), in UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def is_transactional() -> bool:
    return request.path.startswith(TRANSACTIONAL_PREFIX + "/")


def _authenticate() -> None:
    """Both APIs reject a request without a key (or with the documented invalid one) with 401."""
    if not request.path.startswith((MARKETING_PREFIX + "/", TRANSACTIONAL_PREFIX + "/")):
        return
    # Header names are case-insensitive, so this also reads Slingshot's "ApiKey".
    key = request.headers.get("Apikey", "").strip()
    if not key or key == SANDBOX_INVALID_KEY:
        raise SandboxError(401, _TX_UNAUTHORIZED if is_transactional() else _V3_UNAUTHORIZED)


def problem(status: int, detail: str, errors: dict[str, Any] | None = None) -> Response:
    tx = is_transactional()
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
    return problem(error.status, error.detail, error.errors)


def _render_http_error(error: Any) -> Response:
    """Routing and framework errors (unknown path, wrong method, body too large) as JSON too."""
    code = getattr(error, "code", None) or 500
    detail = getattr(error, "description", None) if code != 500 else None
    response = problem(code, detail or "The server encountered an unexpected condition")
    if getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def json_body() -> Any:
    """The parsed body; malformed or missing JSON is E-goi's 400, never a 500."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise SandboxError(400, "The request body is empty; a JSON body is required")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise SandboxError(400, "The request body is not valid JSON") from None


def json_object() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise SandboxError(422, "The request body must be a JSON object", {"body": ["must be a JSON object"]})
    return body


def is_int(value: Any, minimum: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def query_int(name: str, default: int, low: int, high: int) -> int:
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


def query_enum(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = request.args.get(name, default)
    if value not in allowed:
        raise SandboxError(
            422,
            f"Invalid query parameter {name}",
            {name: [f"must be one of: {', '.join(allowed)}"]},
        )
    return value


def page(items: list[dict[str, Any]]) -> Response:
    """E-goi's collection shape; ``total_items`` counts every match so callers can page."""
    offset = query_int("offset", 0, 0, 10**9)
    limit = query_int("limit", 10, 1, MAX_LIMIT)
    return jsonify({"total_items": len(items), "items": items[offset : offset + limit]})


def ordered(items: list[dict[str, Any]], default_key: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Sort by the spec's ``order_by``/``order`` (default: id, newest first)."""
    key = query_enum("order_by", default_key, keys)
    descending = query_enum("order", "desc", ("asc", "desc")) == "desc"

    def sort_key(item: dict[str, Any]) -> tuple[Any, int]:
        value = item[key]
        return (value.casefold() if isinstance(value, str) else value, item[default_key])

    return sorted(items, key=sort_key, reverse=descending)
