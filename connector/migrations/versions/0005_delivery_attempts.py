"""One row per delivery attempt (when, the subscriber's status, how long, why it failed), for the
delivery console, removed with their event; and each subscription's last delivery, written with its
lease renewal (no scan of its events to show it).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Integer, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("attempted_at", sa.Float, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_attempts_event", "attempts", ["event_id", "id"])
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("last_delivered_at", sa.Float, nullable=True))
    op.execute(
        "UPDATE subscriptions SET last_delivered_at = "
        "(SELECT max(delivered_at) FROM events WHERE events.subscription_id = subscriptions.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("last_delivered_at")
    op.drop_index("ix_attempts_event", "attempts")
    op.drop_table("attempts")
