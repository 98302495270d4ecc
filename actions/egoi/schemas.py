"""Input and output schemas of the E-goi contact operations."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from actions.egoi.fields import (
    CHANNEL_STATUS,
    CONSENT,
    CONTACT_STATUS,
    CONTACT_STATUS_UPDATE,
    CONTACTS_DROPDOWN,
    FIELD_FORMATS,
    FIELDS_DROPDOWN,
    LANGUAGES,
    MAX_PAGE,
    NAME_MAX,
    Phone,
    contact_id,
    list_id,
)
from connector import fields as f
from connector.declarations import InputSchema, OutputSchema, paged

MAX_EXTRA_VALUE = 10_000  # long enough for any extra field; bounds what a flow can send by mistake


class ContactFields(InputSchema):
    """Base fields a contact has in every E-goi list."""

    email = f.Email(summary="Email", description="Email address of the contact.", example="ana@example.com")
    cellphone = Phone(
        summary="Cellphone", description="Cellphone of the contact, as ccc-xxxxxxxxx where ccc is the country code."
    )
    phone = Phone(summary="Phone", description="Phone of the contact, as ccc-xxxxxxxxx where ccc is the country code.")
    first_name = f.String(
        max_length=NAME_MAX, summary="First Name", description="First name of the contact.", example="Ana"
    )
    last_name = f.String(
        max_length=NAME_MAX, summary="Last Name", description="Last name of the contact.", example="Silva"
    )
    birth_date = f.Date(
        summary="Birth Date", description="Birth date of the contact, as yyyy-mm-dd.", example="1990-01-31"
    )
    language = f.Choice(LANGUAGES, summary="Language", description="Language of the contact.", example="en")


class ExtraFieldValue(InputSchema):
    """The value of one extra (custom) field of the list: ``value``, or ``options`` for option fields."""

    field_id = f.Id(
        required=True,
        summary="Extra Field",
        description="The id of the extra field of the list.",
        example=1,
        # Only x-ms-dynamic-list: an item of an array can reach the operation's list_id through its
        # parameterReference path (body/list_id), which x-ms-dynamic-values (siblings only) cannot.
        metadata={"x_ms_dynamic_list": FIELDS_DROPDOWN.dynamic_list()},
    )
    value = f.String(
        validate=validate.Length(max=MAX_EXTRA_VALUE, error=f"Write at most {MAX_EXTRA_VALUE} characters."),
        summary="Value",
        description=(
            "The value, for every format but options: text, a number, an email, a date as yyyy-mm-dd, "
            "a cellphone or phone as ccc-xxxxxxxxx."
        ),
        example="Acme",
    )
    options = f.List(
        f.Id(),
        summary="Options",
        description="For a field of format options: the ids of the options chosen.",
        example=[1],
    )

    require_one_of = ("value", "options")  # options for a field of format options, value otherwise


def extra_field(**kwargs: Any) -> f.List:
    return f.List(
        f.Nested(ExtraFieldValue),
        summary="Extra Fields",
        description="Values of the list's extra (custom) fields, each once.",
        visibility="advanced",
        **kwargs,
    )


class WithExtra(InputSchema):
    """Extra fields, each at most once (E-goi would keep only one of two values)."""

    extra = extra_field()

    @validates_schema
    def _extra_once(self, data: dict[str, Any], **kwargs: Any) -> None:
        ids = [item["field_id"] for item in data.get("extra", ())]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValidationError(
                f"Each extra field may appear once; repeated field_id: {', '.join(map(str, repeated))}.",
                field_name="extra",
            )


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
        dropdown=CONTACTS_DROPDOWN,
    )


class NewContactFields(WithExtra, ContactFields):
    """The fields of a contact to create (CreateContact, each row of ImportContacts); at least one of
    email, cellphone or phone."""

    require_any_of = ("email", "cellphone", "phone")

    status = f.Choice(
        CONTACT_STATUS, summary="Status", description="Status of the contact; E-goi uses active when not set."
    )


class CreateContactInput(NewContactFields, InList):
    """A new contact for one list; at least one of email, cellphone or phone."""

    upsert = f.Boolean(
        load_default=False,
        summary="Update If Exists",
        description=(
            "When the email or cellphone is already used in the list, update that contact with the fields sent "
            "instead of answering 409; result says created or updated."
        ),
        visibility="advanced",
        example=False,
    )


class UpdateContactInput(WithExtra, ContactFields, OnContact):
    """The fields to change on an existing contact; fields not sent are left as they are."""

    status = f.Choice(CONTACT_STATUS_UPDATE, summary="Status", description="Status of the contact.")
    consent = f.Choice(
        CONSENT, summary="Consent", description="Legal basis under which the contact is kept.", visibility="advanced"
    )
    email_status = f.Choice(
        CHANNEL_STATUS,
        summary="Email Status",
        description="Whether the email channel is active.",
        visibility="advanced",
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


class GetContactInput(OnContact):
    """The contact to read."""


class FindContactInput(InputSchema):
    """What to search for, across every list (or one)."""

    require_any_of = ("email", "cellphone", "phone")

    email = f.Email(
        summary="Email", description="Email address to search for.", visibility="important", example="ana@example.com"
    )
    cellphone = Phone(
        summary="Cellphone", description="Cellphone to search for, as ccc-xxxxxxxxx.", visibility="important"
    )
    phone = Phone(summary="Phone", description="Phone to search for, as ccc-xxxxxxxxx.", visibility="advanced")
    list_id = list_id(
        required=False,
        summary="Only In List",
        description="Keep only the contacts of this list.",
        visibility="advanced",
    )


class PageInput(InputSchema):
    """offset and limit as E-goi's collections take them."""

    offset = f.BoundedInteger(
        minimum=0, summary="Offset", description="Items to skip, from zero.", visibility="advanced", load_default=0
    )
    limit = f.BoundedInteger(
        minimum=1,
        maximum=MAX_PAGE,
        summary="Limit",
        description=f"Items to return, 1 to {MAX_PAGE}.",
        visibility="advanced",
        load_default=10,
        example=10,
    )


