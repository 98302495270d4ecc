"""The formats the upstreams enforce, table-driven: every bad value gets a message naming the
expected format. (The phone is E-goi's field, declared in its catalog on the framework's
:class:`connector.fields.Patterned`.)"""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError

from actions.egoi.fields import Phone
from connector import fields as f

PHONE_FORMAT = "ccc-xxxxxxxxx"
DATE_FORMAT = "yyyy-mm-dd"


class Sample(Schema):
    phone = Phone()
    date = f.Date()
    when = f.DateTime()
    choice = f.Choice(("urgent", "non-urgent"))
    bounded = f.BoundedInteger(minimum=1, maximum=100)
    ident = f.Id()
    email = f.Email()


def errors_for(field: str, value):
    try:
        Sample().load({field: value})
    except ValidationError as exc:
        return exc.messages[field]
    return None


@pytest.mark.parametrize(
    "value",
    ["351-912345678", "1-1234", "44-7911123456", "999-12345678901234567890"],
)
def test_good_phones(value):
    assert errors_for("phone", value) is None


@pytest.mark.parametrize(
    "value",
    [
        "+351 912345678",
        "+351-912345678",
        "351912345678",
        "351 912345678",
        "351-9123 45678",
        "1234-912345678",
        "351-123",
        "351-123456789012345678901",
        "abc-defghijk",
        "351-91234567x",
        "351-٩١٢٣٤٥٦٧٨",  # Arabic-Indic digits are not ASCII digits
        "",
        " 351-912345678",
        "351-912345678\n",
    ],
)
def test_bad_phones_name_the_format(value):
    messages = errors_for("phone", value)
    assert messages and PHONE_FORMAT in messages[0], messages


def test_phone_rejects_non_strings():
    assert "Not a valid string." in errors_for("phone", 351912345678)


@pytest.mark.parametrize("value", ["1990-01-31", "2024-02-29", "2000-02-29", "2023-12-31"])
def test_good_dates(value):
    assert errors_for("date", value) is None


@pytest.mark.parametrize(
    "value",
    [
        "2023-02-30",
        "2023-02-29",  # not a leap year
        "1900-02-29",
        "1990-13-01",
        "1990-00-10",
        "1990-01-00",
        "1990-1-31",
        "31-01-1990",
        "1990/01/31",
        "19900131",
        "1990-01-31T00:00:00",
        "yesterday",
        "",
    ],
)
def test_bad_dates_name_the_format(value):
    messages = errors_for("date", value)
    assert messages and DATE_FORMAT in messages[0], messages


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2026-12-31 09:30:00", True),
        ("2026-02-29 09:30:00", False),
        ("2026-12-31 24:00:00", False),
        ("2026-12-31T09:30:00", False),  # no offset: no moment
        ("2026-12-31 9:30", False),
        ("2026-12-31T09:30:00+00:00", True),
        ("2026-12-31T09:30:00.123Z", True),
        ("2026-12-31T09:30:00+0100", False),  # the specs' pattern wants +01:00
        ("2026-02-30T09:30:00Z", False),
        ("2026-12-31T24:00:00Z", False),
        ("2026-12-31 09:30:00+00:00", False),
        ("0001-01-01T00:30:00+01:00", False),  # year 0 once in UTC
    ],
)
def test_schedule_datetimes(value, ok):
    messages = errors_for("when", value)
    assert (messages is None) is ok, messages
    if not ok:
        assert "yyyy-MM-dd HH:mm:ss, or ISO 8601 with an offset" in messages[0]


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("2030-01-15T09:00:00+00:00", "2030-01-15 09:00:00"),
        ("2030-01-15T09:00:00Z", "2030-01-15 09:00:00"),
        ("2030-01-15T09:00:00.999+01:00", "2030-01-15 08:00:00"),
        ("2030-01-01T00:30:00+05:45", "2029-12-31 18:45:00"),
        ("2030-01-15 09:00:00", "2030-01-15 09:00:00"),
    ],
)
def test_a_datetime_with_an_offset_is_sent_as_the_upstream_takes_it(value, sent):
    assert Sample().load({"when": value}) == {"when": sent}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("choice", "URGENT", "Must be one of: urgent, non-urgent."),
        ("choice", "low", "Must be one of: urgent, non-urgent."),
        ("bounded", 0, "Must be a whole number from 1 to 100."),
        ("bounded", 101, "Must be a whole number from 1 to 100."),
        ("bounded", "ten", "Not a valid whole number."),
        ("bounded", 1.5, "Not a valid whole number."),
        ("bounded", "4.5", "Not a valid whole number."),
        ("bounded", " 42", "Not a valid whole number."),
        ("bounded", "1e3", "Not a valid whole number."),
        ("bounded", "", "Not a valid whole number."),  # "" is "not sent" only for an optional field of an input
        ("bounded", "4" * 40, "Not a valid whole number."),
        ("bounded", "٤٢", "Not a valid whole number."),
        ("bounded", "101", "Must be a whole number from 1 to 100."),
        ("bounded", True, "Not a valid whole number."),
        ("ident", 0, "Must be a whole number from 1 to 2147483647."),
        ("ident", -4, "Must be a whole number from 1 to 2147483647."),
        ("ident", 2**63, "Must be a whole number from 1 to 2147483647."),
        ("email", "ana.example.com", "Not a valid email address: expected the form name@example.com."),
    ],
)
def test_enums_bounds_and_emails(field, value, message):
    assert errors_for(field, value) == [message]


