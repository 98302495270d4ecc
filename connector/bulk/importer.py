"""``connector import``: a spreadsheet into a connector's import action, through a running service.

Everything that can be checked is checked before the first call (options, columns, every row); the
rows refused go to a rejects CSV, the rest are sent in batches (:mod:`connector.bulk.batches`), each
recorded in a local state file once done, and the vendor's import is then awaited through the
action's status action, when it declares one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from connector.bulk.batches import Call, Done, plan
from connector.bulk.client import ActionClient, Answer, Unavailable
from connector.bulk.declaration import ImportsRows
from connector.bulk.display import Bar
from connector.bulk.rows import MappingError, Reject, map_columns, validate_rows, write_rejects
from connector.bulk.sheet import SheetError, read_sheet
from connector.declarations import Catalog, Operation
from connector.errors import flatten_errors
from connector.runtime import TextInput

DEFAULT_BATCH = 1000


class ImportProblem(Exception):
    """Found before anything was sent: the options, the file or its columns. Nothing was sent."""


@dataclass
class Request:
    """What the person asked for (the command's options)."""

    path: Path
    catalog: Catalog
    list_value: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # --map column=field
    settings: list[tuple[str, str]] = field(default_factory=list)  # --set field=value, a list field repeated
    batch_size: int | None = None  # None: DEFAULT_BATCH, or the action's maximum when smaller
    action: str | None = None
    sheet: str | None = None


@dataclass
class Prepared:
    """The import, validated and planned, before any call."""

    action: ImportsRows
    status: Operation | None  # the action's status action, if it declares one
    rows_read: int
    good: int
    rejects: list[Reject]
    common: dict[str, Any]
    calls: list[Call]


@dataclass
class Report:
    rows_done_before: int = 0
    rows_sent: int = 0
    rows_existing: int = 0  # a lone row the single action found already there (409)
    bulk_calls: int = 0
    single_calls: int = 0
    replayed: int = 0  # calls the service answered from its idempotency store (sent by an earlier run)
    failures: list[Reject] = field(default_factory=list)
    finished: bool | None = None  # the vendor's import: None when there is nothing to wait for


def import_action(catalog: Catalog, key: str | None) -> ImportsRows:
    """The catalog's action that imports rows: the one named, or its only one."""
    candidates = {op.key: op for op in catalog.instances if isinstance(op, ImportsRows)}
    if key is not None:
        if key not in candidates:
            raise ImportProblem(
                f"{catalog.name} has no import action {key!r}; it has: {', '.join(candidates) or 'none'}"
            )
        return candidates[key]
    if len(candidates) != 1:
        raise ImportProblem(
            f"{catalog.name} has {'no import action' if not candidates else 'several import actions'}"
            + (f": choose one with --action ({', '.join(candidates)})" if candidates else "")
        )
    return next(iter(candidates.values()))


def common_fields(request: Request, action: ImportsRows) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields every call shares (--list, --set), as sent and as the action's schema loads them."""
    schema = action.input_schema
    pairs = list(request.settings)
    if request.list_value is not None:
        if action.list_field is None:
            raise ImportProblem(f"{action.key} takes no list: leave out --list")
        pairs.append((action.list_field, request.list_value))
    allowed = set(TextInput(schema).converters) - {action.rows_field}
    unknown = sorted({name for name, _ in pairs if name not in allowed})
    if unknown:
        raise ImportProblem(
            f"--set names unknown fields: {', '.join(unknown)}; the fields are: {', '.join(sorted(allowed))}"
        )
    common = TextInput(schema).read(MultiDict(pairs))
    try:
        loaded = schema.load(common, partial=(action.rows_field,))
    except ValidationError as error:
        problems = flatten_errors(error.messages)
        hint = " (give it with --list)" if action.list_field in problems else ""
        raise ImportProblem(
            "; ".join(f"{name}: {' '.join(messages)}" for name, messages in problems.items()) + hint
        ) from None
    loaded.pop(action.rows_field, None)
    return common, loaded


def prepare(request: Request) -> Prepared:
    """Read, map, validate and plan: every check before the first call."""
    action = import_action(request.catalog, request.action)
    size = min(DEFAULT_BATCH, action.max_rows) if request.batch_size is None else request.batch_size
    if not 1 <= size <= action.max_rows:
        raise ImportProblem(f"--batch-size must be from 1 to {action.max_rows} ({action.key} takes at most that)")
    common, loaded = common_fields(request, action)
    try:
        sheet = read_sheet(request.path, request.sheet)
    except (OSError, SheetError) as error:
        raise ImportProblem(str(error)) from None
    try:
        columns = map_columns(sheet.header, action, request.columns)
    except MappingError as error:
        raise ImportProblem(str(error)) from None
    good, rejects = validate_rows(sheet, columns, action, loaded)
    try:
        calls = plan(good, action, common, loaded, size)
    except ValueError as error:
        raise ImportProblem(str(error)) from None
    operations = {op.key: op for op in request.catalog.instances}
    for key in (action.single_action, action.status_action):
        if key is not None and key not in operations:
            raise ImportProblem(f"{action.key} names an action {request.catalog.name} does not have: {key}")
    status = operations[action.status_action] if action.status_action else None
    return Prepared(action, status, len(sheet.rows), len(good), rejects, common, calls)


def rows_done(prepared: Prepared, done: Done) -> int:
    """Rows an earlier run of the same import already sent."""
    return sum(len(call.rows) for call in prepared.calls if call.key in done)


def send(prepared: Prepared, client: ActionClient, done: Done, bar: Bar, report: Report) -> None:
    """Each call not done yet, in order, recorded as it succeeds, counted in ``report`` as it goes
    (so an interrupted import still reports what it did). A call the service refuses (a 4xx other
    than a lone row already there) is reported with its rows and left undone."""
    client.on_wait = lambda seconds, reason: bar.note(f"waiting {seconds:g} s: {reason}")
    for call in prepared.calls:
        if call.key in done:
            report.rows_done_before += len(call.rows)
            continue
        answer = client.call(call.action, call.body, call.key)
        bulk = call.action == prepared.action.key
        report.replayed += answer.replayed
        if 200 <= answer.status < 300 or (not bulk and answer.status == 409):
            outcome = "sent" if answer.status < 300 else "exists"
            done.add(call, answer.status, outcome)
            report.rows_sent += len(call.rows) if outcome == "sent" else 0
            report.rows_existing += len(call.rows) if outcome == "exists" else 0
            report.bulk_calls += bulk
            report.single_calls += not bulk
        else:
            report.failures += failed(call, answer)
        bar.advance(len(call.rows))


def failed(call: Call, answer: Answer) -> list[Reject]:
    why = f"refused by the service ({answer.status}): {answer.problem}"
    return [Reject(row, "", "", "", why) for row in call.rows]


def wait_until_finished(prepared: Prepared, client: ActionClient, bar: Bar, timeout: float) -> bool | None:
    """Ask the status action until the vendor says its imports are done (None: nothing to ask)."""
    action, status = prepared.action, prepared.status
    if status is None or not any(call.action == action.key for call in prepared.calls):
        return None
    body = {k: v for k, v in prepared.common.items() if k in TextInput(status.input_schema).converters}
    deadline, pause = time.monotonic() + timeout, 0.2
    bar.note("waiting for the import to finish")
    while True:
        answer = client.call(status.key, body)
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise Unavailable(f"{status.key} answered {answer.status}: {answer.problem}")
        if answer.body.get("finished") is True:
            return True
        if time.monotonic() + pause > deadline:
            return False
        client.sleep(pause)
        pause = min(pause * 2, 2.0)


def finish_rejects(path: Path, prepared: Prepared, report: Report | None) -> Path | None:
    """Write the rejects file when there is anything to reject."""
    rejects = [*prepared.rejects, *(report.failures if report else ())]
    if not rejects:
        return None
    write_rejects(path, sorted(rejects, key=lambda r: r.row))
    return path
