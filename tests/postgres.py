"""A throwaway PostgreSQL server for the tests (``connector.testing.postgres``, from the Debian binaries).

``CONNECTOR_TEST_POSTGRES_URL`` names an existing server instead. Without either, the PostgreSQL
tests are skipped, except under CI (``CI`` set), where a missing PostgreSQL is a failure:
`.ci/run` installs it, so its absence there means the tests did not run on PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from connector.testing.postgres import binaries, private_postgres


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a SQLAlchemy URL of an empty database on a private server, stopped afterwards."""
    url = os.environ.get("CONNECTOR_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    if binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run must install it (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    with private_postgres() as server:
        yield server.url
