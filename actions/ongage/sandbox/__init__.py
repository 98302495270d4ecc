"""In-memory emulator of Ongage's Events & Trigger API, for ``serve --sandbox`` and tests.

Served paths: the list id leads the path, and ``/api/events...`` without one uses the account's
default list, ``DEFAULT_LIST`` (1), as the documentation's note says ("otherwise the default List
ID will be used"; https://ongage.atlassian.net/wiki/spaces/HELP/pages/947553199/Events+Trigger+API+Methods):

- ``GET|POST /<list_id>/api/events``, ``GET|PUT|DELETE /<list_id>/api/events/<id>``,
  ``PUT /<list_id>/api/events/<id>/status`` (toggles the status and answers the event).
- Sandbox only, no credentials: ``GET /_sandbox/events`` lists every event of every list.

Every API call needs the headers ``X_USERNAME``, ``X_PASSWORD`` and ``X_ACCOUNT_CODE`` (Ongage's
API FAQ); any non-empty values work except the password ``SANDBOX_INVALID_PASSWORD``, and a
missing or rejected one gets Ongage's 401 (its wording, seen in a real answer). Answers use
Ongage's envelope: ``{"metadata": {"error": false}, "payload": ...}``; errors
``{"metadata": {"error": true}, "payload": {"code", "message", "errors"}}``. Validation errors
are 400 with ``errors`` keyed by dotted field path; unknown lists and events are 404 (the
documentation gives no codes: these are the choices made here).

Seed state of every ``create_app()``: list 1 (the default list) with event 1 (the documentation's
birth date example, as written) and event 2 (its mailing example), and list 2, empty. One state
per app, guarded by a lock (threaded servers).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, request

from actions.ongage.sandbox.validation import (
    SORT_COLUMNS,
    Errors,
    event_errors,
    is_int,
    update_errors,
)

__all__ = ["DEFAULT_LIST", "OTHER_LIST", "SANDBOX_INVALID_PASSWORD", "create_app"]

SANDBOX_INVALID_PASSWORD = "sandbox-invalid-password"
DEFAULT_LIST = 1  # the account's default list: what /api/events... (no list segment) works on
OTHER_LIST = 2  # a second list, empty, so a call naming a list is seen not to reach the default one
AUTH_HEADERS = ("X_USERNAME", "X_PASSWORD", "X_ACCOUNT_CODE")
_EXTENSION = "ongage_sandbox"
_UNAUTHORIZED = (
    "Invalid Credentials. Please provide valid x_username, x_password and x_account_code headers. "
    'x_account_code as displayed in the "Account Profile" page in your Ongage account.'
)
# The fields an event keeps (the documentation's create and update fields); anything else is ignored.
_EVENT_FIELDS = (
    "name",
    "description",
    "based_on",
    "mailing_id",
    "date_field_name",
    "annually_event",
    "ongoing_event",
    "start_date",
    "end_date",
    "status",
    "segments",
    "segments_excluded",
    "distribution",
    "triggers",
)
_UPDATE_FIELDS = ("name", "description", "esp_connections_quota", "emails_limit")


class OngageError(Exception):
    def __init__(self, code: int, message: str, errors: Errors | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.errors = code, message, errors or {}


@dataclass
class State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    lists: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    next_id: int = 1

    def add(self, list_id: int, body: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        event = {"id": self.next_id, **{k: body[k] for k in _EVENT_FIELDS if k in body}}
        event.update(created=now, modified=now)
        self.lists[list_id][self.next_id] = event
        self.next_id += 1
        return event

    @classmethod
    def seeded(cls) -> State:
        state = cls(lists={DEFAULT_LIST: {}, OTHER_LIST: {}})
        default = [{"esp_connection_id": 60142, "domain": "default", "percent": 100}]
        state.add(
            DEFAULT_LIST,
            {
                "name": "Birth date event",
                "based_on": "date_field",
                "date_field_name": "birth_date",
                "annually_event": True,
                "ongoing_event": True,
                "status": True,
                "segments": [60478],
                "distribution": default,
                "triggers": [
                    {
                        "based_on": "list_field",
                        "email_messages": [2381],
                        "days_diff": 0,
                        "operator": "after",
                        "schedule_hour": 10,
                        "schedule_minute": 30,
                    }
                ],
            },
        )
        state.add(
            DEFAULT_LIST,
            {
                "name": "Based on mailing",
                "based_on": "mailing",
                "status": True,
                "segments": [60659],
                "mailing_id": 35847,
                "start_date": "2017-12-15",
                "end_date": "2017-12-25",
                "distribution": default,
                "triggers": [
                    {
                        "based_on": "mailing",
                        "email_messages": [2381],
                        "days_diff": 0,
                        "operator": "after",
                        "email_operator": "not_opened",
                        "schedule_hour": 10,
                        "schedule_minute": 30,
                    }
                ],
            },
        )
        return state


def create_app() -> Flask:
    """A fresh emulator with freshly seeded state, so tests never share data."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 20 * 1024 * 1024
    app.json.sort_keys = False
    app.extensions[_EXTENSION] = State.seeded()
    app.before_request(_authenticate)
    app.register_error_handler(OngageError, lambda e: _answer(e.code, _failure(e), error=True))
    for code in (400, 404, 405, 413, 500):
        app.register_error_handler(code, _http_error)
    for prefix in ("/<int:list_id>/api/events", "/api/events"):
        app.add_url_rule(prefix, view_func=_collection, methods=["GET", "POST"], endpoint=f"collection{prefix}")
        app.add_url_rule(
            f"{prefix}/<int:event_id>", view_func=_item, methods=["GET", "PUT", "DELETE"], endpoint=f"item{prefix}"
        )
        app.add_url_rule(
            f"{prefix}/<int:event_id>/status", view_func=_toggle, methods=["PUT"], endpoint=f"status{prefix}"
        )
    app.add_url_rule("/_sandbox/events", view_func=_all_events, methods=["GET"])
    return app


