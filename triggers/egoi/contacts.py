"""New contacts of a list, polled from E-goi's Marketing API v3.

How v3 lists contacts: ``GET /lists/{id}/contacts`` takes ``offset`` and ``limit`` and exact-match
filters, and has no ordering parameter and no date filter. The spec documents no order either; the
emulator (``actions/egoi/sandbox/contacts.py``) returns them in creation order, oldest first, so a
new contact is appended at the end and a removed one shifts every later contact down by one. The
trigger relies on exactly that, and on nothing else.

The cursor, small enough for a URL (Power Automate keeps it in ``triggerState``)::

    {"offset": n, "last": "<id at n-1>", "prev": ["<id at n-2>", "<id at n-3>"], "at": "<its subscription_date>"}

``offset`` is how many contacts the list held when it was last read; ``last`` and ``prev`` are the
newest contacts seen (anchors), ``at`` the subscription date of ``last``.

- A poll reads from ``offset - 1`` with one item of overlap: when the first item is ``last``, nothing
  was removed before it and everything after it is new. Nothing new is that one call.
- More than a page (100) new: the next page starts at the last item of the previous one and must
  begin with it, so a removal while the pages are read is noticed too (the read starts again).
- When the item at ``offset - 1`` is not ``last``, contacts before it were removed (positions only
  ever move down): the anchors are looked for backwards from there, newest first, in pages of 1000
  (at most 10 pages). The newest one found marks where the new contacts begin (the anchors were
  consecutive, so if ``last`` itself was removed, what follows ``prev[0]`` is new).
- When no anchor is found (all three removed, or more than 10 000 contacts removed between two
  polls), the contacts at the end of the list subscribed at or after ``at`` are taken as new, which
  may repeat an old contact subscribed in the same second as ``last`` but skips none.
- Any upstream failure raises: nothing is returned with an advanced cursor.

Why there is no "contact updated" polling trigger: v3 exposes ``change_date`` only as a date (no
time), with no filter on it and no ordering by it, so finding the contacts changed since the last
poll means reading the whole list at every poll, and two changes on the same day cannot be told
apart. The ``WhenContactEvent`` webhook trigger with the ``edit_subscription`` action covers it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from actions.egoi.fields import list_id
from actions.egoi.schemas import ContactOutput, contact_from_upstream
from connector import fields as f
from connector.declarations import InputSchema
from connector.errors import Problem
from connector.triggers import PollingTrigger
from connector.upstream import UpstreamCall

log = logging.getLogger(__name__)

PAGE = 100  # contacts per page when reading new ones
RECOVERY_PAGE = 1000  # the spec's maximum: looking for the anchors after removals
MAX_RECOVERY_PAGES = 10
ANCHORS = 3  # last + 2 prev
ATTEMPTS = 3  # reads restarted when the list changes under them
_CONTACT_ID = re.compile(r"[a-fA-F\d]{10}")


class ListInput(InputSchema):
    """The list to watch."""

    list_id = list_id()


class ContactEvent(ContactOutput):
    """A contact of the list, with ``id`` (its contact id) for Zapier and Make."""

    id = f.String(required=True, summary="Event Id", description="The contact id: unique and stable.")


def _id(contact: Any) -> str:
    base = contact.get("base") if isinstance(contact, dict) else None
    contact_id = base.get("contact_id") if isinstance(base, dict) else None
    if not isinstance(contact_id, str):
        raise Problem(502, "E-goi listed a contact without a contact id.")
    return contact_id


def _subscribed(contact: dict[str, Any]) -> str:
    value = contact["base"].get("subscription_date")
    return value if isinstance(value, str) else ""


def _page(upstream: UpstreamCall, list_id_: int, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """(total_items, items) of one page; a body not in ContactCollection's shape is a 502."""
    body = upstream.get(f"/lists/{list_id_}/contacts", params={"offset": offset, "limit": limit})
    total = body.get("total_items") if isinstance(body, dict) else None
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(total, int) or not isinstance(items, list):
        raise Problem(502, "E-goi answered the contacts of the list with an unexpected body.")
    for item in items:
        _id(item)
    return total, items


