"""The outbox: the only module that writes the ``events`` table and the ``attempts`` table.

One row per event to deliver, written before the receiver answers the upstream. A row leaves
"pending" when its subscriber answered 2xx (delivered), when the retry schedule ran out (failed:
kept, listed, sent again when its subscription is re-enabled) or when its subscription ended
(cancelled). Each send is also kept as one ``attempts`` row (time, status code, duration, error),
written with the event's new state, for the delivery console; retention deletes them with their
event (ON DELETE CASCADE). Every function takes the caller's connection, so a caller puts a write
here and one in the subscriptions table in the same transaction (the delivery worker fences each
write with its lease that way).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from connector.tables import attempts, events

PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"

# A batch of deliveries, one row each ({event_id, n, code, at}), in one executemany. An event
# cancelled meanwhile is still marked delivered: the subscriber did get it.
_RECORD_DELIVERED = (
    events.update()
    # A delivery is recorded whatever happened to the event meanwhile (ended: cancelled; disabled:
    # held as failed): it was delivered, and must not be sent again on re-enabling.
    .where(events.c.id == sa.bindparam("event_id"), sa.or_(*(events.c.status == s for s in (PENDING, CANCELLED, FAILED))))
    .values(status=DELIVERED, attempts=sa.bindparam("n"), last_status=sa.bindparam("code"),
            last_error=None, delivered_at=sa.bindparam("at"))
)  # fmt: skip


def new_webhook_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def insert_ignoring_duplicates(dialect: str) -> Any:
    """The insert :func:`enqueue` runs: an event key seen before for the subscription is skipped."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING tells what was inserted: psycopg reports no row count for INSERT ... ON CONFLICT.
    return insert(events).on_conflict_do_nothing(index_elements=["subscription_id", "event_key"]).returning(events.c.id)


