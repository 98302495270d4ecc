"""The rules of Ongage's Events & Trigger API documentation, written again for the emulator (the
oracle must not share the catalog's code, or a mistake in one would be mirrored in the other). Each
check returns ``{path: message}`` with Ongage-style dotted paths (``triggers.0.schedule_hour``);
empty means valid.

https://ongage.atlassian.net/wiki/spaces/HELP/pages/947553199/Events+Trigger+API+Methods
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

EVENT_BASED_ON = ("mailing", "date_field", "recurring")
# The documentation's table marks send_on_days required for list_field triggers, but its own
# "Birth date event" example, which Ongage shows as working, has none: the emulator accepts it.
TRIGGER_REQUIRED = {
    "list_field": ("email_messages", "days_diff", "operator", "schedule_hour", "schedule_minute"),
    "mailing": ("email_messages", "days_diff", "email_operator", "operator", "schedule_hour", "schedule_minute"),
    "trigger": (
        "based_on_trigger",
        "email_messages",
        "days_diff",
        "email_operator",
        "operator",
        "schedule_hour",
        "schedule_minute",
    ),
    "list": ("email_messages", "schedule_hour", "schedule_minute", "recurrence"),
}
OPERATORS = {"list_field": ("before", "after"), "mailing": ("after",), "trigger": ("after",), "list": ("after",)}
DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
EMAIL_OPERATORS = ("sent", "opened", "not_opened", "clicked", "not_clicked", "open_not_clicked")
SORT_COLUMNS = ("id", "name", "description", "based_on", "status", "start_date", "end_date", "created", "modified")
DATE_FORMATS = (
    (re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII), "%Y-%m-%d"),
    (re.compile(r"\d{2}-\d{2}-\d{4}", re.ASCII), "%d-%m-%Y"),
)

Errors = dict[str, str]


def is_int(value: Any, low: int | None = None, high: int | None = None) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and (low is None or value >= low)
        and (high is None or value <= high)
    )


def _ids(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(is_int(v, 1) for v in value)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def is_event_date(value: Any) -> bool:
    """An integer UTC unix timestamp, or a date string (the documentation's examples: 2017-12-15, 18-02-2018)."""
    if is_int(value, 0):
        return True
    if not isinstance(value, str):
        return False
    for pattern, fmt in DATE_FORMATS:
        if pattern.fullmatch(value):
            try:
                datetime.strptime(value, fmt).replace(tzinfo=UTC)
            except ValueError:
                return False
            return True
    return False


def event_errors(body: dict[str, Any]) -> Errors:
    """POST /api/events."""
    errors: Errors = {}
    if not _text(body.get("name")):
        errors["name"] = "name is required (a non-empty string)"
    if "description" in body and not isinstance(body["description"], str):
        errors["description"] = "must be a string"
    based_on = body.get("based_on")
    if based_on is not None and based_on not in EVENT_BASED_ON:
        errors["based_on"] = "must be one of: " + ", ".join(EVENT_BASED_ON)
    if based_on == "mailing" or "mailing_id" in body:
        if not is_int(body.get("mailing_id"), 1):
            errors["mailing_id"] = "mailing_id is required for events based on mailing (an integer id)"
    if based_on == "date_field" or "date_field_name" in body:
        if not _text(body.get("date_field_name")):
            errors["date_field_name"] = "date_field_name is required for events based on date_field"
    if "annually_event" in body:
        if not isinstance(body["annually_event"], bool):
            errors["annually_event"] = "must be a boolean"
        elif based_on != "date_field":
            errors["annually_event"] = "only for events based on date_field"
    ongoing = body.get("ongoing_event", False)
    if not isinstance(ongoing, bool):
        errors["ongoing_event"] = "must be a boolean"
    for name in ("start_date", "end_date"):
        if name in body and not is_event_date(body[name]):
            errors[name] = "must be a UTC unix timestamp (integer) or a date string (yyyy-mm-dd or dd-mm-yyyy)"
        elif name not in body and ongoing is not True:
            errors[name] = f"{name} is required for events with ongoing_event = false"
    if not isinstance(body.get("status"), bool):
        errors["status"] = "status is required (true for active, false for inactive)"
    if not _ids(body.get("segments")):
        errors["segments"] = "segments is required (a non-empty array of integer ids)"
    if "segments_excluded" in body and not (body["segments_excluded"] == [] or _ids(body["segments_excluded"])):
        errors["segments_excluded"] = "must be an array of integer ids"
    errors.update(distribution_errors(body.get("distribution")))
    errors.update(triggers_errors(body.get("triggers")))
    return errors


def distribution_errors(distribution: Any) -> Errors:
    if not isinstance(distribution, list) or not distribution:
        return {"distribution": "distribution is required (a non-empty array)"}
    errors: Errors = {}
    shares: dict[str, list[Any]] = {}
    for i, entry in enumerate(distribution):
        where = f"distribution.{i}"
        if not isinstance(entry, dict):
            errors[where] = "must be an object"
            continue
        domain = entry.get("domain")
        if not _text(domain):
            errors[f"{where}.domain"] = 'domain is required (a domain name or "default")'
            continue
        if "percent" in entry and not is_int(entry["percent"], 1, 100):
            errors[f"{where}.percent"] = "must be an integer from 1 to 100"
        shares.setdefault(domain, []).append(entry.get("percent"))
        if domain == "default":
            if not is_int(entry.get("esp_connection_id"), 1):
                errors[f"{where}.esp_connection_id"] = 'esp_connection_id is required when domain is "default"'
            continue
        esps = entry.get("esps")
        if not isinstance(esps, dict) or not esps:
            errors[f"{where}.esps"] = 'esps is required when domain is not "default" (esp_id: percent)'
        elif not all(str(k).isdigit() and is_int(v, 1, 100) for k, v in esps.items()):
            errors[f"{where}.esps"] = "each esp_id must map to a percent from 1 to 100"
        elif sum(esps.values()) != 100:
            errors[f"{where}.esps"] = "the percentages must total 100"
    for domain, percents in shares.items():
        given = [p for p in percents if p is not None]
        if len(percents) > 1 and len(given) < len(percents):
            errors["distribution"] = f"each entry of the domain {domain} needs a percent"
        elif given and all(is_int(p) for p in given) and sum(given) != 100:
            errors["distribution"] = f"the percentages of the domain {domain} must total 100"
    return errors


def triggers_errors(triggers: Any) -> Errors:
    if not isinstance(triggers, list) or not triggers:
        return {"triggers": "triggers is required (a non-empty array)"}
    errors: Errors = {}
    for i, trigger in enumerate(triggers):
        where = f"triggers.{i}"
        if not isinstance(trigger, dict):
            errors[where] = "must be an object"
            continue
        kind = trigger.get("based_on")
        if kind not in TRIGGER_REQUIRED:
            errors[f"{where}.based_on"] = "must be one of: " + ", ".join(TRIGGER_REQUIRED)
            continue
        for name in TRIGGER_REQUIRED[kind]:
            if name not in trigger:
                errors[f"{where}.{name}"] = f"{name} is required for triggers based on {kind}"
        checks = {
            "email_messages": (_ids, "must be a non-empty array of integer ids"),
            "days_diff": (lambda v: is_int(v, 0), "must be an integer of at least 0"),
            "send_on_days": (
                lambda v: isinstance(v, list) and bool(v) and all(d in DAYS for d in v) and len(set(v)) == len(v),
                "must be an array of distinct days: " + ", ".join(DAYS),
            ),
            "operator": (lambda v, kind=kind: v in OPERATORS[kind], "must be one of: " + ", ".join(OPERATORS[kind])),
            "email_operator": (lambda v: v in EMAIL_OPERATORS, "must be one of: " + ", ".join(EMAIL_OPERATORS)),
            "schedule_hour": (lambda v: is_int(v, 0, 23), "must be an integer from 0 to 23"),
            "schedule_minute": (lambda v: is_int(v, 0, 59), "must be an integer from 0 to 59"),
            "recurrence": (
                lambda v: isinstance(v, dict) and v.get("pattern") == "daily",
                'must be an object with pattern "daily"',
            ),
            "based_on_trigger": (
                lambda v, i=i: is_int(v, 1, i),
                f"must be the position (first=1) of an earlier trigger, from 1 to {i}"
                if i
                else "the first trigger cannot be based on another trigger",
            ),
        }
        for name, (ok, message) in checks.items():
            if name in trigger and not ok(trigger[name]):
                errors[f"{where}.{name}"] = message
    return errors


def update_errors(body: dict[str, Any]) -> Errors:
    """PUT /api/events/{id}: name, description, esp_connections_quota, emails_limit."""
    errors: Errors = {}
    if not _text(body.get("name")):
        errors["name"] = "name is required (a non-empty string)"
    if "description" in body and not isinstance(body["description"], str):
        errors["description"] = "must be a string"
    if "esp_connections_quota" in body and not isinstance(body["esp_connections_quota"], list):
        errors["esp_connections_quota"] = "must be an array"
    limit = body.get("emails_limit")
    if "emails_limit" in body and not (isinstance(limit, int | float) and not isinstance(limit, bool) and limit >= 0):
        errors["emails_limit"] = "must be a number of at least 0"
    return errors
