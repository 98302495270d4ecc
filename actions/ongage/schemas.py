"""Input and output schemas of the Ongage event operations, with the rules of Ongage's Events &
Trigger API documentation (https://ongage.atlassian.net/wiki/spaces/HELP/pages/947553199/Events+Trigger+API+Methods).

Where the documentation's field table and its own request examples disagree, the examples win: a
connector must not refuse what the vendor shows as a working request. So a list_field trigger
needs no ``send_on_days`` (the table marks it required; the "Birth date event" example has none).

Rules that span fields are ``@validates_schema`` methods that name the field they are about, so
the 422 problem points at it; inside arrays the path carries the index (``triggers.1.days_diff``).
(Marshmallow runs them once every field has its own type and bounds, so a request with a wrong
type is told that first.)
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from actions.ongage.fields import (
    AFTER_ONLY,
    DEFAULT_DOMAIN,
    DOMAIN_MAX,
    EMAIL_OPERATORS,
    EVENT_BASED_ON,
    LIST_FIELD_OPERATORS,
    NAME_MAX,
    RECURRENCE_PATTERNS,
    SORT_ORDERS,
    TEXT_MAX,
    TRIGGER_BASED_ON,
    WEEK_DAYS,
    EventDate,
    bounded,
    choice,
    event_day,
    event_id,
    id_list,
    list_id,
)
from connector import fields as f
from connector.declarations import InputSchema, OutputSchema

NON_EMPTY = validate.Length(min=1, error="Must not be empty.")
AT_LEAST_ONE = validate.Length(min=1, error="Provide at least one.")
SORT_COLUMNS = ("id", "name", "description", "based_on", "status", "start_date", "end_date", "created", "modified")

# Per trigger type, the fields each one requires (besides based_on): the documentation's table,
# less send_on_days for list_field, which the documentation's "Birth date event" example omits.
TRIGGER_REQUIRED: dict[str, tuple[str, ...]] = {
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
# The operators each trigger type allows ("list" documents none; its example sends "after").
TRIGGER_OPERATORS = {
    "list_field": LIST_FIELD_OPERATORS,
    "mailing": AFTER_ONLY,
    "trigger": AFTER_ONLY,
    "list": AFTER_ONLY,
}


def _one_of(choices: tuple[str, ...]) -> str:
    return "Must be one of: " + ", ".join(choices) + "."


class RecurrenceInput(InputSchema):
    """When a trigger of a recurring (list) event repeats."""

    pattern = choice(
        RECURRENCE_PATTERNS,
        required=True,
        summary="Pattern",
        description="How often the trigger repeats: daily.",
        example="daily",
    )


class TriggerInput(InputSchema):
    """One trigger (email send) of an event; which fields it needs depends on based_on."""

    based_on = choice(
        TRIGGER_BASED_ON,
        required=True,
        summary="Trigger Based On",
        description="What the trigger is based on: list_field, mailing, trigger or list.",
        example="list_field",
    )
    based_on_trigger = f.Id(
        summary="Based On Trigger",
        description="For triggers based on trigger: the position (first=1) of an earlier trigger of this event.",
    )
    email_messages = id_list(
        "Email Messages", "Ids of the email messages the trigger sends.", validate=AT_LEAST_ONE, example=[2381]
    )
    days_diff = f.BoundedInteger(
        minimum=0,
        summary="Days Difference",
        description="Days before or after the base date or action the trigger sends.",
        example=0,
    )
    send_on_days = f.List(
        choice(WEEK_DAYS),
        validate=AT_LEAST_ONE,
        summary="Send On Days",
        description=(
            "For triggers based on list_field: week days the trigger may send on (Sun, Mon, ... Sat); "
            "leave empty for any day."
        ),
        example=["Mon", "Tue", "Wed", "Thu", "Fri"],
    )
    operator = choice(
        LIST_FIELD_OPERATORS,
        summary="Operator",
        description="Send before or after the base date: before or after (only after unless based on list_field).",
        example="after",
    )
    email_operator = choice(
        EMAIL_OPERATORS,
        summary="Email Operator",
        description="For triggers based on mailing or trigger: what the contact did with the previous email.",
        example="not_opened",
    )
    schedule_hour = f.BoundedInteger(
        minimum=0, maximum=23, summary="Schedule Hour", description="Hour of the send, 0 to 23.", example=10
    )
    schedule_minute = f.BoundedInteger(
        minimum=0, maximum=59, summary="Schedule Minute", description="Minute of the send, 0 to 59.", example=30
    )
    recurrence = f.Nested(
        RecurrenceInput, summary="Recurrence", description="For triggers based on list: how the trigger repeats."
    )

    @validates_schema
    def _check_type(self, data: dict[str, Any], **kwargs: Any) -> None:
        kind = data["based_on"]
        errors: dict[str, list[str]] = {}
        for name in TRIGGER_REQUIRED[kind]:
            if data.get(name) is None:
                errors[name] = [f"Required for triggers based on {kind}."]
        operator = data.get("operator")
        if operator is not None and operator not in TRIGGER_OPERATORS[kind]:
            errors["operator"] = [f"Triggers based on {kind}: " + _one_of(TRIGGER_OPERATORS[kind])]
        days = data.get("send_on_days") or []
        if len(set(days)) != len(days):
            errors["send_on_days"] = ["Each day may appear once."]
        if errors:
            raise ValidationError(errors)


class EspShareInput(InputSchema):
    """One ESP of a domain's distribution and its share of the sends."""

    esp_id = f.Id(required=True, summary="ESP", description="The id of the ESP.", example=7)
    percent = f.BoundedInteger(
        required=True,
        minimum=1,
        maximum=100,
        summary="Percent",
        description="Share of the domain's sends through this ESP, 1 to 100.",
        example=100,
    )


