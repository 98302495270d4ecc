"""What one application is made of, built once by ``create_app`` and kept in
``app.extensions["connector"]``: read it with :func:`runtime_of`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing this module costs nothing at start-up
    import sqlalchemy as sa
    from flask import Flask

    from connector.config import Settings
    from connector.declarations import Catalog
    from connector.idempotency import IdempotencyStore
    from connector.ratelimit import Storage
    from connector.sandbox import RunningSandbox
    from connector.spec.documents import Documents
    from connector.upstream import UpstreamService
    from connector.webhooks.delivery import Worker
    from connector.webhooks.subscriptions import SubscriptionStore, Unsubscribe

EXTENSION = "connector"


@dataclass
class Runtime:
    """The application's settings, database, stores, catalogs and their documents and upstream
    services, the running sandboxes, and this process's delivery worker."""

    settings: Settings
    engine: sa.Engine
    limits: Storage
    idempotency: IdempotencyStore
    subscriptions: SubscriptionStore
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


def runtime_of(app: Flask) -> Runtime:
    return app.extensions[EXTENSION]