@pytest.mark.parametrize(("field", "value"), [("bounded", 1), ("bounded", 100), ("ident", 7)])
def test_bounds_are_inclusive(field, value):
    assert errors_for(field, value) is None


def test_metadata_becomes_power_automate_keys():
    field = f.String(summary="First Name", description="First name.", visibility="advanced", example="Ana")
    assert field.metadata == {
        "x_ms_summary": "First Name",
        "description": "First name.",
        "x_ms_visibility": "advanced",
        "example": "Ana",
    }


def test_unknown_visibility_is_a_declaration_error():
    with pytest.raises(ValueError, match="visibility"):
        f.String(visibility="hidden")


def test_booleans_take_true_and_false_as_text_too():
    class Flags(Schema):
        flag = f.Boolean()

    assert Flags().load({"flag": True}) == {"flag": True}
    assert [Flags().load({"flag": v})["flag"] for v in ("true", "false", "True", "FALSE")] == [True, False, True, False]
    for value in (1, 0, "yes", "1", "", "t"):
        with pytest.raises(ValidationError, match="expected true or false"):
            Flags().load({"flag": value})


def test_numerals_as_text_are_whole_numbers():
    assert Sample().load({"bounded": "42", "ident": "+7"}) == {"bounded": 42, "ident": 7}
    assert Sample().load({"bounded": 42.0}) == {"bounded": 42}


def test_an_empty_optional_field_is_not_sent_in_json_too():
    from connector.declarations import InputSchema

    class Input(InputSchema):
        name = f.String(required=True, max_length=10)
        count = f.Integer()
        flag = f.Boolean(load_default=False)
        when = f.DateTime()
        tags = f.List(f.String(max_length=5))

    assert Input().load({"name": "a", "count": "", "flag": "", "when": "", "tags": ""}) == {"name": "a", "flag": False}
    assert Input().load({"name": "a", "tags": ["x"]}) == {"name": "a", "flag": False, "tags": ["x"]}
    with pytest.raises(ValidationError) as error:
        Input().load({"name": "", "nope": ""})  # an unknown field is refused, empty or not
    assert set(error.value.messages) == {"nope"}


