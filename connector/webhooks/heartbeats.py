"""The roll of live delivery workers: the only module that writes the ``workers`` table.

Each worker writes ``last_seen`` every few seconds while it runs and leaves the roll when it
stops. A subscription leased by a worker that is not on the roll (or fell silent) can be claimed at
once, without waiting for its lease to run out.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from connector.tables import workers


def beat(connection: sa.Connection, name: str, now: float) -> None:
    """Say worker ``name`` is alive at ``now`` (joining the roll on its first beat)."""
    if not connection.execute(workers.update().where(workers.c.name == name).values(last_seen=now)).rowcount:
        connection.execute(workers.insert().values(name=name, started_at=now, last_seen=now))


def leave(connection: sa.Connection, name: str) -> None:
    """Worker ``name`` stops: its subscriptions go to the others at once."""
    connection.execute(workers.delete().where(workers.c.name == name))


def live(now: float, dead_after: float) -> Any:
    """The names of the workers heard from in the last ``dead_after`` seconds (a subquery)."""
    return sa.select(workers.c.name).where(workers.c.last_seen >= now - dead_after)


def count_live(connection: sa.Connection, now: float, dead_after: float) -> int:
    return connection.execute(sa.select(sa.func.count()).select_from(live(now, dead_after).subquery())).scalar() or 0


def forget_silent(connection: sa.Connection, since: float) -> None:
    """Drop the workers silent since ``since``: they left without a word (killed), long ago."""
    connection.execute(workers.delete().where(workers.c.last_seen < since))
