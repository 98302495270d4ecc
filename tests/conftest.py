"""Fixtures in the Flask tutorial's shape: app → client, with the sandbox or `responses` upstream."""

from __future__ import annotations

import pytest

from connector import sandbox as sandboxes
from connector.app import create_app
from connector.registry import discover

API = "https://api.egoi.test"
TX = "https://tx.egoi.test/api/v2"

TEST_SETTINGS = {
    "PUBLIC_URL": "http://localhost:8000",
    "UPSTREAM_BACKOFF": 0.0,
    "UPSTREAM_RETRY_AFTER_CAP": 0.0,
    "RATE_LIMIT": "10000 per 60 seconds",
}


@pytest.fixture(scope="session")
def egoi_catalog():
    return discover("egoi")[0]


@pytest.fixture
def egoi_sandbox(egoi_catalog):
    """A fresh E-goi emulator on loopback for each test (fresh seeded state)."""
    running = sandboxes.start(egoi_catalog)
    yield running
    running.stop()


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
