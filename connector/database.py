"""The service's database: one SQLAlchemy engine, its schema kept by Alembic migrations.

The embedded default is a SQLite file in ``DATA_DIR`` so ``serve`` works with nothing installed;
``DATABASE_URL`` points it at PostgreSQL for several processes. Migrations run at start-up (once,
in gunicorn's master with ``preload``), or by the first process to open the database, and by
``connector migrate``. Two processes never migrate at once: on PostgreSQL an advisory lock, on a
SQLite file an exclusive lock on a file beside it (plain gunicorn starts its workers together).
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connector.config import Settings

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest revision in migrations/versions (a test keeps them equal). A database already there
# starts without loading Alembic at all: it costs a tenth of a second of every cold start.
HEAD = "0005"
_MIGRATION_LOCK = 0x636F6E6E  # arbitrary advisory-lock id ("conn")
# Alembic keeps the running migration in module globals: two threads of one process migrating at
# once (two apps' databases, each opened on first use) would tear each other's state down.
_ALEMBIC = threading.Lock()


def database_url(settings: Settings) -> str:
    """``DATABASE_URL``, or a SQLite file in ``DATA_DIR`` (created when missing)."""
    if settings.database_url:
        return settings.database_url
    directory = Path(settings.data_dir).expanduser()
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(directory / 'connector.db').resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer; busy_timeout makes writers wait instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# Connections per process: each delivery chain holds one (DELIVERY_CONCURRENCY, 16 by default)
# while request threads (8 per gunicorn worker) need theirs, so the pool must exceed their sum.
POOL_SIZE, POOL_OVERFLOW = 20, 20


def create_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def alembic_config(engine: sa.Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: sa.Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DBAPIError:  # no alembic_version table yet: a new database
        return None


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision."""
    if current_revision(engine) == HEAD:
        return
    with _ALEMBIC:
        _upgrade(engine)


def _upgrade(engine: sa.Engine) -> None:
    from alembic import command

    config = alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK})
            try:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK})
                connection.commit()
    else:
        with _file_lock(engine):
            if current_revision(engine) != HEAD:  # another process may have done it meanwhile
                command.upgrade(config, "head")


@contextmanager
def _file_lock(engine: sa.Engine) -> Iterator[None]:
    """Holds an exclusive lock on ``<database>.migrate.lock`` (nothing for an in-memory database)."""
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_database(settings: Settings) -> sa.Engine:
    """The engine of ``settings``, migrated to the newest schema."""
    engine = create_engine(database_url(settings))
    migrate(engine)
    # No connection may outlive this in gunicorn's master: forked workers must open their own.
    engine.dispose()
    return engine
