"""Tag actions on E-goi's Marketing API v3: attach (by id or by name, creating the tag) and detach."""

from __future__ import annotations

from typing import Any

from marshmallow import validate

from actions.egoi.fields import NAME_MAX, TAGS_DROPDOWN, contact_ids, list_id
from connector import fields as f
from connector.declarations import Action, InputSchema, OutputSchema
from connector.errors import Problem
from connector.upstream import UpstreamCall, UpstreamError

MAX_CONTACTS = 1000
TAG_PAGE = 1000  # the v3 spec's largest limit on GET /tags: most accounts' tags in one call
MAX_TAG_PAGES = 50  # stop paging there: an upstream that never ends its list must not loop us forever


class AddTagInput(InputSchema):
    """The tag, by id or by name, and the contacts of a list to attach it to."""

    list_id = list_id()
    tag_id = f.Id(
        summary="Tag",
        description="The id of the tag to attach (or give tag_name instead).",
        visibility="important",
        example=1,
        dropdown=TAGS_DROPDOWN,
    )
    tag_name = f.String(
        max_length=NAME_MAX,
        # One character that is white space neither to Python nor to JSON Schema (ECMA-262) regexes,
        # so the published pattern and this check agree on every string.
        validate=validate.Regexp(
            r"[\s\S]*?[^\s\x1c-\x1f\x85\ufeff]", error="Write the name of the tag (not only spaces)."
        ),
        summary="Tag Name",
        description="The name of the tag to attach, created when the account has none by that name (or give tag_id).",
        visibility="advanced",
        example="VIP",
    )
    contacts = contact_ids(
        MAX_CONTACTS, summary="Contacts", description="Ids of the contacts to tag.", visibility="important"
    )

    require_one_of = ("tag_id", "tag_name")


class AddTagOutput(OutputSchema):
    """The tag attached and the contacts it was attached to."""

    tag_id = f.Integer(required=True, summary="Tag Id", description="The id of the tag attached.")
    success = f.List(
        f.String(), required=True, summary="Tagged Contacts", description="Ids of the contacts the tag was attached to."
    )
    tag_created = f.Boolean(
        summary="Tag Created", description="True when the tag was created because no tag had the name given."
    )


def _find_tag(upstream: UpstreamCall, name: str) -> int | None:
    """The id of the tag with this name (E-goi's tag names are unique regardless of case)."""
    wanted, offset = name.casefold(), 0
    for _ in range(MAX_TAG_PAGES):
        page = upstream.get("/tags", params={"offset": offset, "limit": TAG_PAGE})
        items = page.get("items") if isinstance(page, dict) else None
        if not items:
            return None
        for tag in items:
            if isinstance(tag, dict) and str(tag.get("name", "")).strip().casefold() == wanted:
                return tag.get("tag_id")
        offset += len(items)
        if offset >= page.get("total_items", 0):
            return None
    return None


def resolve_tag(upstream: UpstreamCall, data: dict[str, Any]) -> tuple[int, bool]:
    """The tag's id, and whether it had to be created."""
    if "tag_id" in data:
        return data["tag_id"], False
    name = data["tag_name"].strip()
    found = _find_tag(upstream, name)
    if found is not None:
        return found, False
    try:
        tag = upstream.post("/tags", json={"name": name})
    except UpstreamError as exc:
        if exc.upstream_status != 409:  # 409: created meanwhile by someone else; use that one
            raise
        found = _find_tag(upstream, name)
        if found is None:
            raise
        return found, False
    if not isinstance(tag, dict) or not isinstance(tag.get("tag_id"), int):
        raise Problem(502, "E-goi created the tag but returned no tag id.")
    return tag["tag_id"], True


class AddTag(Action):
    key = "add_tag"
    operation_id = "AddTag"
    summary = "Attach a tag to contacts"
    description = (
        "Attaches a tag, chosen by id or by name (created when missing), to one or more existing contacts of a list."
    )
    visibility = "important"
    Input = AddTagInput
    Output = AddTagOutput
    example = {"list_id": 1, "tag_id": 1, "contacts": ["2f3a4b5c6d"]}
    response_example = {"tag_id": 1, "success": ["2f3a4b5c6d"], "tag_created": False}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        contacts = list(dict.fromkeys(data["contacts"]))  # E-goi requires unique items
        tag_id, created = resolve_tag(upstream, data)
        upstream.post(
            f"/lists/{data['list_id']}/contacts/actions/attach-tag",
            json={"tag_id": tag_id, "contacts": contacts},
        )
        return {"tag_id": tag_id, "success": contacts, "tag_created": created}


class DetachTagInput(InputSchema):
    """The tag and the contacts of a list to take it from."""

    list_id = list_id()
    tag_id = f.Id(
        required=True,
        summary="Tag",
        description="The id of the tag to detach.",
        visibility="important",
        example=1,
        dropdown=TAGS_DROPDOWN,
    )
    contacts = contact_ids(
        MAX_CONTACTS, summary="Contacts", description="Ids of the contacts to untag.", visibility="important"
    )


class DetachTagOutput(OutputSchema):
    """The tag detached and the contacts it was detached from."""

    tag_id = f.Integer(required=True, summary="Tag Id", description="The id of the tag detached.")
    contacts = f.List(
        f.String(),
        required=True,
        summary="Untagged Contacts",
        description="Ids of the contacts the tag was taken from.",
    )


class DetachTag(Action):
    key = "detach_tag"
    operation_id = "DetachTag"
    summary = "Detach a tag from contacts"
    description = "Takes a tag off one or more contacts of a list; contacts without the tag are left as they are."
    visibility = "important"
    Input = DetachTagInput
    Output = DetachTagOutput
    example = {"list_id": 1, "tag_id": 1, "contacts": ["2f3a4b5c6d"]}
    response_example = {"tag_id": 1, "contacts": ["2f3a4b5c6d"]}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        contacts = list(dict.fromkeys(data["contacts"]))
        upstream.post(
            f"/lists/{data['list_id']}/contacts/actions/detach-tag",
            json={"tag_id": data["tag_id"], "contacts": contacts},
        )
        return {"tag_id": data["tag_id"], "contacts": contacts}


OPERATIONS = (AddTag, DetachTag)
