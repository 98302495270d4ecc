"""Marshmallow fields for the formats the upstreams enforce, carrying Power Automate metadata.

Every field accepts ``summary`` (shown as ``x-ms-summary``, Title Case), ``description``,
``visibility`` (``important``/``advanced``/``internal``), ``example`` and ``dropdown``
(a Power Automate dropdown filled by a lookup operation, see :func:`dropdown`). They land in the field's metadata, which apispec turns into
the property's keys, so specs and validation come from the same declaration.

Error messages always name the expected format, because the person reading them is often
building a flow, not reading our docs.

Inputs are taken the way no-code tools send them, in JSON too, wherever that cannot be mistaken
for something else: a whole number written as text (``"42"``) for an integer field, ``"true"`` or
``"false"`` for a boolean one, and an ISO 8601 time with an offset for a date-time field, converted
to the form the upstream takes. (``""`` for an optional field counts as not sent: see
:class:`connector.declarations.InputSchema`.) Dates stay strictly ``yyyy-mm-dd``. ``LENIENCY``
says so in the documents.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields, validate

# A real calendar date as one pattern, leap days included: the specs then admit exactly what the
# calendar check accepts, so generators (schemathesis, form builders, client-side checks) that follow
# the spec never produce 2026-02-30 or 2026-99-99 as "valid".
_YEAR = r"(?:[1-9]\d{3}|0[1-9]\d{2}|00[1-9]\d|000[1-9])"  # 0001-9999, as Python's calendar
_DAY = (
    rf"(?:{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8]))"
    r"|(?:\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29)"
)
DATE_PATTERN = rf"^{_DAY}$"
DATE_MESSAGE = "Not a valid date: expected the format yyyy-mm-dd and a real calendar date (for example 1990-01-31)."
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
_OFFSET = r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
# The upstream's own yyyy-MM-dd HH:mm:ss, or ISO 8601 / RFC 3339 with an offset (what Zapier's and
# Make's date pickers and formatters write); a "T" time without an offset names no moment: refused.
DATETIME_PATTERN = rf"^{_DAY}(?: {_TIME}|T{_TIME}(?:\.\d{{1,9}})?{_OFFSET})$"
DATETIME_MESSAGE = (
    "Not a valid date and time: expected yyyy-MM-dd HH:mm:ss, or ISO 8601 with an offset, and a real calendar "
    "time (for example 2026-12-31 09:30:00 or 2026-12-31T09:30:00+00:00)."
)
LENIENCY = (
    "Inputs as no-code tools send them: an empty string for an optional field means not sent; a whole number "
    'written as text ("42") is taken for an integer field and "true" or "false" for a boolean one; a date and '
    "time field also takes ISO 8601 with an offset (2026-12-31T09:30:00+01:00), converted to UTC. Dates stay "
    "yyyy-mm-dd."
)

VISIBILITIES = ("important", "advanced", "internal")
INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class Dropdown:
    """A Power Automate dynamic dropdown filled by an (internal) lookup operation.

    Written both as ``x-ms-dynamic-values`` and as its successor ``x-ms-dynamic-list``, as
    Microsoft recommends. ``parameters`` map the lookup's parameter names to references to the
    operation's other inputs: ``"body/list_id"`` for a body property, ``"list_id"`` for a
    query parameter.
    """

    operation_id: str
    value_path: str
    value_title: str
    collection: str = "items"
    parameters: tuple[tuple[str, str], ...] = ()

    def dynamic_values(self) -> dict[str, Any]:
        source: dict[str, Any] = {
            "operationId": self.operation_id,
            "value-collection": self.collection,
            "value-path": self.value_path,
            "value-title": self.value_title,
        }
        if self.parameters:
            source["parameters"] = {name: {"parameter": ref.rsplit("/", 1)[-1]} for name, ref in self.parameters}
        return source

    def dynamic_list(self) -> dict[str, Any]:
        source: dict[str, Any] = {
            "operationId": self.operation_id,
            "itemsPath": self.collection,
            "itemValuePath": self.value_path,
            "itemTitlePath": self.value_title,
        }
        if self.parameters:
            source["parameters"] = {name: {"parameterReference": ref} for name, ref in self.parameters}
        return source


def dropdown(
    operation_id: str, value_path: str, value_title: str, collection: str = "items", **parameters: str
) -> Dropdown:
    """``dropdown("GetAllContacs", "contact_id", "email", list_id="body/list_id")``."""
    return Dropdown(operation_id, value_path, value_title, collection, tuple(parameters.items()))


def _metadata(
    metadata: dict[str, Any] | None,
    summary: str | None,
    description: str | None,
    visibility: str | None,
    example: Any,
    source: Dropdown | None,
) -> dict[str, Any]:
    md = dict(metadata or {})
    if summary:
        md["x_ms_summary"] = summary
    if description:
        md["description"] = description
    if visibility:
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}, not {visibility!r}")
        md["x_ms_visibility"] = visibility
    if example is not None:
        md["example"] = example
    if source is not None:
        md["x_ms_dynamic_values"] = source.dynamic_values()
        md["x_ms_dynamic_list"] = source.dynamic_list()
    return md


class Described:
    """Mixin turning our keyword arguments into field metadata."""

    def __init__(
        self,
        *args: Any,
        summary: str | None = None,
        description: str | None = None,
        visibility: str | None = None,
        example: Any = None,
        dropdown: Dropdown | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        md = _metadata(metadata, summary, description, visibility, example, dropdown)
        # An optional field may be sent as null (= not sent), as flows send unmapped fields;
        # saying so here makes the specs document it (x-nullable / nullable).
        kwargs.setdefault("allow_none", not kwargs.get("required", False))
        super().__init__(*args, metadata=md, **kwargs)  # type: ignore[call-arg]


def length_message(minimum: int | None, maximum: int | None) -> str:
    if minimum:
        return f"Write from {minimum} to {maximum} characters."
    return f"Write at most {maximum} characters."


def _with(validators: Any, extra: validate.Validator) -> list[Any]:
    """``extra`` first (a cheap length check before any pattern), then the field's own validators."""
    if validators is None:
        return [extra]
    return [extra, *(validators if isinstance(validators, (list, tuple)) else [validators])]