def _state() -> State:
    return current_app.extensions[_EXTENSION]


def _answer(status: int, payload: Any, error: bool = False) -> Response:
    body = json.dumps({"metadata": {"error": error}, "payload": payload})
    return Response(body, status=status, mimetype="application/json")


def _failure(error: OngageError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "errors": error.errors}


def _http_error(error: Any) -> Response:
    code = getattr(error, "code", None) or 500
    message = getattr(error, "description", None) if code != 500 else "Internal server error"
    response = _answer(code, {"code": code, "message": message or "Error", "errors": {}}, error=True)
    if getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _authenticate() -> None:
    if request.path.startswith("/_sandbox/"):
        return
    values = [request.headers.get(name, "") for name in AUTH_HEADERS]
    if not all(v.strip() for v in values) or values[1] == SANDBOX_INVALID_PASSWORD:
        raise OngageError(401, _UNAUTHORIZED)


def _body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError):
        raise OngageError(400, "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise OngageError(400, "The request body must be a JSON object")
    return body


def _invalid(errors: Errors) -> OngageError:
    first = next(iter(errors))
    return OngageError(400, f"Validation failed: {first}: {errors[first]}", errors)


def _events(state: State, list_id: int) -> dict[int, dict[str, Any]]:
    if list_id not in state.lists:
        raise OngageError(404, f"List {list_id} not found")
    return state.lists[list_id]


def _event(state: State, list_id: int, event_id: int) -> dict[str, Any]:
    event = _events(state, list_id).get(event_id)
    if event is None:
        raise OngageError(404, f"Event {event_id} not found in list {list_id}")
    return event


def _collection(list_id: int = DEFAULT_LIST) -> Response:
    state = _state()
    if request.method == "POST":
        body = _body()
        errors = event_errors(body)
        if errors:
            raise _invalid(errors)
        with state.lock:
            _events(state, list_id)
            return _answer(200, state.add(list_id, body))
    name, sort, order, offset, limit = _list_query()
    with state.lock:
        found = [e for e in _events(state, list_id).values() if name.casefold() in e["name"].casefold()]
        found.sort(key=lambda e: (_sort_key(e.get(sort)), e["id"]), reverse=order == "DESC")
        return _answer(200, found[offset : offset + limit if limit is not None else None])


def _sort_key(value: Any) -> tuple[int, Any]:
    """Missing values first, then numbers, then text (case-insensitive)."""
    if value is None:
        return (0, 0)
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value).casefold())


def _list_query() -> tuple[str, str, str, int, int | None]:
    """GET /api/events: name (required), sort (a column), order (ASC/DESC), offset, limit."""
    args, errors = request.args, {}
    name = args.get("name", "")
    if not name.strip():
        errors["name"] = "name is required"
    sort = args.get("sort", "id")
    if sort not in SORT_COLUMNS:
        errors["sort"] = "must be one of the columns: " + ", ".join(SORT_COLUMNS)
    order = args.get("order", "ASC")
    if order not in ("ASC", "DESC"):
        errors["order"] = 'must be "ASC" or "DESC"'
    numbers: dict[str, int | None] = {}
    for key, low in (("offset", 0), ("limit", 1)):
        raw = args.get(key)
        if raw is None:
            numbers[key] = None
        elif raw.isascii() and raw.isdigit() and is_int(int(raw), low):
            numbers[key] = int(raw)
        else:
            errors[key] = f"must be an integer of at least {low}"
    if errors:
        raise _invalid(errors)
    return name, sort, order, numbers["offset"] or 0, numbers["limit"]


def _item(event_id: int, list_id: int = DEFAULT_LIST) -> Response:
    state = _state()
    if request.method == "PUT":
        body = _body()
        errors = update_errors(body)
        if errors:
            raise _invalid(errors)
        with state.lock:
            event = _event(state, list_id, event_id)
            event.update({k: body[k] for k in _UPDATE_FIELDS if k in body}, modified=int(time.time()))
            return _answer(200, event)
    with state.lock:
        event = _event(state, list_id, event_id)
        if request.method == "DELETE":
            del state.lists[list_id][event_id]
            return _answer(200, {"id": event_id})
        return _answer(200, event)


def _toggle(event_id: int, list_id: int = DEFAULT_LIST) -> Response:
    """The status acts as a toggle: an active event is deactivated and vice versa."""
    state = _state()
    with state.lock:
        event = _event(state, list_id, event_id)
        event.update(status=not event.get("status", False), modified=int(time.time()))
        return _answer(200, event)


def _all_events() -> Response:
    state = _state()
    with state.lock:
        listed = {str(list_id): list(events.values()) for list_id, events in state.lists.items()}
    return Response(json.dumps(listed), mimetype="application/json")
