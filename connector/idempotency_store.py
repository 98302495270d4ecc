"""The ``idempotency_keys`` table: claims, results and replays of Idempotency-Keys (the protocol
is :mod:`connector.idempotency`). The only module that writes that table."""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from connector.errors import Problem
from connector.idempotency import HEADER, Claim, StoredResponse
from connector.tables import idempotency_keys as table

PURGE_EVERY = 60.0  # seconds between deletions of expired keys, per process


class IdempotencyStore:
    """Claims, results and replays of idempotency keys in the service's database."""

    def __init__(self, engine: sa.Engine, ttl: float, lease: float = 300.0) -> None:
        self.engine, self.ttl, self.lease = engine, ttl, lease
        self._next_purge = 0.0

    def begin(self, scope: str, key: str, print_: str) -> Claim | StoredResponse:
        """Claim the key for this request, or return the stored answer to replay.
        Raises 409 while another request holds the key and 422 when the input differs."""
        now = time.time()
        self._purge(now)
        row = {
            "scope": scope,
            "key": key,
            "fingerprint": print_,
            "state": "running",
            "locked_until": now + self.lease,
            "expires_at": now + self.ttl,
        }
        with self.engine.begin() as connection:
            try:
                with connection.begin_nested():
                    connection.execute(table.insert().values(**row))
                return Claim(scope, key)
            except IntegrityError:
                pass
            # Someone had the key: take it over if it expired or its holder died, else answer from it.
            takeover = connection.execute(
                table.update()
                .where(table.c.scope == scope, table.c.key == key)
                .where(
                    sa.or_(
                        table.c.expires_at < now,
                        sa.and_(table.c.state == "running", table.c.locked_until < now),
                    )
                )
                .values(**row, status=None, content_type=None, body=None)
            )
            if takeover.rowcount == 1:
                return Claim(scope, key)
            existing = connection.execute(
                sa.select(table.c.fingerprint, table.c.state, table.c.status, table.c.content_type, table.c.body).where(
                    table.c.scope == scope, table.c.key == key
                )
            ).one_or_none()
        if existing is None:  # released between our insert and our read: the caller may retry at once
            raise Problem(
                409, f"A request with this {HEADER} was just released; retry it.", headers={"Retry-After": "1"}
            )
        if existing.fingerprint != print_:
            raise Problem(
                422,
                f"This {HEADER} was already used with a different request body; use a new key for a new request.",
                kind="idempotency-key-reused",
            )
        if existing.state == "running":
            raise Problem(
                409,
                f"A request with this {HEADER} is still being processed; retry after it finishes.",
                kind="idempotency-key-in-use",
                headers={"Retry-After": "1"},
            )
        return StoredResponse(existing.status, existing.content_type, existing.body)

    def finish(self, claim: Claim, status: int, content_type: str, body: bytes) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                table.update()
                .where(table.c.scope == claim.scope, table.c.key == claim.key)
                .values(state="done", status=status, content_type=content_type, body=body)
            )

    def release(self, claim: Claim) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                table.delete().where(table.c.scope == claim.scope, table.c.key == claim.key, table.c.state == "running")
            )

    def _purge(self, now: float) -> None:
        if now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY
        with self.engine.begin() as connection:
            connection.execute(table.delete().where(table.c.expires_at < now))
