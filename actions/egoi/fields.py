"""E-goi's vocabularies, as its API v3 documents them, and the fields shared by several operations."""

from __future__ import annotations

from typing import Any

from marshmallow import validate

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
# Formats of a list's fields (GET /lists/{list_id}/fields); extra fields of format options take option ids.
FIELD_FORMATS = ("date", "text", "cellphone", "phone", "number", "email", "options")

# GET /campaigns (E-goi API v3 guide and spec, getAllCampaigns: https://developers.e-goi.com/api/v3/)
CAMPAIGN_CHANNELS = ("email", "push", "sms", "smart_sms", "voice", "web_push")
CAMPAIGN_STATUSES = ("draft", "canceled", "queued", "paused", "sending", "sent")
CAMPAIGN_ORDER_BY = ("list_id", "internal_name", "created_by", "group_id", "created")
# GET /automations (getAllAutomations)
AUTOMATION_STATUSES = ("active", "inactive")
AUTOMATION_ORDER_BY = ("automation_id", "title", "list_id", "created_by")
ORDER = ("asc", "desc")
# Lengths. E-goi's published specs (https://developers.e-goi.com/api/v3/ and
# https://developers.e-goi.com/api/transactional/) give no maxLength for any string, so these are
# our bounds: generous for what E-goi stores, small enough that a value always fits in a query
# string or a request, so an over-long value is a 422 naming the field rather than a 414 upstream.
NAME_MAX = 255  # names and titles (contact names, tag names, campaign and automation names)
HASH_MAX = 64  # E-goi hashes ([a-zA-Z0-9_-], campaign and sender hashes)
ID_TEXT_MAX = 64  # ids E-goi gives as strings (senders, reply-to addresses), as message ids
CONTACT_ID_LENGTH = 10
# E-goi API v3 guide documents limit 1..100 for campaigns and automations (the published spec says 1000; the
# smaller bound is the one both agree on).
MAX_PAGE = 100

# Phones and cellphones as E-goi's API v3 contact schema writes them (https://developers.e-goi.com/api/v3/):
# a country code, a hyphen, the number.
PHONE_PATTERN = r"^\d{1,3}-\d{4,20}$"
PHONE_MESSAGE = (
    "Not a valid phone number: expected the format ccc-xxxxxxxxx, a country code of 1 to 3 digits, "
    "a hyphen, then 4 to 20 digits (for example 351-912345678)."
)
PHONE_MAX = 24  # 3 digits, a hyphen, 20 digits: the longest the pattern admits


class Phone(f.Patterned):
    """Phone or cellphone in E-goi's ``ccc-xxxxxxxxx`` form (the upstream's own pattern)."""

    pattern = PHONE_PATTERN
    message = PHONE_MESSAGE
    length = PHONE_MAX
    hint = "phone ccc-xxxxxxxxx"
    example_value = "351-912345678"


LISTS_DROPDOWN = f.dropdown("GetListsContacts", value_path="list_id", value_title="public_name")
TAGS_DROPDOWN = f.dropdown("GetTag", value_path="tag_id", value_title="name")
CONTACTS_DROPDOWN = f.dropdown("GetAllContacs", value_path="contact_id", value_title="email", list_id="body/list_id")
FIELDS_DROPDOWN = f.dropdown("GetListFields", value_path="field_id", value_title="name", list_id="body/list_id")


def list_id(**kwargs: Any) -> f.Id:
    options: dict[str, Any] = {
        "required": True,
        "summary": "Contact List",
        "description": "The id of the contact list.",
        "visibility": "important",
        "example": 1,
        "dropdown": LISTS_DROPDOWN,
    }
    return f.Id(**{**options, **kwargs})


def contact_id(**kwargs: Any) -> f.String:
    return f.String(
        validate=f.FullMatch(CONTACT_ID_PATTERN, error=CONTACT_ID_MESSAGE),
        max_length=CONTACT_ID_LENGTH,
        too_long=CONTACT_ID_MESSAGE,
        example="2f3a4b5c6d",
        **kwargs,
    )


def contact_ids(max_items: int, **kwargs: Any) -> f.List:
    """Ids of contacts of one list, as attach-tag and detach-tag take them."""
    return f.List(
        contact_id(),
        required=True,
        validate=validate.Length(min=1, max=max_items, error=f"Provide from 1 to {max_items} contact ids."),
        example=["2f3a4b5c6d"],
        **kwargs,
    )