def _event(list_id_: int, contact: dict[str, Any]) -> dict[str, Any]:
    event = contact_from_upstream(list_id_, contact)
    return {**event, "id": event["contact_id"]}


class _Moved(Exception):
    """The list changed between two pages of one read: start the read again."""


class WhenContactCreated(PollingTrigger):
    key = "when_contact_created"
    operation_id = "WhenContactCreated"
    summary = "When a contact is added to a list"
    description = "Triggers for each new contact of the chosen list, with its fields, extra fields and tags."
    visibility = "important"
    upstream = "marketing"
    Input = ListInput
    Event = ContactEvent
    example = {"list_id": 1}

    # --- cursor ------------------------------------------------------------------------------------

    @staticmethod
    def _cursor(total: int, tail: list[dict[str, Any]]) -> dict[str, Any]:
        """The cursor after a read whose last items (oldest first) are ``tail`` and the list ``total`` long."""
        if not tail:  # only when the list was empty when read
            return {"offset": 0, "last": None, "prev": [], "at": None}
        ids = [_id(c) for c in tail[-ANCHORS:]][::-1]
        return {"offset": total, "last": ids[0], "prev": ids[1:], "at": _subscribed(tail[-1]) or None}

    @staticmethod
    def _parse(cursor: Any) -> tuple[int, list[str], str | None]:
        problem = Problem(
            422,
            "triggerState is not a state of this trigger; start again without it.",
            errors={"triggerState": ["Not a state of this trigger."]},
        )
        if not isinstance(cursor, dict):
            raise problem
        offset, last, prev, at = cursor.get("offset"), cursor.get("last"), cursor.get("prev", []), cursor.get("at")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise problem
        anchors = ([] if last is None else [last]) + (prev if isinstance(prev, list) else [None])
        if not all(isinstance(a, str) and _CONTACT_ID.fullmatch(a) for a in anchors) or len(anchors) > ANCHORS:
            raise problem
        if (offset == 0) != (not anchors) or (at is not None and not isinstance(at, str)):
            raise problem
        return offset, anchors, at

    # --- trigger -----------------------------------------------------------------------------------

    def start(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        """The end of the list: one call for an empty list, two otherwise (v3 cannot read the last
        contact without knowing how many there are)."""
        list_id_ = data["list_id"]
        total, items = _page(upstream, list_id_, 0, 1)
        if total <= len(items):
            return self._cursor(len(items), items)
        low = max(0, total - ANCHORS)
        _, items = _page(upstream, list_id_, low, total - low)
        return self._cursor(low + len(items), items)

    def poll(self, data: dict[str, Any], upstream: UpstreamCall, cursor: Any) -> tuple[list[dict[str, Any]], Any]:
        list_id_ = data["list_id"]
        offset, anchors, at = self._parse(cursor)
        for _ in range(ATTEMPTS):
            try:
                contacts, total, tail = self._read_new(upstream, list_id_, offset, anchors, at)
            except _Moved:
                continue
            return [_event(list_id_, c) for c in contacts], self._cursor(total, tail)
        raise Problem(503, "The contacts of the list kept changing while they were read; try again.")

    def recent(self, data: dict[str, Any], upstream: UpstreamCall, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` contacts, newest first: two calls (the count, then the end)."""
        list_id_, limit = data["list_id"], min(limit, RECOVERY_PAGE)
        total, items = _page(upstream, list_id_, 0, limit)
        if total > len(items):
            _, items = _page(upstream, list_id_, max(0, total - limit), limit)
        return [_event(list_id_, c) for c in reversed(items)]

    # --- reading -----------------------------------------------------------------------------------

    def _read_new(
        self, upstream: UpstreamCall, list_id_: int, offset: int, anchors: list[str], at: str | None
    ) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
        """(new contacts oldest first, the list's length, the last contacts read) or ``_Moved``."""
        if not anchors:  # the list was empty: everything in it is new
            return self._read_forward(upstream, list_id_, -1, None)
        read = self._read_forward(upstream, list_id_, offset - 1, anchors[0], moved_ok=True)
        if read is not None:
            return read
        # `last` is no longer at offset-1: contacts before it were removed.
        found = self._find_anchor(upstream, list_id_, offset - 1, anchors, at)
        if found is not None:
            return self._read_forward(upstream, list_id_, *found)
        return self._read_since(upstream, list_id_, anchors, at)

    def _read_forward(
        self, upstream: UpstreamCall, list_id_: int, position: int, expect: str | None, moved_ok: bool = False
    ) -> Any:
        """The contacts after ``expect``, which must be at ``position`` (-1 and None: from the start).

        The first page also reads the two contacts before ``expect`` (the next cursor's anchors);
        each further page starts with the last contact of the previous one, and when a page does
        not start as expected the list changed under the read: ``_Moved`` (or None for the first
        page when ``moved_ok``)."""
        start = max(0, position - (ANCHORS - 1))
        index = position - start  # where `expect` must be in the page; -1: nowhere
        new: list[dict[str, Any]] = []
        tail: list[dict[str, Any]] = []
        first = True
        while True:
            total, items = _page(upstream, list_id_, start, PAGE)
            if expect is not None and (len(items) <= index or _id(items[index]) != expect):
                if first and moved_ok:
                    return None
                raise _Moved
            new.extend(items[index + 1 :])
            tail = items[-ANCHORS:] if first else (tail + items[1:])[-ANCHORS:]
            if len(items) < PAGE or start + len(items) >= total:
                return new, start + len(items), tail
            start += len(items) - 1
            index, expect, first = 0, _id(items[-1]), False

    def _find_anchor(
        self, upstream: UpstreamCall, list_id_: int, high: int, anchors: list[str], at: str | None
    ) -> tuple[int, str] | None:
        """(position, anchor) of the newest anchor still in the list, looking down from ``high``.
        A page holding a contact subscribed before ``at`` ends the search: the anchors, consecutive
        and subscribed at or just before ``at``, cannot be below a contact older than ``last``."""
        for _ in range(MAX_RECOVERY_PAGES):
            if high < 0:
                return None
            low = max(0, high - RECOVERY_PAGE + 1)
            total, items = _page(upstream, list_id_, low, high - low + 1)
            if total <= low:  # the list is now shorter than this window: look below its end
                high = total - 1
                continue
            ids = [_id(c) for c in items]
            for anchor in anchors:
                if anchor in ids:
                    return low + ids.index(anchor), anchor
            if at is not None and any(_subscribed(c) and _subscribed(c) < at for c in items):
                return None
            high = low - 1
        return None

    def _read_since(
        self, upstream: UpstreamCall, list_id_: int, anchors: list[str], at: str | None
    ) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
        """No anchor is left: the contacts at the end of the list subscribed at or after ``at``
        (read backwards until an older one), or, without ``at``, nothing and the end of the list."""
        total, _ = _page(upstream, list_id_, 0, 1)
        end, high, found = total, total, []
        for page in range(MAX_RECOVERY_PAGES if at is not None else 0):
            if high <= 0:
                break
            low = max(0, high - RECOVERY_PAGE)
            _, items = _page(upstream, list_id_, low, high - low)
            end = low + len(items) if page == 0 else end
            older = [i for i, c in enumerate(items) if _subscribed(c) and _subscribed(c) < at]
            found = [c for c in items[older[-1] + 1 if older else 0 :] if _id(c) not in anchors] + found
            if older:
                break
            high = low
        else:
            log.warning("list %s: the last contacts seen are gone; resuming at the end of the list", list_id_)
        if len(found) >= ANCHORS or not end:
            return found, end, found[-ANCHORS:]
        low = max(0, end - ANCHORS)
        _, tail = _page(upstream, list_id_, low, end - low)
        return found, low + len(tail), tail
