"""E-goi's vocabularies, as its API v3 documents them, and the fields shared by several operations."""

from __future__ import annotations

from typing import Any

from connector import fields as f

CONTACT_STATUS = ("active", "inactive", "removed", "unconfirmed")
CONTACT_STATUS_UPDATE = ("active", "inactive", "unconfirmed")  # PATCH does not accept "removed"
LANGUAGES = ("en", "pt", "br", "es", "de", "hu", "fr")
CONSENT = (
    "any",
    "consent",
    "contract",
    "legitimate_interest",
    "none",
    "protect_vital_interests",
    "public_interests",
    "required_by_law",
    "withdrawn",
)
CHANNEL_STATUS = ("active", "inactive")
CONTACT_ID_PATTERN = r"^[a-fA-F\d]{10}$"
CONTACT_ID_MESSAGE = "Not a valid contact id: expected 10 hexadecimal characters (for example 2f3a4b5c6d)."

LISTS_DROPDOWN = f.dropdown("GetListsContacts", value_path="list_id", value_title="public_name")


def list_id() -> f.Id:
    return f.Id(
        required=True,
        summary="Contact List",
        description="The id of the contact list.",
        visibility="important",
        example=1,
        dropdown=LISTS_DROPDOWN,
    )


def contact_id(**kwargs: Any) -> f.String:
    return f.String(
        validate=f.FullMatch(CONTACT_ID_PATTERN, error=CONTACT_ID_MESSAGE),
        example="2f3a4b5c6d",
        **kwargs,
    )
