"""From a sheet's columns to an action's rows: map the columns to fields, validate every row with
the action's own schema, and keep the rejects (row, column, field, value, why) for a CSV."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError, fields
from werkzeug.datastructures import MultiDict

from connector.bulk.declaration import ImportsRows
from connector.bulk.sheet import Sheet, iter_cells
from connector.errors import flatten_errors
from connector.runtime import TextInput

REJECT_COLUMNS = ("row", "column", "field", "value", "error")


class MappingError(Exception):
    """The columns cannot be matched to the action's fields; nothing was sent."""


@dataclass(frozen=True)
class Reject:
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str
    field: str
    value: str
    error: str


@dataclass(frozen=True)
class ColumnMap:
    fields: dict[str, str]  # column -> the row field it fills
    extra: tuple[str, ...]  # columns the action reads itself (ImportsRows.extra_column)


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().casefold())


def text_fields(schema: Schema) -> dict[str, str]:
    """The fields a cell can fill (not lists or nested objects), by their input name, each with the
    label it is shown with (x-ms-summary)."""
    found = {}
    for name, field in schema.fields.items():
        if isinstance(field, fields.List | fields.Nested | fields.Dict):
            continue
        found[field.data_key or name] = field.metadata.get("x_ms_summary", "")
    return found


def map_columns(header: list[str], action: ImportsRows, overrides: dict[str, str]) -> ColumnMap:
    """Each named column to a field: by ``overrides`` (``column=field``; an empty field skips the
    column), else by its header, the field's name or label in any case, spaces read as ``_``."""
    available = text_fields(action.row_schema)
    by_name: dict[str, str] = {}
    for name, label in available.items():
        if label:
            by_name.setdefault(_norm(label), name)
    for name in available:
        by_name[_norm(name)] = name
    columns = [c for c in header if c]
    unknown_overrides = sorted(set(overrides) - set(columns))
    if unknown_overrides:
        raise MappingError(f"--map names columns the file does not have: {', '.join(unknown_overrides)}")
    wrong_fields = sorted({f for f in overrides.values() if f and f not in available})
    if wrong_fields:
        raise MappingError(
            f"--map names unknown fields: {', '.join(wrong_fields)}; the fields are: {', '.join(available)}"
        )
    mapped: dict[str, str] = {}
    extra: list[str] = []
    unknown: list[str] = []
    for column in columns:
        if column in overrides:
            if overrides[column]:
                mapped[column] = overrides[column]
        elif _norm(column) in by_name:
            mapped[column] = by_name[_norm(column)]
        elif action.extra_column(_norm(column)):
            extra.append(column)
        else:
            unknown.append(column)
    if unknown:
        raise MappingError(
            f"columns that match no field: {', '.join(unknown)}. Map each with --map 'COLUMN=FIELD', or skip it "
            f"with --map 'COLUMN='. The fields are: {', '.join(available)}"
        )
    twice = sorted({f for f in mapped.values() if list(mapped.values()).count(f) > 1})
    if twice:
        raise MappingError(f"several columns fill the same field: {', '.join(twice)}")
    return ColumnMap(mapped, tuple(extra))


def validate_rows(
    sheet: Sheet, columns: ColumnMap, action: ImportsRows, common: dict[str, Any]
) -> tuple[list[tuple[int, dict[str, Any]]], list[Reject]]:
    """The rows that pass the action's row schema and rules, as the action's input, and the rejects.
    Cells are trimmed; an empty cell is a field not set."""
    schema = action.row_schema
    text = TextInput(schema)
    column_of = {field: column for column, field in columns.fields.items()}
    good: list[tuple[int, dict[str, Any]]] = []
    rejects: list[Reject] = []
    for number, cells in iter_cells(sheet):
        cells = {column: cell.strip() for column, cell in cells.items()}
        values = text.read(
            MultiDict([(field, cells[column]) for column, field in columns.fields.items()]), blank_is_unset=True
        )
        extra = {_norm(column): cells[column] for column in columns.extra if cells[column]}
        row = action.row_from_columns(values, extra)
        try:
            schema.load(row)
            problems: dict[str, list[str]] = {}
        except ValidationError as error:
            problems = flatten_errors(error.messages)
        for field, messages in action.row_problems(row, common).items():
            problems.setdefault(field, messages)  # a field the schema already refused says why once
        if not problems:
            good.append((number, row))
            continue
        for field in sorted(problems):
            column = column_of.get(field, "")
            rejects.append(
                Reject(number, column, field, cells.get(column, ""), " ".join(dict.fromkeys(problems[field])))
            )
    return good, rejects


def write_rejects(path: Path, rejects: list[Reject]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(REJECT_COLUMNS)
        for reject in rejects:
            writer.writerow((reject.row, reject.column, reject.field, reject.value, reject.error))
