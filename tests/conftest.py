"""Fixtures in the Flask tutorial's shape: app → client, with the sandbox or `responses` upstream."""

from __future__ import annotations

import itertools
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from postgres import postgres_server
from werkzeug.serving import make_server

from connector import sandbox as sandboxes
from connector.app import create_app
from connector.registry import discover
from connector.wiring import runtime_of

API = "https://api.egoi.test"
TX = "https://tx.egoi.test/api/v2"

TEST_SETTINGS = {
    "PUBLIC_URL": "http://localhost:8000",
    "UPSTREAM_BACKOFF": 0.0,
    "UPSTREAM_RETRY_AFTER_CAP": 0.0,
    "RATE_LIMIT": "10000 per 60 seconds",
    # No background delivery worker in the apps tests build: they deliver with `worker.drain()`
    # (the embedded worker would start on an app's first request, under any server).
    "WORKER": "off",
}


def pytest_configure(config):
    """The embedded defaults write their SQLite file to a scratch directory, not the checkout."""
    os.environ.setdefault("CONNECTOR_DATA_DIR", tempfile.mkdtemp(prefix="connector-test-data-"))


@pytest.fixture(scope="session")
def postgres_admin_url():
    """A private PostgreSQL server for the session (see tests/postgres.py)."""
    with postgres_server() as url:
        yield url


_database_names = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_admin_url):
    """A fresh, empty PostgreSQL database for one test."""
    name = f"connector_test_{os.getpid()}_{next(_database_names)}"
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield postgres_admin_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Each test using it runs twice: on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'connector.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def egoi_catalog():
    return discover("egoi")[0]


@pytest.fixture
def egoi_sandbox(egoi_catalog):
    """A fresh E-goi emulator on loopback for each test (fresh seeded state)."""
    running = sandboxes.start(egoi_catalog)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def ongage_catalog():
    return discover("ongage")[0]


@pytest.fixture
def ongage_sandbox(ongage_catalog):
    """A fresh Ongage emulator on loopback for each test."""
    running = sandboxes.start(ongage_catalog)
    yield running
    running.stop()


@pytest.fixture
def ongage_client(ongage_catalog, ongage_sandbox):
    """The service (Ongage only) calling the emulator over real HTTP, through Flask's test client."""
    urls = sandboxes.service_urls(ongage_catalog, ongage_sandbox)
    return create_app({**TEST_SETTINGS, "CATALOGS": "ongage", **urls}).test_client()


@pytest.fixture
def app(egoi_catalog, egoi_sandbox):
    """The service with E-goi pointed at the sandbox, over real HTTP."""
    urls = sandboxes.service_urls(egoi_catalog, egoi_sandbox)
    return create_app({**TEST_SETTINGS, **urls})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def mocked_app():
    """The service with E-goi at fixed fake URLs, for exact upstream checks with `responses`."""
    return create_app({**TEST_SETTINGS, "EGOI_API_URL": API, "EGOI_TRANSACTIONAL_URL": TX})


@pytest.fixture
def mocked(mocked_app):
    return mocked_app.test_client()


KEY = {"Apikey": "test-key-123"}


@contextmanager
def live_service(**settings) -> Iterator[str]:
    """The service in sandbox mode on a real loopback port (for schemathesis); yields its URL."""
    app = create_app({**TEST_SETTINGS, "SANDBOX": True, "RATE_LIMIT": "100000 per 60 seconds", **settings})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        for sandbox in runtime_of(app).sandboxes.values():
            sandbox.stop()
