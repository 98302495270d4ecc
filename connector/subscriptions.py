"""Webhook subscriptions and their outbox, in the service's database.

What is kept and why: the callback URL and the trigger's parameters (to deliver and to show the
owner); the signing secret, the caller's credential and the upstream registration, encrypted
(unsubscribing upstream needs them and Power Automate's DELETE carries no key); a digest of the
credential (``owner``) to list a caller's own subscriptions; and a digest of the receiver token,
so the database alone does not reveal the URLs the upstream calls.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from connector.tables import events, subscriptions
from connector.vault import Vault, credential_digest

log = logging.getLogger(__name__)

ACTIVE, ENDED = "active", "ended"
PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"


def owner_of(credential: str, catalog: str) -> str:
    return credential_digest(credential, "owner", catalog)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_webhook_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Subscription:
    id: str
    catalog: str
    trigger: str
    callback_url: str
    params: dict[str, Any]
    status: str
    upstream_removed: bool

    @classmethod
    def of(cls, row: Any) -> Subscription:
        return cls(
            row.id,
            row.catalog,
            row.trigger,
            row.callback_url,
            orjson.loads(row.params),
            row.status,
            row.upstream_removed,
        )


# Calls the trigger's ``unsubscribe`` upstream with the stored credential and reference.
Unsubscribe = Callable[[Subscription, str, "dict[str, Any] | None"], None]


@dataclass(frozen=True)
class Created:
    subscription: Subscription
    secret: str
    receiver_token: str


class SubscriptionStore:
    def __init__(self, engine: sa.Engine, vault: Vault) -> None:
        self.engine, self.vault = engine, vault
        dialect = engine.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    # --- subscriptions ---------------------------------------------------------------------------

    def create(self, catalog: str, trigger: str, credential: str, callback_url: str, params: dict[str, Any]) -> Created:
        """A new subscription, not yet registered upstream (``set_upstream`` records that)."""
        subscription_id, token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32), new_secret()
        row = {
            "id": subscription_id,
            "catalog": catalog,
            "trigger": trigger,
            "owner": owner_of(credential, catalog),
            "callback_url": callback_url,
            "params": orjson.dumps(params, default=str).decode(),
            "secret": self.vault.encrypt(secret),
            "credential": self.vault.encrypt(credential),
            "upstream_ref": None,
            "receiver_hash": token_hash(token),
            "status": ACTIVE,
            "upstream_removed": False,
            "created_at": time.time(),
            "lease_until": 0.0,
        }
        with self.engine.begin() as connection:
            connection.execute(subscriptions.insert().values(**row))
        subscription = Subscription(subscription_id, catalog, trigger, callback_url, params, ACTIVE, False)
        return Created(subscription, secret, token)

    def set_upstream(self, subscription_id: str, reference: dict[str, Any]) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                subscriptions.update()
                .where(subscriptions.c.id == subscription_id)
                .values(upstream_ref=self.vault.encrypt(orjson.dumps(reference).decode()))
            )

    def delete(self, subscription_id: str) -> None:
        """Forget a subscription whose upstream registration failed (it never received anything)."""
        with self.engine.begin() as connection:
            connection.execute(subscriptions.delete().where(subscriptions.c.id == subscription_id))

    def get(self, subscription_id: str) -> Subscription | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(subscriptions).where(subscriptions.c.id == subscription_id)
            ).one_or_none()
        return Subscription.of(row) if row else None

    def by_receiver(self, token: str) -> Subscription | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(subscriptions).where(subscriptions.c.receiver_hash == token_hash(token))
            ).one_or_none()
        return Subscription.of(row) if row else None

    def secrets_of(self, subscription_id: str) -> tuple[str, str, dict[str, Any] | None]:
        """(signing secret, credential, upstream reference), decrypted."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(subscriptions.c.secret, subscriptions.c.credential, subscriptions.c.upstream_ref).where(
                    subscriptions.c.id == subscription_id
                )
            ).one()
        reference = orjson.loads(self.vault.decrypt(row.upstream_ref)) if row.upstream_ref else None
        return self.vault.decrypt(row.secret), self.vault.decrypt(row.credential), reference

    def end(self, subscription_id: str, reason: str) -> bool:
        """Stop deliveries: the subscription ends and its pending events are cancelled.
        False when it had already ended."""
        with self.engine.begin() as connection:
            ended = connection.execute(
                subscriptions.update()
                .where(subscriptions.c.id == subscription_id, subscriptions.c.status == ACTIVE)
                .values(status=ENDED, ended_reason=reason)
            ).rowcount
            connection.execute(
                events.update()
                .where(events.c.subscription_id == subscription_id, events.c.status == PENDING)
                .values(status=CANCELLED, last_error=reason)
            )
        return ended == 1

    def delivery_target(self, connection: sa.Connection, subscription_id: str) -> tuple[str, str] | None:
        """(callback URL, signing secret) of an active subscription, read on the caller's connection."""
        row = connection.execute(
            sa.select(subscriptions.c.callback_url, subscriptions.c.secret).where(
                subscriptions.c.id == subscription_id, subscriptions.c.status == ACTIVE
            )
        ).one_or_none()
        return (row.callback_url, self.vault.decrypt(row.secret)) if row else None

    def remove_upstream(self, subscription: Subscription, unsubscribe: Unsubscribe) -> bool:
        """Unregister upstream with the stored credential. False (logged) when the upstream call
        failed: the subscription stays in ``pending_upstream_removals`` for the worker to retry."""
        try:
            _, credential, reference = self.secrets_of(subscription.id)
            unsubscribe(subscription, credential, reference)
        except Exception as exc:
            log.warning(
                "upstream unsubscription of %s… failed (%s); will retry", subscription.id[:4], type(exc).__name__
            )
            return False
        self.mark_upstream_removed(subscription.id)
        return True

    def mark_upstream_removed(self, subscription_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                subscriptions.update()
                .where(subscriptions.c.id == subscription_id)
                .values(upstream_removed=True, credential=self.vault.encrypt(""))
            )

    def pending_upstream_removals(self, limit: int = 20) -> list[Subscription]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(subscriptions)
                .where(subscriptions.c.status == ENDED, subscriptions.c.upstream_removed.is_(False))
                .limit(limit)
            ).all()
        return [Subscription.of(row) for row in rows]

    def list_owned(self, catalog: str, credential: str, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(
                    subscriptions.c.id,
                    subscriptions.c.trigger,
                    subscriptions.c.callback_url,
                    subscriptions.c.params,
                    subscriptions.c.status,
                    subscriptions.c.ended_reason,
                    subscriptions.c.created_at,
                )
                .where(subscriptions.c.owner == owner_of(credential, catalog))
                .order_by(subscriptions.c.created_at.desc())
                .limit(limit)
            ).all()
        return [{**row._asdict(), "params": orjson.loads(row.params)} for row in rows]

    def is_owned(self, subscription_id: str, catalog: str, credential: str) -> bool:
        with self.engine.connect() as connection:
            return (
                connection.execute(
                    sa.select(subscriptions.c.id).where(
                        subscriptions.c.id == subscription_id,
                        subscriptions.c.owner == owner_of(credential, catalog),
                    )
                ).first()
                is not None
            )

    # --- the outbox ------------------------------------------------------------------------------

    def enqueue(self, subscription_id: str, items: list[tuple[str, dict[str, Any]]]) -> int:
        """Write events to the outbox in one transaction; an event key seen before is skipped.
        Returns how many were new."""
        if not items:
            return 0
        now = time.time()
        rows = [
            {
                "subscription_id": subscription_id,
                "event_key": key,
                "webhook_id": new_webhook_id(),
                "payload": orjson.dumps(event),
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for key, event in items
        ]
        statement = self._insert(events).on_conflict_do_nothing(index_elements=["subscription_id", "event_key"])
        with self.engine.begin() as connection:
            inserted = 0
            for row in rows:  # one by one: a duplicate inside one batch must not drop its neighbours
                inserted += connection.execute(statement.values(**row)).rowcount
        return inserted

    def deliveries(self, subscription_id: str, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(
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
                .limit(limit)
            ).all()
        return [row._asdict() for row in rows]
