"""The service's tables, as SQLAlchemy Core objects used by the code; migrations create them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# One row per (scope, key). ``scope`` is a digest of the credential, catalog and operation, never
# the credential itself. ``state`` is "running" while the first request is in flight, then "done".
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("content_type", sa.String(100), nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=True),
    sa.Column("locked_until", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)

# A webhook subscription: where to deliver, how to sign, and (encrypted) what unsubscribing upstream
# needs, because Power Automate's DELETE carries no API key. ``status`` is active, disabled (failing
# for too long; its owner re-enables it) or ended. ``lease_owner`` holds the token of the current claim. ``id`` is the unguessable capability in
# the subscription's URL; ``receiver_hash`` the SHA-256 of the token in the upstream callback URL.
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("catalog", sa.String(64), nullable=False),
    sa.Column("trigger", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(64), nullable=False, index=True),
    sa.Column("callback_url", sa.Text, nullable=False),  # encrypted: its query string can be a capability
    sa.Column("callback_display", sa.Text, nullable=True),  # scheme, host and path only, for listings
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("credential", sa.Text, nullable=False),
    sa.Column("upstream_ref", sa.Text, nullable=True),
    sa.Column("receiver_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("ended_reason", sa.Text, nullable=True),
    sa.Column("upstream_removed", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_worker", sa.String(64), nullable=True),  # the worker holding it (see ``workers``)
    sa.Column("lease_until", sa.Float, nullable=False, default=0.0),
    sa.Column("failing_since", sa.Float, nullable=True),  # first failed attempt since the last success
    sa.Column("disabled_reason", sa.Text, nullable=True),
    sa.Column("last_delivered_at", sa.Float, nullable=True),  # written with the lease renewal after a delivery
)

# The outbox: one row per event to deliver, written before the receiver answers. ``id`` orders a
# subscription's events; ``event_key`` makes the same upstream event received twice one row.
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subscription_id", sa.String(64), sa.ForeignKey("subscriptions.id"), nullable=False),
    sa.Column("event_key", sa.String(64), nullable=False),
    sa.Column("webhook_id", sa.String(40), nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("delivered_at", sa.Float, nullable=True),
    sa.UniqueConstraint("subscription_id", "event_key", name="uq_events_subscription_event_key"),
    sa.Index("ix_events_pending", "status", "subscription_id", "id"),
    sa.Index("ix_events_age", "status", "created_at"),  # retention: the oldest of a status first
)

# One row per delivery attempt of an event (written by the outbox with the event's new state), so
# its owner sees each try: when, the subscriber's HTTP status (None: no answer), how long, why it failed.
attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Integer, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("attempted_at", sa.Float, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("duration_ms", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("ix_attempts_event", "event_id", "id"),
)

# Delivery workers alive: each writes ``last_seen`` every few seconds. A subscription leased by a
# worker that fell silent can be claimed at once, without waiting for its lease to run out.
workers = sa.Table(
    "workers",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False),
)
