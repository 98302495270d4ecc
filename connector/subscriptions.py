"""Webhook subscriptions and their outbox, in the service's database.

What is kept and why: the callback URL, encrypted (Power Automate's and Logic Apps' carry a ``sig``
that lets anyone start the flow), with its scheme, host and path in clear to show the owner; the
trigger's parameters; the signing secret, the caller's credential and the upstream registration,
encrypted (unsubscribing upstream needs them and Power Automate's DELETE carries no key); a digest of the
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
from urllib.parse import urlsplit, urlunsplit

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from connector.tables import events, subscriptions
from connector.vault import Vault, credential_digest

log = logging.getLogger(__name__)

ACTIVE, DISABLED, ENDED = "active", "disabled", "ended"
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


def display_url(url: str) -> str:
    """Scheme, host and path of a callback URL: what a listing may show (no query, no fragment)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


class TooManySubscriptions(Exception):
    """The credential already has as many subscriptions as allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


@dataclass(frozen=True)
class Subscription:
    id: str
    catalog: str
    trigger: str
    callback: str  # scheme, host and path: the whole URL is read only to deliver
    params: dict[str, Any]
    status: str
    upstream_removed: bool

    @classmethod
    def of(cls, row: Any) -> Subscription:
        return cls(
            row.id,
            row.catalog,
            row.trigger,
            row.callback_display or "",
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
    def __init__(self, engine: sa.Engine, vault: Vault, max_per_owner: int = 0) -> None:
        self.engine, self.vault, self.max_per_owner = engine, vault, max_per_owner
        dialect = engine.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    def seal_callbacks(self) -> int:
        """Encrypt callback URLs stored in clear by earlier versions (rows with no display form)."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                sa.select(subscriptions.c.id, subscriptions.c.callback_url).where(
                    subscriptions.c.callback_display.is_(None)
                )
            ).all()
            for row in rows:
                connection.execute(
                    subscriptions.update()
                    .where(subscriptions.c.id == row.id)
                    .values(callback_url=self.vault.encrypt(row.callback_url), callback_display=display_url(row.callback_url))
                )  # fmt: skip
        return len(rows)

    # --- subscriptions ---------------------------------------------------------------------------

    def create(self, catalog: str, trigger: str, credential: str, callback_url: str, params: dict[str, Any]) -> Created:
        """A new subscription, not yet registered upstream (``set_upstream`` records that).
        Raises :class:`TooManySubscriptions` when the credential has ``max_per_owner`` already."""
        subscription_id, token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32), new_secret()
        owner = owner_of(credential, catalog)
        row = {
            "id": subscription_id,
            "catalog": catalog,
            "trigger": trigger,
            "owner": owner,
            "callback_url": self.vault.encrypt(callback_url),
            "callback_display": display_url(callback_url),
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
            if self.max_per_owner > 0:
                held = connection.execute(
                    sa.select(sa.func.count()).where(subscriptions.c.owner == owner, subscriptions.c.status != ENDED)
                ).scalar_one()
                if held >= self.max_per_owner:
                    raise TooManySubscriptions(self.max_per_owner)
            connection.execute(subscriptions.insert().values(**row))
        subscription = Subscription(subscription_id, catalog, trigger, row["callback_display"], params, ACTIVE, False)
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
                .where(subscriptions.c.id == subscription_id, subscriptions.c.status != ENDED)
                .values(status=ENDED, ended_reason=reason)
            ).rowcount
            connection.execute(
                events.update()
                .where(events.c.subscription_id == subscription_id, events.c.status == PENDING)
                .values(status=CANCELLED, last_error=reason)
            )
        return ended == 1

    def disable(self, subscription_id: str, reason: str) -> bool:
        """Stop delivering to an active subscription; its pending events become failed (listed, and
        sent again by :meth:`enable`). False when it was not active."""
        with self.engine.begin() as connection:
            changed = connection.execute(
                subscriptions.update()
                .where(subscriptions.c.id == subscription_id, subscriptions.c.status == ACTIVE)
                .values(status=DISABLED, disabled_reason=reason, lease_owner=None, lease_until=0.0)
            ).rowcount
            if changed:
                connection.execute(
                    events.update()
                    .where(events.c.subscription_id == subscription_id, events.c.status == PENDING)
                    .values(status=FAILED, last_error=f"not sent: subscription disabled ({reason})")
                )
        return changed == 1

    def enable(self, subscription_id: str, retry_failed: bool = True) -> int | None:
        """Make a disabled (or active) subscription active again, with a clean health record, and
        queue its failed events again when ``retry_failed``. Returns how many were queued; None
        when the subscription has ended."""
        now = time.time()
        with self.engine.begin() as connection:
            changed = connection.execute(
                subscriptions.update()
                .where(subscriptions.c.id == subscription_id, subscriptions.c.status != ENDED)
                .values(status=ACTIVE, disabled_reason=None, failing_since=None)
            ).rowcount
            if not changed:
                return None
            if not retry_failed:
                return 0
            return connection.execute(
                events.update()
                .where(events.c.subscription_id == subscription_id, events.c.status == FAILED)
                .values(status=PENDING, attempts=0, next_attempt_at=now)
            ).rowcount

    def delivery_target(self, connection: sa.Connection, subscription_id: str) -> tuple[str, str] | None:
        """(callback URL, signing secret) of an active subscription, read on the caller's connection."""
        row = connection.execute(
            sa.select(subscriptions.c.callback_url, subscriptions.c.secret).where(
                subscriptions.c.id == subscription_id, subscriptions.c.status == ACTIVE
            )
        ).one_or_none()
        return (self.vault.decrypt(row.callback_url), self.vault.decrypt(row.secret)) if row else None

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
                    subscriptions.c.callback_display.label("callback_url"),
                    subscriptions.c.params,
                    subscriptions.c.status,
                    subscriptions.c.ended_reason,
                    subscriptions.c.disabled_reason,
                    subscriptions.c.failing_since,
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

    def enqueue(self, subscription_id: str, items: list[tuple[str, dict[str, Any]]], held: str | None = None) -> int:
        """Write events to the outbox in one transaction; an event key seen before is skipped.
        ``held``: the reason they are not to be sent now (a disabled subscription): they are kept as
        failed, for :meth:`enable` to send. Returns how many were new."""
        if not items:
            return 0
        now = time.time()
        rows = [
            {
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
