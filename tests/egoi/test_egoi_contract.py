"""E-goi keeps the contract every catalog keeps (connector.testing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connector import testing
from connector.registry import discover

MICROSOFT_SCHEMAS = Path(__file__).resolve().parents[1] / "reference" / "powerautomate" / "schemas"
CONTACT = {"list_id": 1, "email": "contract@example.com", "cellphone": "351-911111111"}


def with_a_contact(client: Any, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """UpdateContact's and GetContact's examples name a contact; a fresh sandbox has none."""
    created = client.post("/egoi/actions/create_contact", json=CONTACT, headers=headers)
    contact_id = created.get_json()["contact_id"]
    return {
        "update_contact": {"list_id": 1, "contact_id": contact_id, "first_name": "Ana", "language": "pt"},
        "get_contact": {"list_id": 1, "contact_id": contact_id},
    }


TestEgoiContract = testing.contract_tests(
    discover("egoi")[0], microsoft_schemas=MICROSOFT_SCHEMAS, prepare=with_a_contact
)
