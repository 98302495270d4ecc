"""Fixtures of the Zapier tests."""

from __future__ import annotations

import pytest
from zapier_node import require_node


@pytest.fixture(scope="session")
def node_harness() -> None:
    """Node 22 and the Zapier packages, or a failure under CI (a skip elsewhere)."""
    require_node()
