"""Contact actions on E-goi's Marketing API v3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from actions.egoi.schemas import ContactIdOutput, CreateContactInput, UpdateContactInput, base_fields
from connector.declarations import Action
from connector.errors import Problem
from connector.upstream import UpstreamCall, UpstreamError


@contextmanager
def _duplicate_is_conflict(list_id: int) -> Iterator[None]:
    """A write that collides with another contact's email or phone becomes our 409 with its id."""
    try:
        yield
    except UpstreamError as exc:
        if exc.upstream_status == 409:
            raise _conflict(exc, list_id) from None
        raise


def _conflict(exc: UpstreamError, list_id: int) -> Problem:
    """E-goi's 409 lists the contacts already using the unique field; surface the first id."""
    body = exc.upstream_body if isinstance(exc.upstream_body, dict) else {}
    errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
    existing = (errors.get("contacts") or [None])[0]
    detail = f"A contact with this email, cellphone or phone already exists in list {list_id}"
    detail += f": contact {existing}." if existing else "."
    return Problem(
        409,
        detail,
        errors={"email": ["Already used by another contact of this list."]},
        contact_id=existing,
    )


class CreateContact(Action):
    key = "create_contact"
    operation_id = "CreateContact"
    summary = "Create a contact"
    description = (
        "Creates a new contact in the chosen list and returns its id; a duplicate answers 409 with the existing id."
    )
    visibility = "important"
    Input = CreateContactInput
    Output = ContactIdOutput
    status_code = 201
    errors = (409,)
    example = {"list_id": 1, "email": "ana@example.com", "cellphone": "351-912345678", "birth_date": "1990-01-31"}
    response_example = {"contact_id": "2f3a4b5c6d"}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        list_id = data["list_id"]
        with _duplicate_is_conflict(list_id):
            return upstream.post(f"/lists/{list_id}/contacts", json={"base": base_fields(data)})


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
        changes = base_fields(data)
        if not changes:  # nothing to change: still answer 404 for a contact that does not exist
            upstream.get(f"/lists/{list_id}/contacts/{contact}")
            return {"contact_id": contact}
        with _duplicate_is_conflict(list_id):
            return upstream.patch(f"/lists/{list_id}/contacts/{contact}", json={"base": changes})


OPERATIONS = (CreateContact, UpdateContact)
