"""Subscription health (disabled after failing for long), and callback URLs kept encrypted.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Callback URLs already stored in clear are encrypted by the service at start-up
(``SubscriptionStore.seal_callbacks``): the key that encrypts them is the service's, not Alembic's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("callback_display", sa.Text, nullable=True))
        batch.add_column(sa.Column("failing_since", sa.Float, nullable=True))
        batch.add_column(sa.Column("disabled_reason", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("disabled_reason")
        batch.drop_column("failing_since")
        batch.drop_column("callback_display")
