"""Tag actions on E-goi's Marketing API v3."""

from __future__ import annotations

from typing import Any

from marshmallow import validate

from actions.egoi.fields import CONTACT_ID_MESSAGE, CONTACT_ID_PATTERN, list_id
from connector import fields as f
from connector.declarations import Action, InputSchema, OutputSchema
from connector.upstream import UpstreamCall

MAX_CONTACTS = 1000


class AddTagInput(InputSchema):
    """The tag and the contacts of a list to attach it to."""

    list_id = list_id()
    tag_id = f.Id(
        required=True,
        summary="Tag",
        description="The id of the tag to attach.",
        visibility="important",
        example=1,
        dropdown=f.dropdown("GetTag", value_path="tag_id", value_title="name"),
    )
    contacts = f.List(
        f.String(validate=f.FullMatch(CONTACT_ID_PATTERN, error=CONTACT_ID_MESSAGE)),
        required=True,
        validate=validate.Length(min=1, max=MAX_CONTACTS, error=f"Provide from 1 to {MAX_CONTACTS} contact ids."),
        summary="Contacts",
        description="Ids of the contacts to tag.",
        visibility="important",
        example=["2f3a4b5c6d"],
    )


class AddTagOutput(OutputSchema):
    """The tag attached and the contacts it was attached to."""

    tag_id = f.Integer(required=True, summary="Tag Id", description="The id of the tag attached.")
    success = f.List(
        f.String(), required=True, summary="Tagged Contacts", description="Ids of the contacts the tag was attached to."
    )


class AddTag(Action):
    key = "add_tag"
    operation_id = "AddTag"
    summary = "Attach a tag to contacts"
    description = "Attaches the chosen tag to one or more existing contacts of a list."
    visibility = "important"
    Input = AddTagInput
    Output = AddTagOutput
    example = {"list_id": 1, "tag_id": 1, "contacts": ["2f3a4b5c6d"]}
    response_example = {"tag_id": 1, "success": ["2f3a4b5c6d"]}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        contacts = list(dict.fromkeys(data["contacts"]))  # E-goi requires unique items
        upstream.post(
            f"/lists/{data['list_id']}/contacts/actions/attach-tag",
            json={"tag_id": data["tag_id"], "contacts": contacts},
        )
        return {"tag_id": data["tag_id"], "success": contacts}


OPERATIONS = (AddTag,)
