"""Internal lookups that fill Power Automate dropdowns (lists, tags, SMS senders, contacts, extra fields).

They keep the certified connector's operationIds so flows built on it find the same sources.
"""

from __future__ import annotations

from typing import Any

from actions.egoi.fields import FIELD_FORMATS, list_id
from connector import fields as f
from connector.declarations import InputSchema, Lookup, OutputSchema, paged
from connector.upstream import UpstreamCall


class PageInput(InputSchema):
    """Paging of a lookup."""

    offset = f.BoundedInteger(minimum=0, summary="Offset", description="Items to skip, from zero.", load_default=0)
    limit = f.BoundedInteger(
        minimum=1, maximum=100, summary="Limit", description="Items to return, 1 to 100.", load_default=100
    )


class ContactsPageInput(PageInput):
    """Paging of the contacts of one list."""

    list_id = list_id()


class ListItem(OutputSchema):
    list_id = f.Integer(required=True, summary="List Id", description="The id of the list.")
    internal_name = f.String(summary="Internal Name", description="Name of the list inside E-goi.")
    public_name = f.String(summary="Public Name", description="Name of the list shown to contacts.")


class ListsOutput(OutputSchema):
    """A page of the account's contact lists."""

    total_items, items = paged(
        ListItem, summary="Lists", total="Number of lists in the account.", items="The lists of this page."
    )


class TagItem(OutputSchema):
    tag_id = f.Integer(required=True, summary="Tag Id", description="The id of the tag.")
    name = f.String(summary="Name", description="Name of the tag.")
    color = f.String(summary="Color", description="Colour of the tag, as #RRGGBB.")


class TagsOutput(OutputSchema):
    """A page of the account's tags."""

    total_items, items = paged(
        TagItem, summary="Tags", total="Number of tags in the account.", items="The tags of this page."
    )


class SenderItem(OutputSchema):
    id = f.String(required=True, summary="Sender Id", description="The id of the sender.")
    name = f.String(summary="Name", description="Name of the sender.")
    phoneNumber = f.String(summary="Phone Number", description="Number the sender sends from.")
    senderStatus = f.String(summary="Status", description="Approval status of the sender.")


class SendersOutput(OutputSchema):
    """The account's SMS senders."""

    items = f.List(f.Nested(SenderItem), required=True, summary="Senders", description="The SMS senders.")


class ContactItem(OutputSchema):
    contact_id = f.String(required=True, summary="Contact Id", description="The id of the contact.")
    email = f.String(summary="Email", description="Email address of the contact.")
    first_name = f.String(summary="First Name", description="First name of the contact.")
    last_name = f.String(summary="Last Name", description="Last name of the contact.")
    cellphone = f.String(summary="Cellphone", description="Cellphone of the contact.")
    status = f.String(summary="Status", description="Status of the contact.")


class ContactsOutput(OutputSchema):
    """A page of the contacts of a list."""

    total_items, items = paged(
        ContactItem, summary="Contacts", total="Number of contacts in the list.", items="The contacts of this page."
    )


class FieldOption(OutputSchema):
    option_id = f.Integer(required=True, summary="Option Id", description="The id of the option.")
    en = f.String(summary="Name", description="Text of the option in English.")
    pt = f.String(summary="Name (Portuguese)", description="Text of the option in Portuguese.")


class ListFieldItem(OutputSchema):
    field_id = f.Integer(required=True, summary="Extra Field Id", description="The id of the extra field.")
    name = f.String(summary="Name", description="Name of the field.")
    format = f.String(summary="Format", description="Format of the field: " + ", ".join(FIELD_FORMATS) + ".")
    unique = f.Boolean(summary="Unique", description="True when no two contacts of the list may share a value.")
    options = f.List(
        f.Nested(FieldOption), summary="Options", description="For a field of format options: its options."
    )


class ListFieldsOutput(OutputSchema):
    """The extra (custom) fields of a list, the ones a contact's extra values refer to."""

    items = f.List(f.Nested(ListFieldItem), required=True, summary="Fields", description="The extra fields.")


def _extra_field(field: Any) -> dict[str, Any] | None:
    """An extra field of GET /lists/{id}/fields with its id as the integer contacts' extra takes;
    base fields (first_name, email, ...) are inputs of their own and are left out."""
    if not isinstance(field, dict) or field.get("type") != "extra":
        return None
    raw = str(field.get("field_id", ""))
    if not (raw.isascii() and raw.isdigit()):
        return None
    return {**field, "field_id": int(raw), "options": field.get("options") or []}


def _page(data: dict[str, Any]) -> dict[str, Any]:
    return {"offset": data["offset"], "limit": data["limit"]}


class GetListsContacts(Lookup):
    key = "lists"
    operation_id = "GetListsContacts"
    summary = "List contact lists"
    description = "Returns the contact lists of the account, to choose one in a dropdown."
    Input = PageInput
    Output = ListsOutput

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        return upstream.get("/lists", params=_page(data))


class GetTag(Lookup):
    key = "tags"
    operation_id = "GetTag"
    summary = "List tags"
    description = "Returns the tags of the account, to choose one in a dropdown."
    Input = PageInput
    Output = TagsOutput

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        return upstream.get("/tags", params=_page(data))


class GetSenders(Lookup):
    key = "sms_senders"
    operation_id = "GetSenders"
    summary = "List SMS senders"
    description = "Returns the SMS senders of the account, to choose one in a dropdown."
    upstream = "transactional"
    Output = SendersOutput

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        senders = upstream.get("/sms/senders")
        return {"items": senders if isinstance(senders, list) else []}


class GetAllContacs(Lookup):
    key = "contacts"
    operation_id = "GetAllContacs"  # sic: the certified connector's id, kept so flows map over
    summary = "List contacts of a list"
    description = "Returns the contacts of a list, to choose one in a dropdown."
    Input = ContactsPageInput
    Output = ContactsOutput
    example = {"list_id": 1}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        page = upstream.get(f"/lists/{data['list_id']}/contacts", params=_page(data))
        items = [item.get("base", {}) for item in page.get("items", [])]
        return {"total_items": page.get("total_items", len(items)), "items": items}


class GetListFields(Lookup):
    key = "list_fields"
    operation_id = "GetListFields"
    summary = "List the extra fields of a list"
    description = "Returns the extra (custom) fields of a contact list, to choose one in a dropdown."
    Input = ContactsPageInput
    Output = ListFieldsOutput
    example = {"list_id": 1}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        fields_ = upstream.get(f"/lists/{data['list_id']}/fields", params=_page(data))
        items = [item for item in map(_extra_field, fields_ if isinstance(fields_, list) else ()) if item]
        return {"items": items}


OPERATIONS = (GetListsContacts, GetTag, GetSenders, GetAllContacs, GetListFields)
