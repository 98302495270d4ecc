"""Campaigns (Marketing API v3): list them with the filters of E-goi's campaign search."""

from __future__ import annotations

from typing import Any

from actions.egoi.fields import (
    CAMPAIGN_CHANNELS,
    CAMPAIGN_ORDER_BY,
    CAMPAIGN_STATUSES,
    HASH_MAX,
    LISTS_DROPDOWN,
    NAME_MAX,
    ORDER,
)
from actions.egoi.schemas import PageInput
from connector import fields as f
from connector.declarations import Action, OutputSchema, paged
from connector.upstream import UpstreamCall

LABELS = {
    "created": "Created",
    "updated": "Updated",
    "start_date": "Started",
    "end_date": "Ended",
    "schedule_date": "Scheduled",
}


def _when(prefix: str, end: str) -> f.DateTime:
    """One end of one of E-goi's date range filters (``created_min``, ``created_max``, ...)."""
    label = LABELS[prefix]
    return f.DateTime(
        summary=f"{label} {'From' if end == 'min' else 'Until'}",
        description=f"Only campaigns {label.lower()} {'at or after' if end == 'min' else 'at or before'} "
        "this time, as yyyy-MM-dd HH:mm:ss (UTC) or ISO 8601 with an offset.",
        visibility="advanced",
        example="2024-01-01 00:00:00" if end == "min" else "2024-12-31 23:59:59",
    )


class ListCampaignsInput(PageInput):
    """Filters, order and page of the account's campaigns; every filter is optional."""

    channel = f.Choice(CAMPAIGN_CHANNELS, summary="Channel", description="Only campaigns of this channel.")
    status = f.Choice(CAMPAIGN_STATUSES, summary="Status", description="Only campaigns in this status.")
    list_id = f.Id(
        summary="Contact List",
        description="Only campaigns of this list.",
        example=1,
        dropdown=LISTS_DROPDOWN,
    )
    campaign_hash = f.String(
        max_length=HASH_MAX,
        summary="Campaign Hash",
        description="Only the campaign with this hash.",
        visibility="advanced",
    )
    internal_name = f.String(
        max_length=NAME_MAX,
        summary="Internal Name",
        description="Only campaigns with this internal name.",
        visibility="advanced",
    )
    created_by = f.Id(
        summary="Created By", description="Only campaigns created by this user id.", visibility="advanced"
    )
    group_id = f.Id(summary="Group", description="Only campaigns of this campaign group.", visibility="advanced")
    created_min = _when("created", "min")
    created_max = _when("created", "max")
    updated_min = _when("updated", "min")
    updated_max = _when("updated", "max")
    start_date_min = _when("start_date", "min")
    start_date_max = _when("start_date", "max")
    end_date_min = _when("end_date", "min")
    end_date_max = _when("end_date", "max")
    schedule_date_min = _when("schedule_date", "min")
    schedule_date_max = _when("schedule_date", "max")
    order = f.Choice(
        ORDER, summary="Order", description="Ascending or descending order.", visibility="advanced", load_default="desc"
    )
    order_by = f.Choice(
        CAMPAIGN_ORDER_BY,
        summary="Order By",
        description="What to order the campaigns by.",
        visibility="advanced",
        load_default="created",
    )


class ScheduleDate(OutputSchema):
    enabled = f.Boolean(summary="Scheduled", description="True when the campaign was scheduled.")
    date = f.Timestamp(
        summary="Schedule Date", description="When the campaign is scheduled, ISO 8601 (E-goi's time read as UTC)."
    )


class CampaignItem(OutputSchema):
    id = f.Integer(summary="Id", description="The numeric id of the campaign.")
    campaign_hash = f.String(required=True, summary="Campaign Hash", description="The id of the campaign.")
    internal_name = f.String(summary="Internal Name", description="Name of the campaign inside E-goi.")
    title = f.String(summary="Title", description="Subject of the campaign.")
    channel = f.String(summary="Channel", description="Channel: " + ", ".join(CAMPAIGN_CHANNELS) + ".")
    status = f.String(summary="Status", description="Status: " + ", ".join(CAMPAIGN_STATUSES) + ".")
    list_id = f.Integer(summary="List Id", description="The list the campaign is sent to.")
    group_id = f.Integer(summary="Group Id", description="The campaign group.")
    created_by = f.Integer(summary="Created By", description="The id of the user who created the campaign.")
    automation_id = f.Integer(summary="Automation Id", description="The automation the campaign belongs to.")
    processed_messages = f.Integer(summary="Processed Messages", description="Messages processed so far.")
    thumbnail = f.String(summary="Thumbnail", description="Address of the campaign's thumbnail.")
    created = f.Timestamp(
        summary="Created", description="When the campaign was created, ISO 8601 (E-goi's time read as UTC)."
    )
    updated = f.Timestamp(summary="Updated", description="When the campaign last changed, ISO 8601.")
    start_date = f.Timestamp(summary="Start Date", description="When sending started, ISO 8601.")
    end_date = f.Timestamp(summary="End Date", description="When sending ended, ISO 8601.")
    schedule_date = f.Nested(ScheduleDate, summary="Schedule", description="Whether and when it is scheduled.")


class CampaignsOutput(OutputSchema):
    """A page of the campaigns that match the filters."""

    total_items, items = paged(
        CampaignItem, summary="Campaigns", total="Number of campaigns that match.", items="The campaigns of this page."
    )


class ListCampaigns(Action):
    key = "list_campaigns"
    operation_id = "ListCampaigns"
    summary = "List campaigns"
    description = (
        "Returns a page of the account's campaigns, filtered by channel, status, list or date ranges and ordered."
    )
    visibility = "advanced"
    Input = ListCampaignsInput
    Output = CampaignsOutput
    example = {"channel": "email", "status": "sent", "created_min": "2024-01-01 00:00:00", "limit": 10}
    response_example = {
        "total_items": 1,
        "items": [
            {
                "id": 1,
                "campaign_hash": "c0ffee0001",
                "internal_name": "January newsletter",
                "channel": "email",
                "status": "sent",
                "list_id": 1,
                "created": "2024-01-10 09:00:00",
            }
        ],
    }

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        """The filters go upstream as they are: E-goi's parameter names are ours (a date range whose
        min is after its max is not an error there either: it matches nothing)."""
        return upstream.get("/campaigns", params=data)


OPERATIONS = (ListCampaigns,)
