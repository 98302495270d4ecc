"""``Idempotency-Key`` on POST actions: a retried request is answered from the first one's result.

Semantics (after the IETF httpapi Idempotency-Key draft and Stripe's API):

- The first request with a key claims it (state "running") and performs the action; its answer,
  success or a 4xx that says the request itself was wrong, is stored with a fingerprint of the
  validated input. The same key with the same input replays that answer (``Idempotent-Replayed:
  true``) without calling upstream again.
- The same key with another input is 422; a retry while the first request is still running is 409.
- Requests our own validation refuses never claim a key (nothing was done), and a 5xx or an
  unexpected error releases the claim, so the caller can retry once the upstream is back.
- Keys are scoped per credential, catalog and operation (a digest, never the credential) and kept
  ``IDEMPOTENCY_TTL`` seconds. A claim whose process died is taken over after ``lease`` seconds.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from connector.errors import Problem
from connector.tables import idempotency_keys as table
from connector.vault import credential_digest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Printable ASCII without leading or trailing spaces (HTTP strips those, so they could not match).
KEY_PATTERN = re.compile(r"^[!-~](?:[ -~]{0,253}[!-~])?$")
PURGE_EVERY = 60.0  # seconds between deletions of expired keys, per process


def fingerprint(data: Any) -> str:
    """Digest of the validated input, so a JSON body and a form with the same values match."""
    canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.sha256(canonical).hexdigest()


def scope_of(credential: str, catalog: str, operation: str) -> str:
    return credential_digest(credential, "idempotency", catalog, operation)


def check_key(key: str) -> str:
    """A key is 1-255 printable ASCII characters (a UUID is typical)."""
    if not KEY_PATTERN.fullmatch(key):
        raise Problem(
            422,
            f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters (a UUID, for example).",
            errors={HEADER: [f"Use 1 to {MAX_KEY_LENGTH} printable ASCII characters."]},
        )
    return key


@dataclass(frozen=True)
class StoredResponse:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Claim:
    scope: str
    key: str


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
