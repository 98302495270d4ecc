"""Input and output schemas of the E-goi contact operations."""

from __future__ import annotations

from typing import Any

from actions.egoi.fields import (
    CHANNEL_STATUS,
    CONSENT,
    CONTACT_STATUS,
    CONTACT_STATUS_UPDATE,
    LANGUAGES,
    contact_id,
    list_id,
)
from connector import fields as f
from connector.declarations import InputSchema, OutputSchema


class ContactFields(InputSchema):
    """Base fields a contact has in every E-goi list."""

    email = f.Email(summary="Email", description="Email address of the contact.", example="ana@example.com")
    cellphone = f.Phone(
        summary="Cellphone", description="Cellphone of the contact, as ccc-xxxxxxxxx where ccc is the country code."
    )
    phone = f.Phone(
        summary="Phone", description="Phone of the contact, as ccc-xxxxxxxxx where ccc is the country code."
    )
    first_name = f.String(summary="First Name", description="First name of the contact.", example="Ana")
    last_name = f.String(summary="Last Name", description="Last name of the contact.", example="Silva")
    birth_date = f.Date(
        summary="Birth Date", description="Birth date of the contact, as yyyy-mm-dd.", example="1990-01-31"
    )
    language = f.Choice(LANGUAGES, summary="Language", description="Language of the contact.", example="en")


class InList(InputSchema):
    """The list an operation works on; a separate base so it comes first in forms."""

    list_id = list_id()


class OnContact(InList):
    """The contact of a list an operation works on."""

    contact_id = contact_id(
        required=True,
        summary="Contact",
        description="The id of the contact.",
        visibility="important",
        dropdown=f.dropdown("GetAllContacs", value_path="contact_id", value_title="email", list_id="body/list_id"),
    )


class CreateContactInput(ContactFields, InList):
    """A new contact for one list; at least one of email, cellphone or phone."""

    require_any_of = ("email", "cellphone", "phone")

    status = f.Choice(
        CONTACT_STATUS, summary="Status", description="Status of the contact; E-goi uses active when not set."
    )


class UpdateContactInput(ContactFields, OnContact):
    """The fields to change on an existing contact; fields not sent are left as they are."""

    status = f.Choice(CONTACT_STATUS_UPDATE, summary="Status", description="Status of the contact.")
    consent = f.Choice(
        CONSENT, summary="Consent", description="Legal basis under which the contact is kept.", visibility="advanced"
    )
    cellphone_status = f.Choice(
        CHANNEL_STATUS,
        summary="Cellphone Status",
        description="Whether the cellphone channel is active.",
        visibility="advanced",
    )
    phone_status = f.Choice(
        CHANNEL_STATUS,
        summary="Phone Status",
        description="Whether the phone channel is active.",
        visibility="advanced",
    )


class ContactIdOutput(OutputSchema):
    """The id of the contact created or updated."""

    contact_id = f.String(
        required=True, summary="Contact Id", description="The id of the contact.", example="2f3a4b5c6d"
    )


def base_fields(data: dict[str, Any]) -> dict[str, Any]:
    """E-goi nests a contact's own fields under ``base``."""
    return {k: v for k, v in data.items() if k not in ("list_id", "contact_id")}