class String(Described, fields.String):
    """A string; ``max_length`` (and ``min_length``) bound it, documented as maxLength/minLength.

    Every string of an operation's input needs a maximum (checked at start-up, see
    :func:`max_length`): an unbounded value would travel upstream, into a query string that the
    upstream refuses (414) or a body it truncates, instead of being a 422 naming the field.
    """

    def __init__(
        self,
        *args: Any,
        max_length: int | None = None,
        min_length: int | None = None,
        too_long: str | None = None,
        **kwargs: Any,
    ) -> None:
        if max_length is not None or min_length is not None:
            error = length_message(min_length, max_length) if max_length else f"Write at least {min_length} characters."
            length = validate.Length(min=min_length, max=max_length, error=error)
            kwargs["validate"] = _with(kwargs.get("validate"), length)
        self.max_length = max_length
        self.too_long = too_long or (f"Write at most {max_length} characters." if max_length else "")
        super().__init__(*args, **kwargs)

    def _validate(self, value: Any) -> None:
        """An over-long value gets one message, the length's (or ``too_long``), before any pattern
        or other validator looks at it."""
        if self.max_length is not None and isinstance(value, str) and len(value) > self.max_length:
            raise ValidationError(self.too_long)
        super()._validate(value)


# A whole number written as text, as no-code tools send a mapped number: ASCII digits, an optional
# sign, nothing else (no spaces, decimals or exponents), and short enough to be no trick.
NUMERAL = re.compile(r"[+-]?\d{1,18}", re.ASCII)