class DistributionInput(InputSchema):
    """How the sends to one domain (or to every other domain: default) are spread over ESPs."""

    domain = bounded(
        f.String(
            required=True,
            validate=NON_EMPTY,
            summary="Domain",
            description='A recipient domain (for example gmail.com), or "default" for every other domain.',
            example=DEFAULT_DOMAIN,
        ),
        DOMAIN_MAX,
    )
    esp_connection_id = f.Id(
        summary="ESP Connection",
        description='The ESP connection that sends; required when the domain is "default".',
        example=60142,
    )
    esps = f.List(
        f.Nested(EspShareInput),
        validate=AT_LEAST_ONE,
        summary="ESPs",
        description='ESPs and their percentages; required when the domain is not "default". Total 100.',
    )
    percent = f.BoundedInteger(
        minimum=1,
        maximum=100,
        summary="Percent",
        description="Share of the domain's sends through this entry, 1 to 100; entries of one domain total 100.",
        example=100,
    )

    @validates_schema
    def _check_domain(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["domain"] == DEFAULT_DOMAIN:
            if data.get("esp_connection_id") is None:
                raise ValidationError('Required when the domain is "default".', field_name="esp_connection_id")
            return
        esps = data.get("esps")
        if not esps:
            raise ValidationError('Required when the domain is not "default".', field_name="esps")
        ids = [share["esp_id"] for share in esps]
        if len(set(ids)) != len(ids):
            raise ValidationError("Each ESP may appear once.", field_name="esps")
        total = sum(share["percent"] for share in esps)
        if total != 100:
            raise ValidationError(f"The percentages must total 100, not {total}.", field_name="esps")


class InList(InputSchema):
    """The list an operation works on (none: the account's default list); a separate base so it
    comes first in forms."""

    list_id = list_id()


class OnEvent(InList):
    """The event of a list an operation works on."""

    event_id = event_id()


class EventNameInput(InputSchema):
    name = bounded(
        f.String(
            required=True,
            validate=NON_EMPTY,
            summary="Name",
            description="The event's internal friendly name, for your use only.",
            visibility="important",
            example="Birth date event",
        ),
        NAME_MAX,
    )
    description = bounded(
        f.String(
            summary="Description", description="A description of the event, for your use only.", visibility="advanced"
        ),
        TEXT_MAX,
    )


class CreateEventInput(EventNameInput, InList):
    """A new event of a list (POST /api/events)."""

    based_on = choice(
        EVENT_BASED_ON,
        summary="Based On",
        description="What the event is based on: mailing, date_field or recurring.",
        visibility="important",
        example="date_field",
    )
    mailing_id = f.Id(
        summary="Mailing", description="The mailing the event is based on; required when based on mailing."
    )
    date_field_name = bounded(
        f.String(
            validate=NON_EMPTY,
            summary="Date Field Name",
            description="The list's date field the event is based on; required when based on date_field.",
            example="birth_date",
        ),
        NAME_MAX,
    )
    annually_event = f.Boolean(
        summary="Annually",
        description="For events based on date_field: repeat every year on the date.",
        example=True,
    )
    ongoing_event = f.Boolean(
        summary="Ongoing",
        description="Whether the event runs with no start and end date; when not true, both dates are required.",
        example=True,
    )
    start_date = EventDate(
        summary="Start Date",
        description=(
            "When the event starts: a UTC unix timestamp (seconds) or a date as yyyy-mm-dd or dd-mm-yyyy; "
            "required unless the event is ongoing."
        ),
        example="2026-01-01",
    )
    end_date = EventDate(
        summary="End Date",
        description=(
            "When the event ends, not before the start: a UTC unix timestamp (seconds) or a date as "
            "yyyy-mm-dd or dd-mm-yyyy; required unless the event is ongoing."
        ),
        example="2026-12-31",
    )
    status = f.Boolean(
        required=True,
        summary="Active",
        description="The event's status: true for active, false for inactive.",
        visibility="important",
        example=True,
    )
    segments = id_list(
        "Segments",
        "Ids of the segments to associate with this event.",
        required=True,
        validate=AT_LEAST_ONE,
        visibility="important",
        example=[60478],
    )
    segments_excluded = id_list(
        "Excluded Segments", "Ids of the segments to exclude from this event.", visibility="advanced"
    )
    distribution = f.List(
        f.Nested(DistributionInput),
        required=True,
        validate=AT_LEAST_ONE,
        summary="Distribution",
        description="How the sends are spread over ESP connections, per recipient domain.",
    )
    triggers = f.List(
        f.Nested(TriggerInput),
        required=True,
        validate=AT_LEAST_ONE,
        summary="Triggers",
        description="The event's triggers (email sends), in order; a trigger may build on an earlier one.",
    )

    @validates_schema
    def _check_event(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = {}
        based_on = data.get("based_on")
        if based_on == "mailing" and data.get("mailing_id") is None:
            errors["mailing_id"] = ["Required when based_on is mailing."]
        if based_on == "date_field" and data.get("date_field_name") is None:
            errors["date_field_name"] = ["Required when based_on is date_field."]
        if data.get("annually_event") is not None and based_on != "date_field":
            errors["annually_event"] = ["Only for events based on date_field."]
        if data.get("ongoing_event") is not True:
            for name in ("start_date", "end_date"):
                if data.get(name) is None:
                    errors[name] = ["Required unless ongoing_event is true."]
        start, end = data.get("start_date"), data.get("end_date")
        if start is not None and end is not None and event_day(end) < event_day(start):
            errors["end_date"] = ["Must not be before start_date."]
        errors.update(_distribution_errors(data["distribution"]))
        errors.update(_trigger_chain_errors(data["triggers"]))
        if errors:
            raise ValidationError(errors)


def _distribution_errors(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Entries sharing a domain split its sends: each needs a percent, and they total 100."""
    errors: dict[int, dict[str, list[str]]] = {}
    domains = Counter(entry["domain"] for entry in entries)
    for domain, count in domains.items():
        indexes = [i for i, entry in enumerate(entries) if entry["domain"] == domain]
        percents = [entries[i].get("percent") for i in indexes]
        if count > 1 and None in percents:
            for i in indexes:
                if entries[i].get("percent") is None:
                    errors.setdefault(i, {})["percent"] = [f"Required when several entries share the domain {domain}."]
            continue
        given = [p for p in percents if p is not None]
        if given and sum(given) != 100:
            message = f"The percentages of the domain {domain} must total 100, not {sum(given)}."
            errors.setdefault(indexes[-1], {})["percent"] = [message]
    return {"distribution": errors} if errors else {}


def _trigger_chain_errors(triggers: list[dict[str, Any]]) -> dict[str, Any]:
    """A trigger based on a trigger points at an earlier one, by position (first=1)."""
    errors: dict[int, dict[str, list[str]]] = {}
    for index, trigger in enumerate(triggers):
        target = trigger.get("based_on_trigger")
        if trigger["based_on"] != "trigger" or target is None:
            continue
        if index == 0:
            errors[index] = {"based_on_trigger": ["The first trigger cannot be based on another trigger."]}
        elif target > index:
            message = f"Must be the position of an earlier trigger (first=1): from 1 to {index}."
            errors[index] = {"based_on_trigger": [message]}
    return {"triggers": errors} if errors else {}


class QuotaInput(InputSchema):
    """A sending quota of one ESP connection."""

    esp_connection_id = f.Id(
        required=True, summary="ESP Connection", description="The id of the ESP connection.", example=60142
    )
    quota = f.BoundedInteger(
        required=True, minimum=0, summary="Quota", description="Most emails this connection sends.", example=1000
    )


class UpdateEventInput(EventNameInput, OnEvent):
    """The fields of an existing event that can change (PUT /api/events/{id})."""

    esp_connections_quota = f.List(
        f.Nested(QuotaInput),
        validate=AT_LEAST_ONE,
        summary="ESP Connections Quota",
        description="New sending quotas of the event's ESP connections.",
        visibility="advanced",
    )
    emails_limit = f.BoundedInteger(
        minimum=0,
        summary="Emails Limit",
        description="New global limit of emails the event sends.",
        visibility="advanced",
        example=10000,
    )

    @validates_schema
    def _check_unique_connections(self, data: dict[str, Any], **kwargs: Any) -> None:
        ids = [quota["esp_connection_id"] for quota in data.get("esp_connections_quota") or []]
        if len(set(ids)) != len(ids):
            raise ValidationError("Each ESP connection may appear once.", field_name="esp_connections_quota")


class ListEventsInput(InList):
    """Which events of a list to fetch (GET /api/events)."""

    name = bounded(
        f.String(
            required=True,
            validate=NON_EMPTY,
            summary="Name",
            description="The name of the events to fetch (Ongage requires it).",
            visibility="important",
            example="Birth date event",
        ),
        NAME_MAX,
    )
    sort = choice(SORT_COLUMNS, summary="Sort By", description="The column to sort by.", visibility="advanced")
    order = choice(SORT_ORDERS, summary="Order", description="Sort order: ASC or DESC.", visibility="advanced")
    offset = f.BoundedInteger(
        minimum=0, summary="Offset", description="Events to skip, from zero.", visibility="advanced"
    )
    limit = f.BoundedInteger(
        minimum=1, summary="Limit", description="Most events to return.", visibility="advanced", example=50
    )


# --------------------------------------------------------------------------------------------
# Outputs: an event as Ongage returns it (esps as a list of esp_id/percent, as callers send them).
# --------------------------------------------------------------------------------------------


class RecurrenceOutput(OutputSchema):
    pattern = f.String(summary="Pattern", description="How often the trigger repeats.")


class TriggerOutput(OutputSchema):
    based_on = f.String(summary="Trigger Based On", description="What the trigger is based on.")
    based_on_trigger = f.Integer(summary="Based On Trigger", description="Position of the trigger it builds on.")
    email_messages = f.List(f.Integer(), summary="Email Messages", description="Ids of the email messages it sends.")
    days_diff = f.Integer(summary="Days Difference", description="Days before or after the base date or action.")
    send_on_days = f.List(f.String(), summary="Send On Days", description="Week days the trigger may send on.")
    operator = f.String(summary="Operator", description="Before or after the base date.")
    email_operator = f.String(summary="Email Operator", description="What the contact did with the previous email.")
    schedule_hour = f.Integer(summary="Schedule Hour", description="Hour of the send.")
    schedule_minute = f.Integer(summary="Schedule Minute", description="Minute of the send.")
    recurrence = f.Nested(RecurrenceOutput, summary="Recurrence", description="How the trigger repeats.")


class EspShareOutput(OutputSchema):
    esp_id = f.Integer(summary="ESP", description="The id of the ESP.")
    percent = f.Integer(summary="Percent", description="Share of the domain's sends through this ESP.")


class DistributionOutput(OutputSchema):
    domain = f.String(summary="Domain", description='A recipient domain, or "default".')
    esp_connection_id = f.Integer(summary="ESP Connection", description="The ESP connection that sends.")
    esps = f.List(f.Nested(EspShareOutput), summary="ESPs", description="ESPs and their percentages.")
    percent = f.Integer(summary="Percent", description="Share of the domain's sends through this entry.")


class EventOutput(OutputSchema):
    """The event as Ongage stores it."""

    id = f.Integer(required=True, summary="Event Id", description="The id of the event.", example=1)
    name = f.String(summary="Name", description="The event's internal friendly name.")
    description = f.String(summary="Description", description="The event's description.")
    based_on = f.String(summary="Based On", description="What the event is based on.")
    mailing_id = f.Integer(summary="Mailing", description="The mailing the event is based on.")
    date_field_name = f.String(summary="Date Field Name", description="The date field the event is based on.")
    annually_event = f.Boolean(summary="Annually", description="Whether the event repeats every year.")
    ongoing_event = f.Boolean(summary="Ongoing", description="Whether the event runs with no start and end date.")
    start_date = f.String(summary="Start Date", description="When the event starts, as it was sent.")
    end_date = f.String(summary="End Date", description="When the event ends, as it was sent.")
    status = f.Boolean(summary="Active", description="True when the event is active.")
    segments = f.List(f.Integer(), summary="Segments", description="Ids of the segments of the event.")
    segments_excluded = f.List(f.Integer(), summary="Excluded Segments", description="Ids of excluded segments.")
    distribution = f.List(
        f.Nested(DistributionOutput), summary="Distribution", description="How sends are spread over ESPs."
    )
    triggers = f.List(f.Nested(TriggerOutput), summary="Triggers", description="The event's triggers.")
    emails_limit = f.Integer(summary="Emails Limit", description="Global limit of emails the event sends.")
    # Ongage answers UTC unix timestamps; written ISO 8601 like every time the service gives.
    created = f.Timestamp(summary="Created", description="When the event was created, ISO 8601 in UTC.")
    modified = f.Timestamp(summary="Modified", description="When the event last changed, ISO 8601 in UTC.")


class EventsOutput(OutputSchema):
    """The events of a list that match."""

    items = f.List(f.Nested(EventOutput), required=True, summary="Events", description="The events found.")


class DeletedOutput(OutputSchema):
    """The id of the event deleted."""

    id = f.Integer(required=True, summary="Event Id", description="The id of the deleted event.", example=1)
    deleted = f.Boolean(required=True, summary="Deleted", description="Always true.", example=True)


class EventIdInput(OnEvent):
    """One event of a list."""
