"""The calls an import makes, each with an Idempotency-Key derived from what it sends, and the small
local file that records which of them are done.

Batches are cut from the valid rows in file order, the same way on every run, so a re-run makes the
same calls with the same keys: those recorded as done are skipped without a call, and one that was
sent but not recorded (the importer was killed while it was in flight) is answered by the service
from its idempotency store instead of being sent upstream a second time.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

KEY_PREFIX = "import-"


@dataclass(frozen=True)
class Call:
    """One action call of the import: its action, body, key and the spreadsheet rows it carries."""

    action: str
    body: dict[str, Any]
    rows: tuple[int, ...]

    @cached_property
    def key(self) -> str:
        """The call's Idempotency-Key, from its action and body (hashed once: batches are large)."""
        canonical = orjson.dumps([self.action, self.body], option=orjson.OPT_SORT_KEYS)
        return KEY_PREFIX + hashlib.sha256(canonical).hexdigest()


def cut(count: int, size: int, minimum: int, maximum: int) -> list[range]:
    """``count`` rows in batches of ``size``; a last batch under ``minimum`` joins the one before it
    (or takes rows from it when together they pass ``maximum``). One batch under ``minimum`` stays
    as it is: its rows go one by one (as every row does when ``size`` is under ``minimum``)."""
    batches = [range(start, min(start + size, count)) for start in range(0, count, size)]
    if size >= minimum and len(batches) > 1 and len(batches[-1]) < minimum:
        before, last = batches[-2], batches[-1]
        if len(before) + len(last) <= maximum:
            batches[-2:] = [range(before.start, last.stop)]
        else:
            split = last.stop - minimum
            batches[-2:] = [range(before.start, split), range(split, last.stop)]
    return batches


def plan(
    rows: list[tuple[int, dict[str, Any]]],
    action: Any,
    common: dict[str, Any],
    loaded_common: dict[str, Any],
    size: int,
) -> list[Call]:
    """The calls for ``rows`` (``(row number, input)``) through ``action`` (an ImportsRows action):
    one call per batch, or per row through its single action for a batch too small for it."""
    calls = []
    for batch in cut(len(rows), size, action.min_rows, action.max_rows):
        chunk = rows[batch.start : batch.stop]
        if len(chunk) >= action.min_rows:
            body = {**common, action.rows_field: [row for _, row in chunk]}
            calls.append(Call(action.key, body, tuple(number for number, _ in chunk)))
            continue
        if action.single_action is None:
            raise ValueError(f"{action.key} takes at least {action.min_rows} rows and declares no single-row action")
        for number, row in chunk:
            calls.append(Call(action.single_action, action.single_input(row, loaded_common), (number,)))
    return calls


class Done:
    """The keys of the calls done, one JSON line each, appended and flushed as each call ends, so a
    kill loses at most the line of the call in flight (which the idempotency key then covers)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict[str, Any]] = {}
        if path.exists():
            for line in path.read_bytes().splitlines():
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue  # a line cut short by a crash: its call is simply not done
                if isinstance(record, dict) and isinstance(record.get("key"), str):
                    self.records[record["key"]] = record

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def add(self, call: Call, status: int, outcome: str) -> None:
        record = {"key": call.key, "action": call.action, "rows": len(call.rows), "status": status, "outcome": outcome}
        with self.path.open("ab") as out:
            out.write(orjson.dumps(record) + b"\n")
            out.flush()
            os.fsync(out.fileno())
        self.records[call.key] = record