class ContactIdOutput(OutputSchema):
    """The id of the contact updated."""

    contact_id = f.String(
        required=True, summary="Contact Id", description="The id of the contact.", example="2f3a4b5c6d"
    )


class CreateContactOutput(ContactIdOutput):
    """The id of the contact and whether it was created or, with upsert, updated."""

    result = f.Choice(
        ("created", "updated"),
        required=True,
        summary="Result",
        description="created, or updated when upsert found the contact already in the list.",
        example="created",
    )


class ExtraFieldOutput(OutputSchema):
    field_id = f.Integer(required=True, summary="Extra Field Id", description="The id of the extra field.")
    format = f.String(summary="Format", description="Format of the field: " + ", ".join(FIELD_FORMATS) + ".")
    value = f.String(summary="Value", description="The value, for every format but options.")
    options = f.List(f.Integer(), summary="Options", description="For fields of format options: the option ids.")


class ContactOutput(OutputSchema):
    """A contact of a list: its base fields, extra fields and tags."""

    contact_id = f.String(required=True, summary="Contact Id", description="The id of the contact.")
    list_id = f.Integer(required=True, summary="List Id", description="The id of the list.")
    status = f.String(summary="Status", description="Status of the contact: active, inactive, removed, unconfirmed.")
    consent = f.String(summary="Consent", description="Legal basis under which the contact is kept.")
    email = f.String(summary="Email", description="Email address of the contact.")
    email_status = f.String(summary="Email Status", description="Whether the email channel is active.")
    cellphone = f.String(summary="Cellphone", description="Cellphone of the contact, as ccc-xxxxxxxxx.")
    cellphone_status = f.String(summary="Cellphone Status", description="Whether the cellphone channel is active.")
    phone = f.String(summary="Phone", description="Phone of the contact, as ccc-xxxxxxxxx.")
    phone_status = f.String(summary="Phone Status", description="Whether the phone channel is active.")
    first_name = f.String(summary="First Name", description="First name of the contact.")
    last_name = f.String(summary="Last Name", description="Last name of the contact.")
    birth_date = f.String(summary="Birth Date", description="Birth date of the contact, as yyyy-mm-dd.")
    language = f.String(summary="Language", description="Language of the contact.")
    subscription_date = f.Timestamp(
        summary="Subscribed", description="When the contact subscribed, ISO 8601 (E-goi's time read as UTC)."
    )
    change_date = f.String(summary="Changed", description="The day the contact last changed, yyyy-mm-dd.")
    extra = f.List(f.Nested(ExtraFieldOutput), summary="Extra Fields", description="Values of the extra fields.")
    tags = f.List(f.Integer(), summary="Tags", description="Ids of the tags attached to the contact.")


class FoundContact(ContactOutput):
    """A contact found, whole (as GetContact returns it), and which value matched."""

    matched_by = f.String(summary="Matched By", description="Which value matched: email, cellphone or phone.")


class FoundContactsOutput(OutputSchema):
    """The contacts found, in every list (or the one asked for); none found is an empty list."""

    total_items, items = paged(
        FoundContact, summary="Contacts", total="Number of contacts found.", items="The contacts found."
    )


CONTACT_KEYS = ("list_id", "contact_id", "extra", "upsert")


def base_fields(data: dict[str, Any]) -> dict[str, Any]:
    """E-goi nests a contact's own fields under ``base``."""
    return {k: v for k, v in data.items() if k not in CONTACT_KEYS}


def extra_values(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Our ``{field_id, value | options}`` items as v3's ``{field_id, value}`` (options as an id array)."""
    return [
        {"field_id": item["field_id"], "value": item["options"] if "options" in item else item["value"]}
        for item in data.get("extra", ())
    ]


def contact_body(data: dict[str, Any]) -> dict[str, Any]:
    """The v3 body of a contact write: ``base`` always (E-goi requires it), ``extra`` when sent."""
    body: dict[str, Any] = {"base": base_fields(data)}
    extra = extra_values(data)
    if extra:
        body["extra"] = extra
    return body


def contact_from_upstream(list_id_: int, contact: dict[str, Any]) -> dict[str, Any]:
    """v3's ComplexContact (``base``, ``extra``, ``tags``) flattened for a flow."""
    base = contact.get("base") if isinstance(contact.get("base"), dict) else {}
    extra = []
    for item in contact.get("extra") or ():
        if not isinstance(item, dict):
            continue
        value = item.get("value")
        shown = {"field_id": item.get("field_id"), "format": item.get("format")}
        shown["options" if isinstance(value, list) else "value"] = value
        extra.append(shown)
    return {**base, "list_id": list_id_, "extra": extra, "tags": list(contact.get("tags") or ())}
