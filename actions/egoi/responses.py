"""What E-goi's answers mean, declared once per service (``Service.on_response``) rather than
around each call: the statuses and bodies whose meaning depends on the call they answer.

Everything else keeps the framework's status table (:meth:`connector.upstream.UpstreamResponse.data`).
"""

from __future__ import annotations

import re
from typing import Any

from connector.errors import Problem
from connector.upstream import UpstreamError, UpstreamResponse

# Marketing API v3 (https://developers.e-goi.com/api/v3/)
CONTACTS = re.compile(r"/lists/(?P<list_id>[^/]+)/contacts")
CONTACT = re.compile(r"/lists/(?P<list_id>[^/]+)/contacts/[^/]+")
CONTACT_SEARCH = "/contacts/search"
# Transactional API v2 (https://developers.e-goi.com/api/transactional/)
VERIFY_REQUEST = re.compile(r"/verify/(?P<request_id>[^/]+)")
VERIFY_ACTION = re.compile(r"/verify/(?P<request_id>[^/]+)/(?:validate|cancel|resend)")
CANCEL_MESSAGE = re.compile(r"/messages/(?P<message_id>[^/]+)/action/cancel")


class ContactConflict(UpstreamError):
    """E-goi's 409 (PostContactsConflict) on a contact write: another contact of the list already
    has its email, cellphone or phone. ``existing`` is that contact's id, when E-goi names it."""

    def __init__(self, response: UpstreamResponse, list_id: str) -> None:
        self.existing = _existing_id(response.body)
        detail = f"A contact with this email, cellphone or phone already exists in list {list_id}"
        detail += f": contact {self.existing}." if self.existing else "."
        super().__init__(
            409,
            detail,
            errors={"email": ["Already used by another contact of this list."]},
            upstream_status=response.status,
            upstream_body=response.body,
            contact_id=self.existing,
        )


def _existing_id(body: Any) -> str | None:
    """PostContactsConflict lists the contacts already using the unique field in ``errors.contacts``."""
    errors = body.get("errors") if isinstance(body, dict) else None
    contacts = errors.get("contacts") if isinstance(errors, dict) else None
    existing = contacts[0] if isinstance(contacts, list) and contacts else None
    return existing if isinstance(existing, str) else None


def marketing_response(response: UpstreamResponse) -> Any:
    """Marketing API v3: a contact write that collides is our 409 with the existing contact's id,
    and a contact search without a match (a 404 there) is an empty result."""
    status = response.status
    if status == 409:
        written = CONTACTS if response.method == "POST" else CONTACT if response.method == "PATCH" else None
        match = written.fullmatch(response.path) if written else None
        if match:
            raise ContactConflict(response, match["list_id"])
    elif status == 404 and response.method == "GET" and response.path == CONTACT_SEARCH:
        return {"items": []}
    return response.data()


def verify_not_found(request_id: str) -> Problem:
    return Problem(404, f"No verification request has the id {request_id}.", kind="verify-not-found")


def transactional_response(response: UpstreamResponse) -> Any:
    """Transactional API v2: a verification request it does not know is our 404 naming it, and a
    message it refuses to cancel (a 400 to an id that passed our checks) is not cancellable: 409."""
    status = response.status
    if status == 404:
        pattern = VERIFY_REQUEST if response.method == "GET" else VERIFY_ACTION if response.method == "POST" else None
        match = pattern.fullmatch(response.path) if pattern else None
        if match:
            raise verify_not_found(match["request_id"])
    elif status == 400 and response.method == "DELETE" and (match := CANCEL_MESSAGE.fullmatch(response.path)):
        raise Problem(
            409,
            f"Message {match['message_id']} cannot be cancelled: only a scheduled message that has not been sent can.",
        )
    return response.data()
