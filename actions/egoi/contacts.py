"""Contact actions on E-goi's Marketing API v3. A write that collides with another contact is a
:class:`~actions.egoi.responses.ContactConflict`, raised by the service's response hook."""

from __future__ import annotations

from typing import Any

from actions.egoi.responses import ContactConflict
from actions.egoi.schemas import (
    ContactIdOutput,
    ContactOutput,
    CreateContactInput,
    CreateContactOutput,
    FindContactInput,
    FoundContactsOutput,
    GetContactInput,
    UpdateContactInput,
    base_fields,
    contact_body,
    contact_from_upstream,
)
from connector.declarations import Action
from connector.errors import Problem
from connector.upstream import UpstreamCall


class CreateContact(Action):
    key = "create_contact"
    operation_id = "CreateContact"
    summary = "Create a contact"
    description = (
        "Creates a new contact in the chosen list and returns its id; a duplicate answers 409 with the existing id, "
        "or with upsert updates that contact and says so."
    )
    visibility = "important"
    Input = CreateContactInput
    Output = CreateContactOutput
    status_code = 201
    errors = (409,)
    example = {"list_id": 1, "email": "ana@example.com", "cellphone": "351-912345678", "birth_date": "1990-01-31"}
    response_example = {"contact_id": "2f3a4b5c6d", "result": "created"}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        """Create first and update on E-goi's 409: one call in the usual case, and E-goi itself decides
        what counts as a duplicate (its unique fields), rather than a search that could race."""
        list_id = data["list_id"]
        body = contact_body(data)
        try:
            created = upstream.post(f"/lists/{list_id}/contacts", json=body)
        except ContactConflict as conflict:
            existing = conflict.existing
            if not data["upsert"] or existing is None:
                raise
            if data.get("status") == "removed":  # E-goi's update (PATCH) cannot set removed
                raise Problem(
                    409,
                    f"Contact {existing} already exists in list {list_id} and an update cannot set status "
                    "removed: send active, inactive or unconfirmed.",
                    errors={"status": ["An existing contact cannot be set to removed by an update."]},
                    contact_id=existing,
                ) from None
            # the cellphone may belong to yet another contact: a ContactConflict again
            upstream.patch(f"/lists/{list_id}/contacts/{existing}", json=body)
            return {"contact_id": existing, "result": "updated"}
        if not isinstance(created, dict) or not isinstance(created.get("contact_id"), str):
            raise Problem(502, "E-goi accepted the contact but returned no contact id.")
        return {"contact_id": created["contact_id"], "result": "created"}


class UpdateContact(Action):
    key = "update_contact"
    operation_id = "UpdateContact"
    summary = "Update a contact"
    description = "Changes the fields sent on an existing contact of a list and leaves the others as they are."
    visibility = "important"
    Input = UpdateContactInput
    Output = ContactIdOutput
    errors = (409,)
    example = {"list_id": 1, "contact_id": "2f3a4b5c6d", "first_name": "Ana", "language": "pt"}
    response_example = {"contact_id": "2f3a4b5c6d"}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        list_id, contact = data["list_id"], data["contact_id"]
        if not base_fields(data) and not data.get("extra"):
            # nothing to change: still answer 404 for a contact that does not exist
            upstream.get(f"/lists/{list_id}/contacts/{contact}")
            return {"contact_id": contact}
        return upstream.patch(f"/lists/{list_id}/contacts/{contact}", json=contact_body(data))


class GetContact(Action):
    key = "get_contact"
    operation_id = "GetContact"
    summary = "Get a contact"
    description = "Returns a contact of a list by its id, with its extra fields and the ids of its tags."
    visibility = "important"
    Input = GetContactInput
    Output = ContactOutput
    example = {"list_id": 1, "contact_id": "2f3a4b5c6d"}
    response_example = {
        "contact_id": "2f3a4b5c6d",
        "list_id": 1,
        "status": "active",
        "email": "ana@example.com",
        "first_name": "Ana",
        "extra": [{"field_id": 1, "format": "text", "value": "Acme"}],
        "tags": [1],
    }

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        list_id = data["list_id"]
        contact = upstream.get(f"/lists/{list_id}/contacts/{data['contact_id']}")
        if not isinstance(contact, dict):
            raise Problem(502, "E-goi answered the contact with an unexpected body.")
        return contact_from_upstream(list_id, contact)


SEARCH_TYPES = ("email", "cellphone", "phone")


class FindContact(Action):
    key = "find_contact"
    operation_id = "FindContact"
    summary = "Find contacts by email or phone"
    description = (
        "Finds the contacts whose email, cellphone or phone is the one given, in every list or in one list, "
        "each with its fields, extra fields and tags as Get a contact returns them; an empty list when there is none."
    )
    visibility = "important"
    Input = FindContactInput
    Output = FoundContactsOutput
    example = {"email": "ana@example.com"}
    response_example = {
        "total_items": 1,
        "items": [
            {
                "contact_id": "2f3a4b5c6d",
                "list_id": 1,
                "status": "active",
                "email": "ana@example.com",
                "first_name": "Ana",
                "extra": [],
                "tags": [1],
                "matched_by": "email",
            }
        ],
    }

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        """One ``GET /contacts/search`` per value given (usually one): v3's search covers every list in
        one call, where the per-list filters of ``GET /lists/{id}/contacts`` would need a call per list.
        The search gives ids only, so each contact found is then read whole (``GET
        /lists/{id}/contacts/{id}``, as GetContact): a Zapier search or a flow gets fields to map. One
        removed meanwhile (404) is left out."""
        found: dict[tuple[int, str], str] = {}
        for kind in SEARCH_TYPES:
            if kind not in data:
                continue
            for item in _search(upstream, kind, data[kind]):
                if "list_id" not in data or item["list_id"] == data["list_id"]:
                    found.setdefault((item["list_id"], item["contact_id"]), kind)
        items = []
        for (list_id, contact_id), kind in found.items():
            contact = _read(upstream, list_id, contact_id)
            if contact is not None:
                items.append({**contact, "matched_by": kind})
        return {"total_items": len(items), "items": items}


def _read(upstream: UpstreamCall, list_id: int, contact_id: str) -> dict[str, Any] | None:
    """A contact as GetContact returns it, or None when it is gone."""
    try:
        contact = upstream.get(f"/lists/{list_id}/contacts/{contact_id}")
    except Problem as problem:
        if problem.status == 404:
            return None
        raise
    if not isinstance(contact, dict):
        raise Problem(502, "E-goi answered the contact with an unexpected body.")
    return contact_from_upstream(list_id, contact)


def _search(upstream: UpstreamCall, kind: str, value: str) -> list[dict[str, Any]]:
    """The contacts one search finds (none: the service's response hook reads E-goi's 404 as no items)."""
    answer = upstream.get("/contacts/search", params={"type": kind, "contact": value})
    items = answer.get("items") if isinstance(answer, dict) else None
    return [
        {"contact_id": item["contact_id"], "list_id": item["list_id"]}
        for item in items or ()
        if isinstance(item, dict) and isinstance(item.get("contact_id"), str) and isinstance(item.get("list_id"), int)
    ]


OPERATIONS = (CreateContact, UpdateContact, GetContact, FindContact)
