"""connector.bulk with a catalog of its own (no vendor): reading sheets, mapping columns, validating
rows, cutting batches and their keys, the state file, and the client's patience with `responses`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import requests
import responses
from marshmallow import validate
from openpyxl import Workbook

from connector import fields as f
from connector.bulk import ImportsRows
from connector.bulk.batches import Call, Done, cut
from connector.bulk.client import RETRIES, ActionClient, Refused, Unavailable
from connector.bulk.importer import ImportProblem, Request, prepare
from connector.bulk.rows import MappingError, map_columns
from connector.bulk.sheet import SheetError, read_sheet
from connector.declarations import Action, Catalog, Credential, InputSchema, OutputSchema, Service


class Person(InputSchema):
    name = f.String(required=True, max_length=20, summary="Full Name", description="The name.")
    age = f.BoundedInteger(minimum=0, maximum=150, summary="Age", description="Age in years.")
    born = f.Date(summary="Born", description="Birth date.")


class People(InputSchema):
    group = f.Id(required=True, summary="Group", description="The group.")
    loud = f.Boolean(load_default=False, summary="Loud", description="Shout.")
    people = f.List(f.Nested(Person), required=True, validate=validate.Length(min=2, max=3))


class InGroup(Person):
    group = f.Id(required=True, summary="Group", description="The group.")


class Done_(OutputSchema):
    ok = f.Boolean(summary="Ok", description="Done.")


class AddPeople(ImportsRows, Action):
    key, operation_id, summary, description = "add_people", "AddPeople", "Add people", "Adds people."
    Input, Output = People, Done_
    rows_field, list_field, min_rows, max_rows, single_action = "people", "group", 2, 3, "add_person"


class AddPerson(Action):
    key, operation_id, summary, description = "add_person", "AddPerson", "Add a person", "Adds a person."
    Input, Output = InGroup, Done_


CATALOG = Catalog(
    name="people",
    title="People",
    description="People.",
    version="1.0.0",
    credential=Credential(header="X-Key"),
    services=(Service("people", "People API", "PEOPLE_URL", "X-Key"),),
    operations=(AddPeople, AddPerson),
    publisher="Tests",
    brand_color="#123456",
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- sheets -------------------------------------------------------------------------------------


def test_csv_with_a_byte_order_mark_and_semicolons_and_a_comma_in_a_quoted_header(tmp_path):
    sheet = read_sheet(write(tmp_path / "a.csv", '\ufeffName;"Age, in years"\nAna;31\n;\n"Rui; Jr";\n'))
    assert sheet.header == ["Name", "Age, in years"]
    assert sheet.rows == [(2, ["Ana", "31"]), (4, ["Rui; Jr", ""])]  # the blank row 3 is no row


def test_xlsx_cells_read_as_a_person_sees_them(tmp_path):
    book = Workbook()
    book.active.append(["Name", "Age", "Born"])
    book.active.append(["Ana", 31, dt.datetime(1990, 1, 31)])
    book.active.append([None, None, None])
    book.active.append(["Rui", 40.0, dt.date(1985, 12, 1)])
    book.save(tmp_path / "a.xlsx")
    sheet = read_sheet(tmp_path / "a.xlsx")
    assert sheet.rows == [(2, ["Ana", "31", "1990-01-31"]), (4, ["Rui", "40", "1985-12-01"])]


@pytest.mark.parametrize(
    ("text", "message"),
    [("Name,Name\nA,B\n", "columns named twice: Name"), ("Name\nA,B\n", "row 2 has more cells"), ("", "empty")],
)
def test_unreadable_sheets_say_why(tmp_path, text, message):
    with pytest.raises(SheetError, match=message):
        read_sheet(write(tmp_path / "a.csv", text))


# --- columns and rows ---------------------------------------------------------------------------


def test_columns_match_fields_by_name_or_label_and_map_overrides():
    columns = map_columns(["FULL NAME", "age", "Notes"], AddPeople(), {"Notes": ""})
    assert columns.fields == {"FULL NAME": "name", "age": "age"}
    assert map_columns(["Who"], AddPeople(), {"Who": "name"}).fields == {"Who": "name"}


@pytest.mark.parametrize(
    ("header", "overrides", "message"),
    [
        (["name", "Notes"], {}, "columns that match no field: Notes"),
        (["name"], {"Who": "name"}, "--map names columns the file does not have: Who"),
        (["name"], {"name": "nmae"}, "--map names unknown fields: nmae"),
        (["name", "Full Name"], {}, "several columns fill the same field: name"),
    ],
)
def test_columns_that_fit_no_field_stop_the_import(header, overrides, message):
    with pytest.raises(MappingError, match=message):
        map_columns(header, AddPeople(), overrides)


def test_prepare_validates_every_row_and_plans_keyed_batches(tmp_path):
    path = write(
        tmp_path / "p.csv",
        "name,age,born\nAna,31,1990-01-31\nRui,abc,\nEva,,2023-02-30\n,5,\nJo,2,\nMia,,\nLeo,,\nTom,,\n",
    )
    prepared = prepare(Request(path, CATALOG, list_value="7", settings=[("loud", "true")], batch_size=2))
    assert [(r.row, r.field, r.value) for r in prepared.rejects] == [
        (3, "age", "abc"),
        (4, "born", "2023-02-30"),
        (5, "name", ""),
    ]
    # 5 good rows in batches of 2: the last lone row joins the one before (max 3)
    assert [(c.action, c.rows) for c in prepared.calls] == [("add_people", (2, 6)), ("add_people", (7, 8, 9))]
    assert prepared.calls[0].body == {
        "loud": True,
        "group": 7,
        "people": [{"name": "Ana", "age": 31, "born": "1990-01-31"}, {"name": "Jo", "age": 2}],
    }
    again = prepare(Request(path, CATALOG, list_value="7", settings=[("loud", "true")], batch_size=2))
    assert [c.key for c in again.calls] == [c.key for c in prepared.calls]


def test_an_xlsx_sheet_is_imported_like_a_csv(tmp_path):
    book = Workbook()
    book.active.title = "Ignored"
    sheet = book.create_sheet("People")
    for row in (["Full Name", "Age", "Born"], ["Ana", 31, dt.datetime(1990, 1, 31)], ["Rui", -1, None]):
        sheet.append(row)
    book.save(tmp_path / "p.xlsx")
    prepared = prepare(Request(tmp_path / "p.xlsx", CATALOG, list_value="7", sheet="People"))
    assert [(r.row, r.column, r.field, r.value) for r in prepared.rejects] == [(3, "Age", "age", "-1")]
    assert [(c.action, c.body) for c in prepared.calls] == [
        ("add_person", {"name": "Ana", "age": 31, "born": "1990-01-31", "group": 7})
    ]


def test_a_lone_valid_row_goes_through_the_single_action(tmp_path):
    path = write(tmp_path / "p.csv", "name\nAna\n")
    (call,) = prepare(Request(path, CATALOG, list_value="7")).calls
    assert (call.action, call.body) == ("add_person", {"name": "Ana", "group": 7})


@pytest.mark.parametrize(
    ("request_args", "message"),
    [
        ({}, r"group: Missing data for required field\. \(give it with --list\)"),
        ({"list_value": "x"}, "group: Not a valid id: expected a whole number"),
        ({"list_value": "1", "settings": [("people", "x")]}, "--set names unknown fields: people"),
        ({"list_value": "1", "batch_size": 4}, "--batch-size must be from 1 to 3"),
    ],
)
def test_options_are_checked_before_anything_is_sent(tmp_path, request_args, message):
    with pytest.raises(ImportProblem, match=message):
        prepare(Request(write(tmp_path / "p.csv", "name\nAna\n"), CATALOG, **request_args))


# --- batches, keys and the state file -----------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "size", "expected"),
    [
        (5, 2, [(0, 2), (2, 5)]),  # a last lone row joins the batch before
        (4, 2, [(0, 2), (2, 4)]),
        (1, 2, [(0, 1)]),  # one row: the single action
        (7, 3, [(0, 3), (3, 5), (5, 7)]),  # joined it would pass the maximum (3): it takes a row instead
        (3, 1, [(0, 1), (1, 2), (2, 3)]),  # batches under the minimum: every row alone
    ],
)
def test_cut(count, size, expected):
    assert [(r.start, r.stop) for r in cut(count, size, minimum=2, maximum=3)] == expected


def test_keys_derive_from_what_is_sent():
    call = Call("add", {"b": 1, "a": [{"x": 1}]}, (2,))
    assert call.key == Call("add", {"a": [{"x": 1}], "b": 1}, (9,)).key  # the same content, the same key
    assert call.key != Call("add", {"a": [{"x": 2}], "b": 1}, (2,)).key
    assert call.key != Call("other", {"b": 1, "a": [{"x": 1}]}, (2,)).key
    assert call.key.startswith("import-") and len(call.key) == 71


def test_the_state_file_survives_a_line_cut_short(tmp_path):
    path = tmp_path / "state.jsonl"
    first, second = Call("add", {"n": 1}, (2, 3)), Call("add", {"n": 2}, (4, 5))
    Done(path).add(first, 202, "sent")
    with path.open("ab") as out:
        out.write(b'{"key": "import-cut-sho')  # killed while writing
    done = Done(path)
    assert first.key in done and second.key not in done
    assert json.loads(path.read_bytes().splitlines()[0])["rows"] == 2


# --- the client ---------------------------------------------------------------------------------

URL = "http://service.test"
ENDPOINT = f"{URL}/people/actions/add_people"


def client(waits: list[float]) -> ActionClient:
    return ActionClient(URL, "people", "X-Key", "secret", sleep=waits.append)


@responses.activate
def test_a_429_is_waited_out_as_long_as_retry_after_says():
    responses.post(
        ENDPOINT, status=429, headers={"Retry-After": "2"}, json={"type": "urn:connector:problem:rate-limited"}
    )
    responses.post(ENDPOINT, status=429, headers={"Retry-After": "1"})
    responses.post(ENDPOINT, status=202, json={"ok": True})
    waits: list[float] = []
    answer = client(waits).call("add_people", {"people": []}, "import-k")
    assert (answer.status, waits) == (202, [2.0, 1.0])
    assert {c.request.headers["Idempotency-Key"] for c in responses.calls} == {"import-k"}
    assert {c.request.headers["X-Key"] for c in responses.calls} == {"secret"}


@responses.activate
def test_a_key_still_in_use_is_waited_out_and_then_replayed():
    responses.post(
        ENDPOINT,
        status=409,
        headers={"Retry-After": "1"},
        json={"type": "urn:connector:problem:idempotency-key-in-use"},
    )
    responses.post(ENDPOINT, status=202, json={"ok": True}, headers={"Idempotent-Replayed": "true"})
    waits: list[float] = []
    answer = client(waits).call("add_people", {}, "import-k")
    assert (answer.status, answer.replayed, waits) == (202, True, [1.0])


@responses.activate
def test_5xx_and_connection_failures_are_retried_with_backoff_then_given_up():
    responses.post(ENDPOINT, body=requests.ConnectionError("refused"))
    responses.post(ENDPOINT, status=503)
    responses.post(ENDPOINT, status=202, json={"ok": True})
    waits: list[float] = []
    assert client(waits).call("add_people", {}, "k").status == 202
    assert waits == [0.5, 1.0]

    responses.reset()
    responses.post(ENDPOINT, status=502, json={"detail": "the vendor is down"})
    waits.clear()
    with pytest.raises(Unavailable, match="answered 502"):
        client(waits).call("add_people", {}, "k")
    assert len(waits) == RETRIES


@responses.activate
def test_a_refused_key_stops_at_once_and_a_4xx_is_the_answer():
    responses.post(ENDPOINT, status=401, json={"detail": "Missing or invalid API key."})
    with pytest.raises(Refused, match="401"):
        client([]).call("add_people", {}, "k")
    responses.reset()
    responses.post(ENDPOINT, status=422, json={"detail": "1 field failed", "errors": {"people.0.name": ["Bad."]}})
    answer = client([]).call("add_people", {}, "k")
    assert (answer.status, answer.problem) == (422, "1 field failed people.0.name: Bad.")