class Integer(Described, fields.Integer):
    """An integer: a JSON integer, ``1.0`` (JSON Schema counts it as one) or a numeral as text
    (``"42"``, as Zapier sends a mapped value); ``1.5``, ``"4.5"``, ``" 4"`` and ``true`` are errors."""

    default_error_messages = {"invalid": "Not a valid whole number."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("strict", True)
        super().__init__(*args, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, float) and value.is_integer():  # JSON Schema: 1.0 is an integer
            value = int(value)
        elif isinstance(value, str) and NUMERAL.fullmatch(value):
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class FullMatch(validate.Regexp):
    """A regexp validator over the whole string, ASCII digits only.

    ``re.match`` with ``$`` accepts a trailing newline and ``\\d`` accepts any Unicode digit;
    the upstreams accept neither. The pattern stays the plain one so specs can show it.
    """

    def __init__(self, pattern: str, error: str) -> None:
        super().__init__(re.compile(pattern, re.ASCII), error=error)

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class Float(Described, fields.Float):
    pass


BOOLEAN_TEXT = {"true": True, "false": False}


class Boolean(Described, fields.Boolean):
    """A JSON boolean, or ``"true"``/``"false"`` as text (any case), as no-code tools send a mapped
    value; ``1``, ``"yes"`` and the like are errors (form values are converted by the runtime)."""

    default_error_messages = {"invalid": "Not a valid boolean: expected true or false."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and value.lower() in BOOLEAN_TEXT:
            return BOOLEAN_TEXT[value.lower()]
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class List(Described, fields.List):
    """A list whose items are never null: null means "not sent" only for a whole field."""

    def __init__(self, cls_or_instance: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(cls_or_instance, *args, **kwargs)
        self.inner.allow_none = False


class Nested(Described, fields.Nested):
    pass


class Dict(Described, fields.Dict):
    pass


EMAIL_MAX = 254  # the longest address SMTP can carry (RFC 5321, 4.5.3.1)


class Email(String, fields.Email):
    """An email address, at most 254 characters unless ``max_length`` says otherwise."""

    default_error_messages = {"invalid": "Not a valid email address: expected the form name@example.com."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", EMAIL_MAX)
        super().__init__(*args, **kwargs)


class Patterned(String):
    """A string in one documented format (a phone, a date): a catalog subclasses it and sets the
    class attributes, so the pattern, the message naming the format, the bound and the docs' label
    are declared once.

    ``pattern`` is matched whole (see :class:`FullMatch`) and shown in the specs; ``message`` is the
    error for any value that does not match, an over-long one included; ``length`` is the longest
    value the pattern admits, documented as maxLength; ``hint`` labels the format on the docs page;
    ``example_value``, if set, is the field's default example.
    """

    pattern: str = ""
    message: str = ""
    length: int | None = None
    hint: str = ""
    example_value: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.example_value is not None:
            kwargs.setdefault("example", self.example_value)
        kwargs.setdefault("max_length", self.length)
        kwargs.setdefault("too_long", self.message)  # longer than the pattern admits: name the format
        super().__init__(*args, validate=[FullMatch(self.pattern, error=self.message)], **kwargs)


class _PatternedCalendarString(Patterned):
    """A string whose pattern and calendar validity are both checked; kept as the string sent.

    ``calendar`` must read the value without error. It is ``fromisoformat``, in C, rather than
    ``strptime``: on every shape the pattern admits (checked after it, by the validators) the two
    give the same verdict (a month 13, a 30 February or a second 60 refused), and a value needs both
    to pass, so what ``fromisoformat`` alone would accept (``20261231``) is still refused."""

    calendar: Callable[[str], Any] = staticmethod(dt.date.fromisoformat)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            self.calendar(text)
        except ValueError:
            raise ValidationError(self.message) from None
        return text


class Date(_PatternedCalendarString):
    """A calendar date ``yyyy-mm-dd``; ``2023-02-30`` is rejected, not rolled over."""

    pattern = DATE_PATTERN
    message = DATE_MESSAGE
    length = 10
    hint = "date yyyy-mm-dd"


class DateTime(_PatternedCalendarString):
    """A date-time as the upstreams take it for scheduling and filters, ``yyyy-MM-dd HH:mm:ss`` with no
    zone, which ``upstream_zone`` says how to read (UTC unless a catalog's subclass says otherwise).
    ISO 8601 with an offset is accepted too and converted: ``2030-01-15T09:00:00+01:00`` is sent as
    ``2030-01-15 08:00:00``, fractions of a second dropped. The value loaded is what the upstream gets."""

    pattern = DATETIME_PATTERN
    message = DATETIME_MESSAGE
    calendar = staticmethod(dt.datetime.fromisoformat)  # "yyyy-MM-dd HH:mm:ss", the form sent (isoformat(sep=" "))
    length = 35  # 2026-12-31T09:30:00.123456789+01:00
    hint = "yyyy-MM-dd HH:mm:ss or ISO 8601 with an offset"
    upstream_zone: dt.tzinfo = dt.UTC

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = fields.String._deserialize(self, value, attr, data, **kwargs)
        if "T" not in text:
            return super()._deserialize(value, attr, data, **kwargs)
        if len(text) > self.length or not re.fullmatch(self.pattern, text, re.ASCII):  # exactly what the specs admit
            raise ValidationError(self.message)
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(self.upstream_zone)
            return moment.replace(tzinfo=None, microsecond=0).isoformat(sep=" ")  # %Y would not pad year 153
        except (ValueError, OverflowError):  # not a calendar time, or outside years 1-9999 once converted
            raise ValidationError(self.message) from None


_NAIVE = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)", re.ASCII)
_UNIX = re.compile(r"-?\d+(\.\d+)?", re.ASCII)  # seconds since 1970, as some APIs write them


def iso_utc(moment: dt.datetime) -> str:
    """``2026-11-27T06:45:16.123Z``: ISO 8601 in UTC, to the millisecond, as webhooks send times."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Timestamp(Described, fields.String):
    """A moment in an output, always written ISO 8601 with a zone, whatever its source: Unix seconds
    (the service's own times) become UTC to the millisecond; an upstream's ``yyyy-MM-dd HH:mm:ss``,
    which carries no zone, is read as UTC (``T`` and ``Z`` added); a value that already has a zone is
    kept. Documented as ``format: date-time``, so every item of a trigger and every listing carries
    times a no-code tool parses the same way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("format", "date-time")
        super().__init__(*args, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None or value == "" or isinstance(value, bool):
            return None
        text = str(value).strip()
        if isinstance(value, int | float) or _UNIX.fullmatch(text):  # Unix time, as a number or as text
            try:
                return iso_utc(dt.datetime.fromtimestamp(float(text), dt.UTC))
            except (ValueError, OverflowError, OSError):  # out of range (milliseconds?): never a 500
                return text
        if isinstance(value, dt.datetime):
            return iso_utc(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
        naive = _NAIVE.fullmatch(text)
        if naive:
            return f"{naive.group(1)}T{naive.group(2)}Z"
        return text  # zoned already, or not a time at all: passed on as the upstream wrote it


class Choice(String):
    """A string from a fixed set, exactly as the upstream documents it."""

    def __init__(self, choices: tuple[str, ...] | list[str], *args: Any, **kwargs: Any) -> None:
        self.choices = tuple(choices)
        error = "Must be one of: " + ", ".join(self.choices) + "."
        super().__init__(*args, validate=validate.OneOf(self.choices, error=error), **kwargs)


class BoundedInteger(Integer):
    """An integer within inclusive bounds; the message states the bounds. Without an explicit
    maximum the bound is the upstreams' 32-bit integer range, so no value overflows downstream."""

    def __init__(self, *args: Any, minimum: int | None = None, maximum: int | None = None, **kwargs: Any) -> None:
        if maximum is None:
            maximum = INT32_MAX
        if minimum is not None:
            error = f"Must be a whole number from {minimum} to {maximum}."
        else:
            error = f"Must be a whole number of at most {maximum}."
        super().__init__(*args, validate=validate.Range(min=minimum, max=maximum, error=error), **kwargs)


class Id(BoundedInteger):
    """A positive upstream identifier (list, tag, ...)."""

    default_error_messages = {"invalid": "Not a valid id: expected a whole number of at least 1."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, minimum=1, **kwargs)


def max_length(field: fields.Field) -> int | None:
    """The longest text ``field`` accepts, or None when nothing bounds it.

    A ``Length`` validator with a maximum bounds a string, and so does ``OneOf`` (a choice is
    never longer than its longest option, and the spec's ``enum`` says so). A pattern alone does
    not count: whether a regexp bounds the length is not something to guess, so patterned fields
    (phones, dates) carry an explicit ``max_length`` too, which the specs then show.
    """
    bounds = []
    for validator in field.validators:
        if isinstance(validator, validate.Length) and validator.max is not None:
            bounds.append(validator.max)
        elif isinstance(validator, validate.Length) and validator.equal is not None:
            bounds.append(validator.equal)
        elif isinstance(validator, validate.OneOf):
            bounds.append(max((len(str(choice)) for choice in validator.choices), default=0))
    return min(bounds) if bounds else None


def unbounded_strings(schema: Any, prefix: str = "") -> list[str]:
    """Dotted names of the text values in ``schema`` (an instance) that have no maximum length:
    string fields, including inside nested schemas, lists and dicts (``[]`` marks a list item,
    ``{}`` a dict's keys or values). A dict without a values field, or a raw field, takes any
    text, so it is unbounded too."""
    found: list[str] = []
    for name, field in schema.load_fields.items():
        found += _unbounded(field, prefix + (field.data_key or name))
    return found


def _unbounded(field: fields.Field, path: str) -> list[str]:
    if isinstance(field, fields.String):
        return [] if max_length(field) is not None else [path]
    if isinstance(field, fields.Nested):
        return unbounded_strings(field.schema, path + ".")
    if isinstance(field, fields.List):
        return _unbounded(field.inner, path + "[]")
    if isinstance(field, fields.Tuple):
        return [p for i, inner in enumerate(field.tuple_fields) for p in _unbounded(inner, f"{path}[{i}]")]
    if isinstance(field, fields.Mapping):
        keys = _unbounded(field.key_field, path + "{key}") if field.key_field is not None else [path + "{key}"]
        values = _unbounded(field.value_field, path + "{}") if field.value_field is not None else [path + "{}"]
        return keys + values
    if isinstance(field, fields.Raw):
        return [path]
    return []
