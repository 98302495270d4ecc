"""What one application is made of, built once by ``create_app`` and kept in
``app.extensions["connector"]``: read it with :func:`runtime_of`.

The database and the stores on it are opened on first use (:attr:`Runtime.engine`), not by
``create_app``: an action called without an Idempotency-Key needs neither, so a process that only
serves those never imports SQLAlchemy, and every process starts faster. ``connector serve`` and
``connector worker`` open it before serving, so a wrong ``DATABASE_URL`` still stops them at start-up."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from connector.errors import Problem

if TYPE_CHECKING:  # annotations only: importing this module costs nothing at start-up
    import sqlalchemy as sa
    from flask import Flask

    from connector.config import Settings
    from connector.declarations import Catalog
    from connector.idempotency_store import IdempotencyStore
    from connector.ratelimit import Storage
    from connector.sandbox import RunningSandbox
    from connector.spec.documents import Documents
    from connector.upstream import UpstreamService
    from connector.webhooks.delivery import Worker
    from connector.webhooks.subscriptions import SubscriptionStore, Unsubscribe

EXTENSION = "connector"
log = logging.getLogger(__name__)


class Stores(NamedTuple):
    """The database and what is kept in it."""

    engine: sa.Engine
    idempotency: IdempotencyStore
    subscriptions: SubscriptionStore


@dataclass
class Runtime:
    """The application's settings, database, stores, catalogs and their documents and upstream
    services, the running sandboxes, and this process's delivery worker."""

    settings: Settings
    open_stores: Callable[[], Stores]  # opens (and migrates) the database: called once, on first use
    limits: Storage
    unsubscribe: Unsubscribe  # unregisters a subscription upstream (DELETE and the worker's retries)
    catalogs: dict[str, Catalog]
    services: dict[str, dict[str, UpstreamService]]  # catalog name -> service name -> service
    documents: dict[str, Documents]  # catalog name -> its specs
    sandboxes: dict[str, RunningSandbox] = field(default_factory=dict)  # catalog name -> emulator
    # Per process (see connector.app.start_embedded_worker): the process that owns the database
    # connections, and the embedded delivery worker with the process and thread it runs in.
    process: int | None = None
    worker: Worker | None = None
    worker_thread: tuple[int, threading.Thread] | None = None
    _stores: Stores | None = field(default=None, repr=False)
    stores_process: int | None = None  # the process that opened them
    _stores_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def stores(self) -> Stores:
        stores = self._stores
        if stores is None:
            with self._stores_lock:
                if self._stores is None:
                    try:
                        self._stores, self.stores_process = self.open_stores(), os.getpid()
                    except Exception as exc:  # a request that needs it gets a 503 and may retry
                        log.exception("could not open the database")
                        raise Problem(503, "The service's database is unavailable; retry later.") from exc
                stores = self._stores
        return stores

    @property
    def inherited_stores(self) -> Stores | None:
        """The stores, if a parent process opened them before forking this one."""
        return self._stores if self.stores_process not in (None, os.getpid()) else None

    @property
    def engine(self) -> sa.Engine:
        return self.stores.engine

    @property
    def idempotency(self) -> IdempotencyStore:
        return self.stores.idempotency

    @property
    def subscriptions(self) -> SubscriptionStore:
        return self.stores.subscriptions

    def close(self) -> None:
        """Closes the database connections of this process, if it opened any."""
        if self._stores is not None:
            self._stores.engine.dispose()


def runtime_of(app: Flask) -> Runtime:
    return app.extensions[EXTENSION]
