"""Live delivery workers (heartbeats) and the index retention prunes by.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
    )
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("lease_worker", sa.String(64), nullable=True))
    op.create_index("ix_events_age", "events", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_events_age", "events")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("lease_worker")
    op.drop_table("workers")
