"""Campaigns that reach status ``sent``, polled from E-goi's Marketing API v3 (``GET /campaigns``).

``GET /campaigns`` filters by ``status`` and by date ranges (``end_date_min``/``end_date_max``, ...)
but orders only by list, name, creator, group or creation date. A campaign reaches ``sent`` when its
sending ends, so its ``end_date`` is when it became sent: the trigger asks for the sent campaigns
whose ``end_date`` is at or after the cursor's ``since``. The cursor::

    {"since": "2024-01-11 10:15:00", "seen": ["c0ffee0001", ...]}

``seen`` holds the hash of every sent campaign whose ``end_date`` is at or after ``since``, so ties
at the same second are told apart, and ``since`` stays ``LOOKBACK`` behind the newest ``end_date``
seen, so a campaign whose status turns ``sent`` a little after its ``end_date`` was written (while a
later one was already seen) is still found. A poll with nothing new is one call, unless more than
a page of campaigns ended within the look-back window. ``seen`` is capped (the cursor travels in a
URL) by moving ``since`` forward. Campaigns listed as sent without an ``end_date`` cannot be
followed by date and are left out.

Dates are compared as E-goi writes them (``YYYY-MM-DD hh:mm:ss``, in the account's time zone):
the trigger never compares them with its own clock.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from actions.egoi.campaigns import CampaignItem
from actions.egoi.fields import CAMPAIGN_CHANNELS, LISTS_DROPDOWN, MAX_PAGE
from connector import fields as f
from connector.declarations import InputSchema
from connector.errors import Problem
from connector.triggers import PollingTrigger
from connector.upstream import UpstreamCall

LOOKBACK = timedelta(minutes=15)
MAX_SEEN = 50  # hashes in the cursor (about 13 characters each)
MAX_PAGES = 20  # pages read in one poll before giving up (an error; the cursor is not advanced)
FORMAT = "%Y-%m-%d %H:%M:%S"
_WHEN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
_HASH = re.compile(r"[A-Za-z0-9_-]{1,64}")


class CampaignSentInput(InputSchema):
    """Optional filters: only campaigns of one channel or of one list."""

    channel = f.Choice(CAMPAIGN_CHANNELS, summary="Channel", description="Only campaigns of this channel.")
    list_id = f.Id(summary="Contact List", description="Only campaigns of this list.", dropdown=LISTS_DROPDOWN)


class CampaignSentEvent(CampaignItem):
    """A campaign that was sent, with ``id`` (its hash) for Zapier and Make."""

    id = f.String(required=True, summary="Event Id", description="The campaign hash: unique and stable.")


def _ended(campaign: dict[str, Any]) -> str:
    value = campaign.get("end_date")
    return value if isinstance(value, str) and _WHEN.fullmatch(value) else ""


def _hash(campaign: Any) -> str:
    value = campaign.get("campaign_hash") if isinstance(campaign, dict) else None
    if not isinstance(value, str) or not value:
        raise Problem(502, "E-goi listed a campaign without a campaign hash.")
    return value


def _event(campaign: dict[str, Any]) -> dict[str, Any]:
    return {**campaign, "id": _hash(campaign)}


def _minus(when: str, delta: timedelta) -> str:
    return (datetime.strptime(when, FORMAT) - delta).strftime(FORMAT)


class WhenCampaignSent(PollingTrigger):
    key = "when_campaign_sent"
    operation_id = "WhenCampaignSent"
    summary = "When a campaign is sent"
    description = "Triggers for each campaign that finishes sending (status sent), of any channel or of the one chosen."
    visibility = "important"
    upstream = "marketing"
    Input = CampaignSentInput
    Event = CampaignSentEvent
    example: dict[str, Any] = {}

    def _query(self, data: dict[str, Any], since: str | None, limit: int) -> dict[str, Any]:
        query: dict[str, Any] = {"status": "sent", "order_by": "created", "order": "desc", "limit": limit}
        query.update({k: data[k] for k in ("channel", "list_id") if data.get(k) is not None})
        if since is not None:
            query["end_date_min"] = since
        return query

    def _page(self, upstream: UpstreamCall, query: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
        body = upstream.get("/campaigns", params=query)
        total = body.get("total_items") if isinstance(body, dict) else None
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(total, int) or not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise Problem(502, "E-goi answered the campaigns with an unexpected body.")
        for item in items:
            _hash(item)
        return total, items

    @staticmethod
    def _cursor(since: str | None, campaigns: list[dict[str, Any]]) -> dict[str, Any]:
        """``since`` moved to ``LOOKBACK`` before the newest end, and then as far as needed to keep
        at most ``MAX_SEEN`` hashes; ``seen`` = every campaign ending at or after it."""
        dated = sorted((c for c in campaigns if _ended(c)), key=_ended, reverse=True)
        if dated:
            window = _minus(_ended(dated[0]), LOOKBACK)
            since = window if since is None or window > since else since
            if sum(1 for c in dated if _ended(c) >= since) > MAX_SEEN:
                since = _ended(dated[MAX_SEEN - 1])  # every tie of that second stays in `seen`
        seen = sorted({_hash(c) for c in dated if since is not None and _ended(c) >= since})
        return {"since": since, "seen": seen}

    @staticmethod
    def _parse(cursor: Any) -> tuple[str | None, set[str]]:
        since = cursor.get("since") if isinstance(cursor, dict) else None
        seen = cursor.get("seen") if isinstance(cursor, dict) else None
        if (
            not isinstance(cursor, dict)
            or not (since is None or (isinstance(since, str) and _WHEN.fullmatch(since)))
            or not isinstance(seen, list)
            or not all(isinstance(h, str) and _HASH.fullmatch(h) for h in seen)
        ):
            raise Problem(
                422,
                "triggerState is not a state of this trigger; start again without it.",
                errors={"triggerState": ["Not a state of this trigger."]},
            )
        return since, set(seen)

    def start(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        """One call: the newest sent campaigns by creation date. (v3 cannot order by end date, so a
        campaign created before those 100 but ended after all of them would be seen as new once.)"""
        _, items = self._page(upstream, self._query(data, None, MAX_PAGE))
        return self._cursor(None, items)

    def poll(self, data: dict[str, Any], upstream: UpstreamCall, cursor: Any) -> tuple[list[dict[str, Any]], Any]:
        since, seen = self._parse(cursor)
        query = self._query(data, since, MAX_PAGE)
        found: dict[str, dict[str, Any]] = {}
        offset = 0
        for _ in range(MAX_PAGES):
            total, items = self._page(upstream, {**query, "offset": offset})
            for item in items:
                found.setdefault(_hash(item), item)
            offset += len(items)
            if not items or offset >= total:
                break
        else:
            raise Problem(503, "Too many sent campaigns to read in one poll; try again later.")
        campaigns = [c for c in found.values() if _ended(c)]
        new = sorted((c for c in campaigns if _hash(c) not in seen), key=lambda c: (_ended(c), _hash(c)))
        return [_event(c) for c in new], self._cursor(since, campaigns)

    def recent(self, data: dict[str, Any], upstream: UpstreamCall, limit: int) -> list[dict[str, Any]]:
        """The most recently created sent campaigns, newest end first: one call."""
        _, items = self._page(upstream, self._query(data, None, min(limit, MAX_PAGE)))
        return [_event(c) for c in sorted(items, key=lambda c: (_ended(c), _hash(c)), reverse=True)]
