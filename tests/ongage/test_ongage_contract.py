"""Ongage keeps the contract every catalog keeps (connector.testing)."""

from __future__ import annotations

from pathlib import Path

from connector import testing
from connector.registry import discover

MICROSOFT_SCHEMAS = Path(__file__).resolve().parents[1] / "reference" / "powerautomate" / "schemas"

TestOngageContract = testing.contract_tests(discover("ongage")[0], microsoft_schemas=MICROSOFT_SCHEMAS)
