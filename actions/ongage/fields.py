"""Ongage's vocabularies, as its Events & Trigger API documentation gives them, and shared fields.

Ongage's documentation: https://ongage.atlassian.net/wiki/spaces/HELP/pages/947553199/Events+Trigger+API+Methods
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, TypeVar

from marshmallow import ValidationError, fields, validate

from connector import fields as f

EVENT_BASED_ON = ("mailing", "date_field", "recurring")
TRIGGER_BASED_ON = ("list_field", "mailing", "trigger", "list")
WEEK_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
EMAIL_OPERATORS = ("sent", "opened", "not_opened", "clicked", "not_clicked", "open_not_clicked")
LIST_FIELD_OPERATORS = ("before", "after")
AFTER_ONLY = ("after",)
RECURRENCE_PATTERNS = ("daily",)
SORT_ORDERS = ("ASC", "DESC")
DEFAULT_DOMAIN = "default"
DOCS_URL = "https://ongage.atlassian.net/wiki/spaces/HELP/pages/947553199/Events+Trigger+API+Methods"

# The documentation's two date-string examples: "2017-12-15" and "18-02-2018"; or a UTC unix timestamp.
EVENT_DATE_PATTERN = r"^(\d{4}-\d{2}-\d{2}|\d{2}-\d{2}-\d{4}|\d{1,12})$"
EVENT_DATE_MESSAGE = (
    "Not a valid event date: expected a UTC unix timestamp in seconds (for example 1518912000) "
    "or a real calendar date as yyyy-mm-dd or dd-mm-yyyy (for example 2018-02-18 or 18-02-2018)."
)
MAX_TIMESTAMP = 253402300799  # 9999-12-31 23:59:59 UTC
_DATE_FORMATS = {
    re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII): "%Y-%m-%d",
    re.compile(r"\d{2}-\d{2}-\d{4}", re.ASCII): "%d-%m-%Y",
}
_DIGITS = re.compile(r"\d{1,12}", re.ASCII)

# Upper bounds of the text fields. Ongage's documentation gives none, so these are sane bounds:
# every string sent to Ongage (some go into its query string) is bounded, and a longer one is a
# 422 naming the field, with nothing sent upstream.
NAME_MAX = 255  # names: event name, date field name
TEXT_MAX = 2000  # free text: event description
DOMAIN_MAX = 253  # a DNS name (RFC 1035), or "default"
EVENT_DATE_MAX = 12  # the longest of the three event date forms: 12 timestamp digits

F = TypeVar("F", bound=fields.Field)


class MaxLength(validate.Length):
    """``validate.Length`` for a text field, with our message. A value that deserializes to
    something other than text (an event date's timestamp) is not a string and passes."""

    def __init__(self, maximum: int, minimum: int | None = None) -> None:
        if minimum:
            error = f"Write from {minimum} to {maximum} characters."
        else:
            error = f"Write at most {maximum} characters."
        super().__init__(min=minimum, max=maximum, error=error)

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return super().__call__(value)


def bounded(field: F, maximum: int) -> F:
    """The field with a maximum length, checked first (a huge value is told its length)."""
    field.validators.insert(0, MaxLength(maximum))
    return field


def choice(choices: tuple[str, ...], **kwargs: Any) -> f.Choice:
    """A value from a fixed set, bounded by its longest choice (documented as maxLength)."""
    return bounded(f.Choice(choices, **kwargs), max(len(c) for c in choices))


def event_day(value: int | str) -> dt.date:
    """The UTC calendar day of a validated event date, to compare start and end."""
    if isinstance(value, int):
        return dt.datetime.fromtimestamp(value, dt.UTC).date()
    for pattern, fmt in _DATE_FORMATS.items():
        if pattern.fullmatch(value):
            return dt.datetime.strptime(value, fmt).date()
    raise ValueError(value)


class EventDate(f.String):
    """Ongage's documentation: "integer (UTC unix timestamp) OR string (date format)".

    Documented as a string (Power Automate has no "integer or string" type), with a pattern for
    the three forms. A JSON integer is accepted too, as the documentation says. A string of digits is a
    timestamp and is sent on as the integer the documentation names; date strings are sent as written, in
    either of the two forms the documentation's examples use, once checked to be real calendar dates."""

    default_error_messages = {"invalid": EVENT_DATE_MESSAGE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {})["pattern"] = EVENT_DATE_PATTERN
        super().__init__(*args, **kwargs)
        bounded(self, EVENT_DATE_MAX)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | str:
        if isinstance(value, int) and not isinstance(value, bool):
            timestamp = value
        elif isinstance(value, str) and _DIGITS.fullmatch(value):
            timestamp = int(value)
        elif isinstance(value, str):
            if len(value) > EVENT_DATE_MAX:
                raise ValidationError(f"Write at most {EVENT_DATE_MAX} characters. {EVENT_DATE_MESSAGE}")
            try:
                event_day(value)
            except ValueError:
                raise ValidationError(EVENT_DATE_MESSAGE) from None
            return value
        else:
            raise ValidationError(EVENT_DATE_MESSAGE)
        if not 0 <= timestamp <= MAX_TIMESTAMP:
            raise ValidationError(EVENT_DATE_MESSAGE)
        return timestamp


def list_id() -> f.Id:
    """Optional: Ongage's documentation says every call names its list, "otherwise the default List
    ID will be used" (then the call goes to ``/api/events`` with no list segment)."""
    return f.Id(
        summary="List",
        description=(
            "The id of the Ongage list the event belongs to (sent in the URL path); "
            "leave empty for the account's default list."
        ),
        visibility="important",
        example=1,
    )


def event_id() -> f.Id:
    return f.Id(
        required=True,
        summary="Event",
        description="The id of the event.",
        visibility="important",
        example=1,
    )


def id_list(summary: str, description: str, **kwargs: Any) -> f.List:
    """An array of positive ids (segments, email messages)."""
    return f.List(f.Id(), summary=summary, description=description, **kwargs)
