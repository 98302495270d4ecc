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
