"""Webhook subscriptions and the outbox of events to deliver.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("catalog", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("callback_url", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("credential", sa.Text, nullable=False),
        sa.Column("upstream_ref", sa.Text, nullable=True),
        sa.Column("receiver_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ended_reason", sa.Text, nullable=True),
        sa.Column("upstream_removed", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=False),
        sa.UniqueConstraint("receiver_hash", name="uq_subscriptions_receiver_hash"),
    )
    op.create_index("ix_subscriptions_owner", "subscriptions", ["owner"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(64), sa.ForeignKey("subscriptions.id"), nullable=False),
        sa.Column("event_key", sa.String(64), nullable=False),
        sa.Column("webhook_id", sa.String(40), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("delivered_at", sa.Float, nullable=True),
        sa.UniqueConstraint("subscription_id", "event_key", name="uq_events_subscription_event_key"),
    )
    op.create_index("ix_events_pending", "events", ["status", "subscription_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_pending", "events")
    op.drop_table("events")
    op.drop_index("ix_subscriptions_owner", "subscriptions")
    op.drop_table("subscriptions")
