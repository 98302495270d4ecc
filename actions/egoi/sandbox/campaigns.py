"""Marketing API v3: campaigns and automations.

Paths (under ``/api``): ``GET /campaigns`` with every filter of getAllCampaigns (https://developers.e-goi.com/api/v3/),
``GET /automations`` with getAllAutomations' filters and ``DELETE /automations/{id}`` (204).

Seeded in every fresh sandbox (so filters, order and deletes can be tried): six campaigns, one per
channel, with different statuses and dates in 2024, and three automations (1 and 2 on list 1,
3 inactive). Query parameters are checked as the spec types them: an enum value not listed, an
integer that is not one or a date-time not in ``YYYY-MM-DD hh:mm:ss`` is E-goi's 422 naming it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Response, jsonify, request

from actions.egoi.sandbox.core import SandboxError, current_state, marketing, query_enum, query_int

# Published spec's maxima for these collections (E-goi's API v3 guide says 100; the catalog never sends more).
_MAX_LIMIT = 1000
_CHANNELS = ("email", "push", "sms", "smart_sms", "voice", "web_push")
_CAMPAIGN_STATUSES = ("draft", "canceled", "queued", "paused", "sending", "sent")
_CAMPAIGN_ORDER_BY = ("list_id", "internal_name", "created_by", "group_id", "created")
_CAMPAIGN_INTS = ("list_id", "created_by", "group_id")
_CAMPAIGN_TEXTS = ("campaign_hash", "internal_name")
_DATE_RANGES = ("created", "updated", "start_date", "end_date", "schedule_date")
_AUTOMATION_STATUSES = ("active", "inactive")
_AUTOMATION_ORDER_BY = ("automation_id", "title", "list_id", "created_by")
_INTEGER = re.compile(r"-?\d{1,10}", re.ASCII)


def _campaign(
    cid: int, channel: str, status: str, name: str, created: str, start: str = "", end: str = "", schedule: str = ""
) -> dict[str, Any]:
    return {
        "id": cid,
        "campaign_hash": f"c0ffee{cid:04d}",
        "status": status,
        "thumbnail": "",
        "channel": channel,
        "internal_name": name,
        "list_id": 1,
        "title": name,
        "created_by": 1 if cid % 2 else 2,
        "group_id": 1 if channel == "email" else 2,
        "created": created,
        "updated": created,
        "start_date": start,
        "end_date": end,
        "schedule_date": {"date": schedule, "enabled": bool(schedule)},
        "processed_messages": 120 if status == "sent" else 0,
        "automation_id": 1 if cid == 4 else 0,
    }


def _seed() -> dict[str, Any]:
    campaigns = [
        _campaign(
            1,
            "email",
            "sent",
            "January newsletter",
            "2024-01-10 09:00:00",
            "2024-01-11 10:00:00",
            "2024-01-11 10:30:00",
        ),
        _campaign(
            2, "sms", "sent", "Spring sale SMS", "2024-03-05 14:00:00", "2024-03-06 09:00:00", "2024-03-06 09:05:00"
        ),
        _campaign(3, "email", "draft", "Summer newsletter", "2024-06-20 16:45:00"),
        _campaign(4, "push", "queued", "App re-engagement", "2024-07-01 08:00:00", schedule="2024-12-01 09:00:00"),
        _campaign(5, "voice", "canceled", "Appointment reminder call", "2024-08-15 11:30:00"),
        _campaign(6, "web_push", "paused", "Black Friday web push", "2024-11-20 18:00:00", "2024-11-29 00:00:00"),
        _campaign(7, "smart_sms", "sending", "Christmas smart SMS", "2024-12-10 12:00:00", "2024-12-20 08:00:00"),
    ]
    automations = [
        _automation(1, "Welcome series", 1, "active", "2024-01-02"),
        _automation(2, "Birthday greetings", 1, "active", "2024-02-14"),
        _automation(3, "Win-back", 1, "inactive", "2024-05-30"),
    ]
    return {"campaigns": campaigns, "automations": {a["automation_id"]: a for a in automations}}


def _automation(aid: int, title: str, list_id: int, status: str, created: str) -> dict[str, Any]:
    return {
        "automation_id": aid,
        "title": title,
        "list_id": list_id,
        "status": status,
        "created_by": 1,
        "allow_multiple_contacts": aid != 2,
        "contact_limit": 0,
        "created": created,
        "updated": created,
    }


def _store() -> dict[str, Any]:
    return current_state().store("campaigns", _seed)


def _optional_int(name: str, errors: dict[str, list[str]]) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not _INTEGER.fullmatch(raw):
        errors[name] = ["must be an integer"]
        return None
    return int(raw)


def _optional_enum(name: str, allowed: tuple[str, ...], errors: dict[str, list[str]]) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in allowed:
        errors[name] = [f"must be one of: {', '.join(allowed)}"]
        return None
    return value


def _optional_date_time(name: str, errors: dict[str, list[str]]) -> str | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        errors[name] = ["must be a date-time in the format YYYY-MM-DD hh:mm:ss"]
        return None
    if len(value) != 19:  # strptime accepts single-digit parts; E-goi's format does not
        errors[name] = ["must be a date-time in the format YYYY-MM-DD hh:mm:ss"]
        return None
    return value


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise SandboxError(422, "Invalid query parameters", errors)


def _page(items: list[dict[str, Any]]) -> Response:
    offset = query_int("offset", 0, 0, 10**9)
    limit = query_int("limit", 10, 1, _MAX_LIMIT)
    return jsonify({"total_items": len(items), "items": items[offset : offset + limit]})


def _sorted(items: list[dict[str, Any]], key: str, descending: bool, tiebreak: str) -> list[dict[str, Any]]:
    def sort_key(item: dict[str, Any]) -> tuple[Any, Any]:
        value = item[key]
        return (value.casefold() if isinstance(value, str) else value, item[tiebreak])

    return sorted(items, key=sort_key, reverse=descending)


def _date_of(campaign: dict[str, Any], prefix: str) -> str:
    value = campaign["schedule_date"]["date"] if prefix == "schedule_date" else campaign[prefix]
    return value or ""


@marketing.get("/campaigns")
def list_campaigns() -> Response:
    """Filters combine with AND; a date range keeps campaigns whose date is set and within it."""
    errors: dict[str, list[str]] = {}
    wanted: dict[str, Any] = {
        "channel": _optional_enum("channel", _CHANNELS, errors),
        "status": _optional_enum("status", _CAMPAIGN_STATUSES, errors),
        **{name: _optional_int(name, errors) for name in _CAMPAIGN_INTS},
        **{name: request.args.get(name) for name in _CAMPAIGN_TEXTS},
    }
    ranges = {
        prefix: (_optional_date_time(f"{prefix}_min", errors), _optional_date_time(f"{prefix}_max", errors))
        for prefix in _DATE_RANGES
    }
    order_by = query_enum("order_by", "created", _CAMPAIGN_ORDER_BY)
    descending = query_enum("order", "desc", ("asc", "desc")) == "desc"
    _raise(errors)
    with current_state().lock:
        items = [dict(c, schedule_date=dict(c["schedule_date"])) for c in _store()["campaigns"]]
    items = [c for c in items if all(v is None or c[k] == v for k, v in wanted.items())]
    for prefix, (low, high) in ranges.items():
        if low is not None:
            items = [c for c in items if _date_of(c, prefix) and _date_of(c, prefix) >= low]
        if high is not None:
            items = [c for c in items if _date_of(c, prefix) and _date_of(c, prefix) <= high]
    return _page(_sorted(items, order_by, descending, "id"))


@marketing.get("/automations")
def list_automations() -> Response:
    errors: dict[str, list[str]] = {}
    wanted: dict[str, Any] = {
        "status": _optional_enum("status", _AUTOMATION_STATUSES, errors),
        "automation_id": _optional_int("automation_id", errors),
        "created_by": _optional_int("created_by", errors),
        "list_id": _optional_int("list_id", errors),
        "title": request.args.get("title"),
    }
    if wanted["list_id"] is not None and wanted["list_id"] < 1:
        errors["list_id"] = ["must be an integer >= 1"]
    order_by = query_enum("order_by", "automation_id", _AUTOMATION_ORDER_BY)
    descending = query_enum("order", "desc", ("asc", "desc")) == "desc"
    _raise(errors)
    with current_state().lock:
        items = [dict(a) for a in _store()["automations"].values()]
    items = [a for a in items if all(v is None or a[k] == v for k, v in wanted.items())]
    return _page(_sorted(items, order_by, descending, "automation_id"))


@marketing.delete("/automations/<int:automation_id>")
def delete_automation(automation_id: int) -> tuple[str, int]:
    """204 No Content, as the spec answers; an unknown id is 404."""
    with current_state().lock:
        if _store()["automations"].pop(automation_id, None) is None:
            raise SandboxError(404, f"Automation {automation_id} not found")
    return "", 204
