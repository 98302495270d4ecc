"""Reading a spreadsheet, CSV or xlsx, as a header and rows of text cells."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class SheetError(Exception):
    """The file cannot be read as a spreadsheet with a header row."""


@dataclass(frozen=True)
class Sheet:
    """The header and the rows; each row with its number as a spreadsheet shows it (header = 1)."""

    header: list[str]
    rows: list[tuple[int, list[str]]]


def read_sheet(path: Path, sheet_name: str | None = None) -> Sheet:
    """A CSV (UTF-8, with or without a byte order mark; comma, semicolon or tab separated, as the
    first line shows) or the first (or named) worksheet of an xlsx workbook."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        header, rows = _xlsx(path, sheet_name)
    else:
        if sheet_name:
            raise SheetError("--sheet applies to xlsx workbooks only")
        header, rows = _csv(path)
    header = [cell.strip() for cell in header]
    if not any(header):
        raise SheetError(f"{path} has no header row: its first row must name the columns")
    named = [h for h in header if h]
    repeated = sorted({h for h in named if named.count(h) > 1})
    if repeated:
        raise SheetError(f"{path}: columns named twice: {', '.join(repeated)}")
    width = len(header)
    kept = []
    for number, cells in rows:
        if any(cell.strip() for cell in cells[width:]):
            raise SheetError(f"{path}: row {number} has more cells ({len(cells)}) than the header ({width})")
        cells = (cells + [""] * width)[:width]
        if any(cell.strip() for cell in cells):  # blank rows are not rows
            kept.append((number, cells))
    return Sheet(header, kept)


def _csv(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise SheetError(f"{path} is not UTF-8 text (save the CSV as UTF-8): {error}") from None
    first_line = re.sub(r'"[^"]*"', "", text.split("\n", 1)[0])  # separators inside quotes do not count
    delimiter = max((",", ";", "\t"), key=first_line.count)
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not records:
        raise SheetError(f"{path} is empty")
    return records[0], [(index + 2, record) for index, record in enumerate(records[1:])]


def _xlsx(path: Path, sheet_name: str | None) -> tuple[list[str], list[tuple[int, list[str]]]]:
    from openpyxl import load_workbook  # only for workbooks

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several kinds for a file that is not a workbook
        raise SheetError(f"{path} is not an xlsx workbook: {error}") from None
    try:
        if sheet_name is not None and sheet_name not in workbook.sheetnames:
            raise SheetError(f"{path} has no sheet {sheet_name!r}; it has: {', '.join(workbook.sheetnames)}")
        sheet = workbook[sheet_name] if sheet_name else workbook.worksheets[0]
        records = iter(sheet.iter_rows(values_only=True))
        header = [_text(cell) for cell in next(records, ())]
        rows = [(number, [_text(cell) for cell in record]) for number, record in enumerate(records, start=2)]
    finally:
        workbook.close()
    while header and not header[-1]:
        header.pop()
    return header, rows


def _text(cell: Any) -> str:
    """A cell as the text a person sees: dates as yyyy-mm-dd, whole numbers without ``.0``."""
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time() else cell.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def iter_cells(sheet: Sheet) -> Iterator[tuple[int, dict[str, str]]]:
    """Each row as ``{column: cell}``, columns without a name left out."""
    for number, cells in sheet.rows:
        yield number, {name: cell for name, cell in zip(sheet.header, cells, strict=True) if name}
