"""Webhook subscriptions: the only module that writes the ``subscriptions`` table.

What is kept and why: the callback URL, encrypted (Power Automate's and Logic Apps' carry a ``sig``
that lets anyone start the flow), with its scheme, host and path in clear to show the owner; the
trigger's parameters; the signing secret, the caller's credential and the upstream registration,
encrypted (unsubscribing upstream needs them and Power Automate's DELETE carries no key); a digest of the
credential (``owner``) to list a caller's own subscriptions; and a digest of the receiver token,
so the database alone does not reveal the URLs the upstream calls.

Delivery workers lease a subscription to send its events in order; the lease functions below
(:func:`claimable`, :func:`take`, :func:`renew`, :func:`note_failure`, :func:`release`) take the
worker's connection, so that each write is fenced by the lease token in the same statement and
transaction as the outbox write it goes with. Events are written by :mod:`connector.webhooks.outbox`;
:class:`SubscriptionStore` puts both tables' writes in one transaction where a change needs both.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import sqlalchemy as sa

from connector.accesslog import mask_path
from connector.tables import events, subscriptions
from connector.vault import Vault, credential_digest
from connector.webhooks import heartbeats, outbox
from connector.webhooks.states import ACTIVE, DISABLED, ENDED, TooManySubscriptions

log = logging.getLogger(__name__)


def owner_of(credential: str, catalog: str) -> str:
    return credential_digest(credential, "owner", catalog)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def display_url(url: str) -> str:
    """What a listing may show of a callback URL: scheme, host and path, with no query, fragment or
    user name, and path segments that look like secrets (Zapier's, Make's, Slack's hooks carry
    theirs in the path) cut to a prefix."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], mask_path(parts.path), "", ""))


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
        self._insert_event = outbox.insert_ignoring_duplicates(engine.dialect.name)

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
            if self.max_per_owner > 0 and connection.dialect.name == "postgresql":
                # Concurrent subscribes of one owner count one after another (read committed
                # would let each miss the others' new rows).
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(owner, 0))))
            # Inserted first: on SQLite the write lock is then held while counting.
            connection.execute(subscriptions.insert().values(**row))
            if self.max_per_owner > 0:
                held = connection.execute(
                    sa.select(sa.func.count()).where(subscriptions.c.owner == owner, subscriptions.c.status != ENDED)
                ).scalar_one()
                if held > self.max_per_owner:
                    raise TooManySubscriptions(self.max_per_owner)  # rolls the insert back
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
            outbox.cancel_pending(connection, subscription_id, reason)
        return ended == 1

    def disable(self, subscription_id: str, reason: str) -> bool:
        """Stop delivering to an active subscription; its pending events become failed (listed, and
        sent again by :meth:`enable`). False when it was not active."""
        with self.engine.begin() as connection:
            changed = connection.execute(
                subscriptions.update()
                .where(subscriptions.c.id == subscription_id, subscriptions.c.status == ACTIVE)
                .values(status=DISABLED, disabled_reason=reason)  # a chain holding it stops at its next write
            ).rowcount
            if changed:
                outbox.hold_pending(connection, subscription_id, reason)
        return changed == 1

    def enable(self, subscription_id: str, retry_failed: bool = True) -> int | None:
        """Make a disabled (or active) subscription active again, with a clean health record, and
        queue its failed events again when ``retry_failed``. Returns how many were queued; None
        when the subscription has ended."""
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
            return outbox.requeue_failed(connection, subscription_id)

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
                    subscriptions.c.last_delivered_at,
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

    # --- its events (written by connector.webhooks.outbox) ------------------------------------------

    def enqueue(self, subscription_id: str, items: list[tuple[str, dict[str, Any]]]) -> int:
        """Put the subscription's events in the outbox in one transaction; an event key seen before is
        skipped. The subscription's status is read in that transaction, its row locked first (so an
        enable, disable or end that runs meanwhile comes before or after, never between): a disabled
        subscription's events are kept as failed, for :meth:`enable` to send; an ended one takes
        none. Returns how many were new."""
        if not items:
            return 0
        with self.engine.begin() as connection:
            row = subscriptions.c.id == subscription_id
            if connection.dialect.name == "postgresql":
                status = connection.execute(sa.select(subscriptions.c.status).where(row).with_for_update()).scalar()
            else:  # a write first: SQLite's write lock is taken before the status is read
                connection.execute(subscriptions.update().where(row).values(status=subscriptions.c.status))
                status = connection.execute(sa.select(subscriptions.c.status).where(row)).scalar()
            if status is None or status == ENDED:
                return 0
            held = "subscription disabled" if status == DISABLED else None
            return outbox.enqueue(connection, self._insert_event, subscription_id, items, held)

    def deliveries(
        self, subscription_id: str, limit: int = 100, before: int | None = None, status: str | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of the subscription's events, newest first, and the ``before`` of the next page."""
        with self.engine.connect() as connection:
            return outbox.listing(connection, subscription_id, limit, before, status)

    def summary(self, catalog: str, credential: str, since: float) -> dict[str, int]:
        """How many events of the credential's subscriptions received since ``since`` are in each status."""
        owned = sa.select(subscriptions.c.id).where(subscriptions.c.owner == owner_of(credential, catalog))
        with self.engine.connect() as connection:
            return outbox.counts_since(connection, owned, since)

    def _resending(self, connection: sa.Connection, subscription_id: str) -> str | None:
        """The subscription's status, its row locked (PostgreSQL) so a disable or end waits."""
        query = sa.select(subscriptions.c.status).where(subscriptions.c.id == subscription_id)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        return connection.execute(query).scalar()

    def retry(self, subscription_id: str, webhook_id: str) -> tuple[str | None, str | None]:
        """Send one failed event of an active subscription again now (see :func:`outbox.retry`).
        Returns (the subscription's status, the event's previous status or None when unknown);
        nothing changes unless the subscription is active."""
        with self.engine.begin() as connection:
            status = self._resending(connection, subscription_id)
            if status != ACTIVE:
                return status, None
            return status, outbox.retry(connection, subscription_id, webhook_id)

    def replay(self, subscription_id: str, since: float) -> tuple[str | None, int]:
        """Deliver again every event of an active subscription received since ``since`` (see
        :func:`outbox.replay`); returns (the subscription's status, how many were queued)."""
        with self.engine.begin() as connection:
            status = self._resending(connection, subscription_id)
            if status != ACTIVE:
                return status, 0
            return status, outbox.replay(connection, subscription_id, since)

    def received(self, catalog: str, trigger: str, credential: str, limit: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(event key, event)`` of the latest ``limit`` events received for the credential's
        subscriptions to ``trigger`` (ended ones included: their events were real), newest first,
        whatever became of their delivery; a trigger's recent list is made of them."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(events.c.event_key, events.c.payload)
                .join(subscriptions, subscriptions.c.id == events.c.subscription_id)
                .where(
                    subscriptions.c.owner == owner_of(credential, catalog),
                    subscriptions.c.catalog == catalog,
                    subscriptions.c.trigger == trigger,
                )
                .order_by(events.c.id.desc())
                .limit(limit)
            ).all()
        return ((row.event_key, orjson.loads(row.payload)) for row in rows)  # decoded as far as read


# --- leases: how delivery workers share the subscriptions ---------------------------------------------


@dataclass(frozen=True)
class Lease:
    """A claim on one subscription. ``token`` fences it: once another claim took the subscription
    over, every write made with the old token (renewal, delivery record) changes nothing."""

    subscription_id: str
    token: str
    failing: bool = False


def disabled_ids() -> Any:
    """The disabled subscriptions (their failed events are held for their owners, never pruned)."""
    return sa.select(subscriptions.c.id).where(subscriptions.c.status == DISABLED)


def due(now: float) -> Any:
    """Active subscriptions whose oldest pending event is due (one index probe each)."""
    return sa.and_(subscriptions.c.status == ACTIVE, outbox.head_due_at(subscriptions.c.id) <= now)


def free(now: float, dead_after: float) -> Any:
    """Not leased: never, given back, run out, or held by a worker that fell silent."""
    return sa.or_(
        subscriptions.c.lease_until < now, subscriptions.c.lease_worker.not_in(heartbeats.live(now, dead_after))
    )


def claimable(now: float, limit: int, dead_after: float, failing: bool | None, for_update: bool) -> Any:
    """Due, free subscriptions, least recently served first; ``failing``: only those whose last
    attempt failed (True), only the others (False). ``for_update``: lock them, skipping those
    another worker is claiming (PostgreSQL)."""
    query = sa.select(subscriptions.c.id).where(due(now), free(now, dead_after))
    if failing is not None:
        lane = subscriptions.c.failing_since
        query = query.where(lane.is_not(None) if failing else lane.is_(None))
    query = query.order_by(subscriptions.c.lease_until).limit(limit)
    return query.with_for_update(of=subscriptions, skip_locked=True) if for_update else query


def take(
    connection: sa.Connection, ids: list[str], token: str, worker: str, now: float, until: float, dead_after: float
) -> list[Lease]:
    """Lease those of ``ids`` still free to ``worker`` under ``token`` until ``until``."""
    claimed = connection.execute(
        subscriptions.update()
        .where(subscriptions.c.id.in_(ids), free(now, dead_after))
        .values(lease_owner=token, lease_worker=worker, lease_until=until)
        .returning(subscriptions.c.id, subscriptions.c.failing_since)
    ).all()
    return [Lease(row.id, token, row.failing_since is not None) for row in claimed]


def count_due(connection: sa.Connection, now: float) -> int:
    return connection.execute(sa.select(sa.func.count()).where(due(now))).scalar() or 0


def renew(connection: sa.Connection, lease: Lease, until: float, delivered_at: float | None = None) -> str | None:
    """Extend the lease to ``until`` (and, after deliveries, the last at ``delivered_at``, end the run
    of failures and note that time); returns the subscription's status, or None when the lease was
    taken over (nothing changed)."""
    values: dict[str, Any] = {"lease_until": until}
    if delivered_at is not None:
        values.update(failing_since=None, last_delivered_at=delivered_at)
    return connection.execute(
        subscriptions.update()
        .where(subscriptions.c.id == lease.subscription_id, subscriptions.c.lease_owner == lease.token)
        .values(**values)
        .returning(subscriptions.c.status)
    ).scalar()


def note_failure(connection: sa.Connection, lease: Lease, now: float, until: float) -> float | None:
    """Extend the lease and start the run of failures (unless one is running); returns when it
    started, or None when the lease was taken over (nothing changed)."""
    return connection.execute(
        subscriptions.update()
        .where(subscriptions.c.id == lease.subscription_id, subscriptions.c.lease_owner == lease.token)
        .values(lease_until=until, failing_since=sa.func.coalesce(subscriptions.c.failing_since, now))
        .returning(subscriptions.c.failing_since)
    ).scalar()


def release(connection: sa.Connection, lease: Lease, now: float) -> None:
    """Give the lease back (unless taken over); ``now`` orders the subscription's next turn."""
    connection.execute(
        subscriptions.update()
        .where(subscriptions.c.id == lease.subscription_id, subscriptions.c.lease_owner == lease.token)
        .values(lease_owner=None, lease_worker=None, lease_until=now)
    )