def enqueue(
    connection: sa.Connection,
    insert: Any,
    subscription_id: str,
    items: list[tuple[str, dict[str, Any]]],
    held: str | None = None,
) -> int:
    """Write events (``(event key, event)`` pairs) with ``insert`` (:func:`insert_ignoring_duplicates`).
    ``held``: the reason they are not to be sent now (a disabled subscription): they are kept as
    failed, to be sent on re-enabling. Returns how many were new."""
    now = time.time()
    inserted = 0
    for key, event in items:  # one by one: a duplicate inside one batch must not drop its neighbours
        row = {
            "subscription_id": subscription_id,
            "event_key": key,
            "webhook_id": new_webhook_id(),
            "payload": orjson.dumps(event),
            "status": PENDING if held is None else FAILED,
            "last_error": None if held is None else f"not sent: {held}",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        inserted += len(connection.execute(insert.values(**row)).all())
    return inserted


def cancel_pending(connection: sa.Connection, subscription_id: str, reason: str) -> None:
    """The subscription ended: its pending events will never be sent."""
    connection.execute(
        events.update()
        .where(events.c.subscription_id == subscription_id, events.c.status == PENDING)
        .values(status=CANCELLED, last_error=reason)
    )


def hold_pending(connection: sa.Connection, subscription_id: str, reason: str) -> None:
    """The subscription was disabled: its pending events become failed, to be sent on re-enabling."""
    connection.execute(
        events.update()
        .where(events.c.subscription_id == subscription_id, events.c.status == PENDING)
        .values(status=FAILED, last_error=f"not sent: subscription disabled ({reason})")
    )


def requeue_failed(connection: sa.Connection, subscription_id: str) -> int:
    """Queue the subscription's failed events again, due now, with a fresh retry schedule."""
    return connection.execute(
        events.update()
        .where(events.c.subscription_id == subscription_id, events.c.status == FAILED)
        .values(status=PENDING, attempts=0, next_attempt_at=time.time())
    ).rowcount


def listing(
    connection: sa.Connection,
    subscription_id: str,
    limit: int = 100,
    before: int | None = None,
    status: str | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """The subscription's events and how their delivery went, each with its attempts (oldest
    first), newest first: ``limit`` of them, received before the one numbered ``before``, of
    ``status`` only if given. Returns them and the ``before`` of the next page (None at the end)."""
    query = (
        sa.select(
            events.c.id,
            events.c.webhook_id,
            events.c.status,
            events.c.attempts,
            events.c.last_status,
            events.c.last_error,
            events.c.created_at,
            events.c.delivered_at,
            events.c.next_attempt_at,
        )
        .where(events.c.subscription_id == subscription_id)
        .order_by(events.c.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(events.c.id < before)
    if status is not None:
        query = query.where(events.c.status == status)
    rows = connection.execute(query).all()
    page, more = rows[:limit], len(rows) > limit
    tries: dict[int, list[dict[str, Any]]] = {row.id: [] for row in page}
    if tries:
        for attempt in connection.execute(
            sa.select(attempts).where(attempts.c.event_id.in_(list(tries))).order_by(attempts.c.id)
        ).all():
            tries[attempt.event_id].append(attempt._asdict())
    items = [{**row._asdict(), "attempt_log": tries[row.id]} for row in page]
    return items, (page[-1].id if more else None)


def head_due_at(subscription_id: Any) -> Any:
    """When the oldest pending event of the subscription whose id is the column ``subscription_id``
    (of the enclosing query) is due: one index probe per subscription (``ix_events_pending``), so
    the plan and its cost do not depend on the planner's statistics or on the backlog's size."""
    return (
        sa.select(events.c.next_attempt_at)
        .where(events.c.subscription_id == subscription_id, events.c.status == PENDING)
        .order_by(events.c.id)
        .limit(1)
        .correlate(subscription_id.table)
        .scalar_subquery()
    )


def pending_batch(connection: sa.Connection, subscription_id: str, limit: int) -> list[Any]:
    """The subscription's oldest pending events, in order (id, webhook_id, payload, attempts, next_attempt_at)."""
    return connection.execute(
        sa.select(events.c.id, events.c.webhook_id, events.c.payload, events.c.attempts, events.c.next_attempt_at)
        .where(events.c.subscription_id == subscription_id, events.c.status == PENDING)
        .order_by(events.c.id)
        .limit(limit)
    ).all()


def record_deliveries(connection: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Mark events delivered, ``rows`` of ``{event_id, n (attempts), code (status), at, ms (duration)}``,
    and keep each attempt."""
    connection.execute(_RECORD_DELIVERED, rows)
    connection.execute(
        attempts.insert(),
        [{"event_id": r["event_id"], "attempted_at": r["at"] - (r.get("ms") or 0) / 1000, "status_code": r["code"], "duration_ms": r.get("ms")} for r in rows],
    )  # fmt: skip


def record_failure(connection: sa.Connection, event_id: int, values: dict[str, Any], attempt: dict[str, Any]) -> bool:
    """Write a failed attempt's outcome (attempts, last status and error, next attempt or final
    status) and the attempt itself (``{attempted_at, status_code, duration_ms, error}``); False
    (nothing written) when the event was no longer pending (its subscription ended meanwhile)."""
    changed = connection.execute(
        events.update().where(events.c.id == event_id, events.c.status == PENDING).values(**values)
    ).rowcount
    if changed:
        connection.execute(attempts.insert().values(event_id=event_id, **attempt))
    return bool(changed)


def retry(connection: sa.Connection, subscription_id: str, webhook_id: str) -> str | None:
    """Queue one failed event again, due now with a fresh retry schedule (or, when it is pending,
    waiting for its next try, make that try now). Returns the status it had (only failed and
    pending ones change), None when the subscription has no such event."""
    row = connection.execute(
        sa.select(events.c.id, events.c.status).where(
            events.c.subscription_id == subscription_id, events.c.webhook_id == webhook_id
        )
    ).one_or_none()
    if row is None:
        return None
    if row.status in (FAILED, PENDING):
        connection.execute(
            events.update()
            .where(events.c.id == row.id, events.c.status == row.status)
            .values(status=PENDING, attempts=0, next_attempt_at=time.time())
        )
    return row.status


def replay(connection: sa.Connection, subscription_id: str, since: float) -> int:
    """Queue again every delivered or failed event of the subscription received since ``since``
    (Unix time), oldest first as ever, each with its original ``webhook-id`` so subscribers that
    deduplicate stay correct; returns how many."""
    return connection.execute(
        events.update()
        .where(
            events.c.subscription_id == subscription_id,
            events.c.created_at >= since,
            events.c.status.in_((DELIVERED, FAILED)),
        )
        .values(status=PENDING, attempts=0, next_attempt_at=time.time(), delivered_at=None)
    ).rowcount


def counts_since(connection: sa.Connection, subscription_ids: Any, since: float) -> dict[str, int]:
    """How many events received since ``since`` by the subscriptions ``subscription_ids`` selects
    are in each status now."""
    rows = connection.execute(
        sa.select(events.c.status, sa.func.count())
        .where(events.c.subscription_id.in_(subscription_ids), events.c.created_at >= since)
        .group_by(events.c.status)
    ).all()
    return {PENDING: 0, DELIVERED: 0, FAILED: 0, CANCELLED: 0, **{status: count for status, count in rows}}


def prune(connection: sa.Connection, statuses: tuple[str, ...], before: float, batch: int, keep_of: Any = None) -> int:
    """Delete up to ``batch`` events of ``statuses`` last touched (delivered, else received) before
    ``before``, except those of the subscriptions ``keep_of`` selects; returns how many. The
    conditions are repeated outside the subquery: on PostgreSQL a row changed meanwhile (a failed
    event queued again) is re-checked against them before it is deleted."""
    conditions = [events.c.status.in_(statuses), sa.func.coalesce(events.c.delivered_at, events.c.created_at) < before]
    if keep_of is not None:
        conditions.append(events.c.subscription_id.not_in(keep_of))
    oldest = sa.select(events.c.id).where(*conditions).limit(batch)
    return connection.execute(events.delete().where(events.c.id.in_(oldest.scalar_subquery()), *conditions)).rowcount