def test_form_and_query_text_becomes_typed_values():
    from werkzeug.datastructures import MultiDict

    from connector.runtime import TextInput

    class Form(Schema):
        count = f.Integer()
        flag = f.Boolean()
        ids = f.List(f.Integer())
        name = f.String()
        sender = f.String(data_key="from")

    text = TextInput(Form())
    form = MultiDict([("count", "42"), ("flag", "true"), ("ids", "1"), ("ids", "2"), ("name", ""), ("from", "7")])
    assert text.read(form, blank_is_unset=True) == {"count": 42, "flag": True, "ids": [1, 2], "from": "7"}
    assert text.read(form)["name"] == ""  # a query string keeps empty values, validation decides
    assert text.read(MultiDict([("count", "4.5"), ("flag", "maybe")])) == {"count": "4.5", "flag": "maybe"}


@pytest.mark.parametrize("name", ["DATE_PATTERN", "DATETIME_PATTERN"])
def test_the_date_patterns_admit_exactly_the_calendar(name):
    """The documented patterns equal the calendar check, leap days included."""
    import datetime as dt
    import re

    from connector import fields

    pattern = re.compile(getattr(fields, name))
    time = " 23:59:59" if name == "DATETIME_PATTERN" else ""
    years = [*range(0, 9), *range(96, 105), *range(396, 405), *range(1896, 1905), *range(1996, 2105), 9999]
    for year in years:
        for month in range(14):
            for day in range(33):
                text = f"{year:04d}-{month:02d}-{day:02d}{time}"
                try:
                    dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S" if time else "%Y-%m-%d")
                    real = True
                except ValueError:
                    real = False
                assert bool(pattern.fullmatch(text)) == real, text
    if time:
        for text in ("2026-12-31 24:00:00", "2026-12-31 23:60:00", "2026-12-31 23:59:60", "2026-12-31T10:00:00"):
            assert pattern.fullmatch(text) is None


def test_a_patterned_field_declares_its_format_once():
    class Code(f.Patterned):
        pattern = r"^[A-Z]{2}\d{2}$"
        message = "Not a valid code: expected two capitals and two digits (for example AB12)."
        length = 4
        hint = "code AA00"
        example_value = "AB12"

    class Codes(Schema):
        code = Code()

    field = Codes().fields["code"]
    assert (f.max_length(field), field.metadata["example"], field.hint) == (4, "AB12", "code AA00")
    assert Codes().load({"code": "AB12"}) == {"code": "AB12"}
    for bad in ("ab12", "AB123", "AB1٢"):  # an over-long value gets the format's message too
        with pytest.raises(ValidationError) as error:
            Codes().load({"code": bad})
        assert error.value.messages == {"code": [Code.message]}


def test_timestamps_are_written_iso_8601_with_a_zone():
    class Times(Schema):
        at = f.Timestamp()

    def shown(value):
        return Times().dump({"at": value})["at"]

    assert shown(1764225916.5) == "2025-11-27T06:45:16.500Z"  # the service's own Unix times
    assert shown("2026-11-27 06:45:16") == "2026-11-27T06:45:16Z"  # an upstream's zone-less time: UTC
    assert shown("2026-11-27T06:45:16.150+01:00") == "2026-11-27T06:45:16.150+01:00"  # zoned: kept
    assert shown(shown("2026-11-27 06:45:16")) == "2026-11-27T06:45:16Z"  # dumping twice changes nothing
    assert shown("") is None and shown(None) is None
    assert Times().fields["at"].metadata["format"] == "date-time"


def test_a_timestamp_reads_unix_time_as_number_or_text_and_never_fails_on_an_odd_value():
    from marshmallow import Schema

    class Times(Schema):
        at = f.Timestamp()

    def dumped(value):
        return Times().dump({"at": value})["at"]

    assert dumped(1767225600) == dumped("1767225600") == "2026-01-01T00:00:00.000Z"
    assert dumped("2026-01-01 10:00:00") == "2026-01-01T10:00:00Z"  # an upstream's zone-less time: UTC
    assert dumped("2026-01-01T10:00:00+01:00") == "2026-01-01T10:00:00+01:00"
    assert dumped(1767225600000) == "1767225600000"  # milliseconds, out of range: passed on, not a 500
    assert dumped(1e300) == "1e+300" and dumped("") is None and dumped(None) is None
