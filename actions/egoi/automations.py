"""Automations (Marketing API v3): list them with E-goi's filters, and delete one."""

from __future__ import annotations

from typing import Any

from actions.egoi.fields import AUTOMATION_ORDER_BY, AUTOMATION_STATUSES, LISTS_DROPDOWN, NAME_MAX, ORDER
from actions.egoi.schemas import PageInput
from connector import fields as f
from connector.declarations import Action, InputSchema, OutputSchema, paged
from connector.upstream import UpstreamCall


class ListAutomationsInput(PageInput):
    """Filters, order and page of the account's automations; every filter is optional."""

    status = f.Choice(AUTOMATION_STATUSES, summary="Status", description="Only automations in this status.")
    list_id = f.Id(
        summary="Contact List", description="Only automations of this list.", example=1, dropdown=LISTS_DROPDOWN
    )
    title = f.String(
        max_length=NAME_MAX, summary="Title", description="Only automations with this title.", visibility="advanced"
    )
    automation_id = f.Id(
        summary="Automation Id", description="Only the automation with this id.", visibility="advanced"
    )
    created_by = f.Id(
        summary="Created By", description="Only automations created by this user id.", visibility="advanced"
    )
    order = f.Choice(
        ORDER, summary="Order", description="Ascending or descending order.", visibility="advanced", load_default="desc"
    )
    order_by = f.Choice(
        AUTOMATION_ORDER_BY,
        summary="Order By",
        description="What to order the automations by.",
        visibility="advanced",
        load_default="automation_id",
    )


class AutomationItem(OutputSchema):
    automation_id = f.Integer(required=True, summary="Automation Id", description="The id of the automation.")
    title = f.String(summary="Title", description="Title of the automation.")
    list_id = f.Integer(summary="List Id", description="The list that owns the automation.")
    status = f.String(summary="Status", description="Status of the automation: active or inactive.")
    created_by = f.Integer(summary="Created By", description="The id of the user who created the automation.")
    allow_multiple_contacts = f.Boolean(
        summary="Allows Repeat Contacts", description="True when a contact may go through the automation again."
    )
    contact_limit = f.Integer(summary="Contact Limit", description="Most contacts the automation takes (0: no limit).")
    created = f.String(summary="Created", description="When the automation was created.")
    updated = f.String(summary="Updated", description="When the automation last changed.")


class AutomationsOutput(OutputSchema):
    """A page of the automations that match the filters."""

    total_items, items = paged(
        AutomationItem,
        summary="Automations",
        total="Number of automations that match.",
        items="The automations of this page.",
    )


class ListAutomations(Action):
    key = "list_automations"
    operation_id = "ListAutomations"
    summary = "List automations"
    description = "Returns a page of the account's automations, filtered by status, list, title or creator and ordered."
    visibility = "advanced"
    Input = ListAutomationsInput
    Output = AutomationsOutput
    example = {"status": "active", "limit": 10}
    response_example = {
        "total_items": 1,
        "items": [{"automation_id": 1, "title": "Welcome series", "list_id": 1, "status": "active"}],
    }

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        return upstream.get("/automations", params=data)


class DeleteAutomationInput(InputSchema):
    """The automation to delete."""

    automation_id = f.Id(
        required=True,
        summary="Automation",
        description="The id of the automation to delete.",
        visibility="important",
        example=2,
    )


class DeletedAutomationOutput(OutputSchema):
    """The id of the automation deleted."""

    automation_id = f.Integer(required=True, summary="Automation Id", description="The id of the automation deleted.")


class DeleteAutomation(Action):
    key = "delete_automation"
    operation_id = "DeleteAutomation"
    summary = "Delete an automation"
    description = "Deletes an automation of the account by its id; an id that does not exist answers 404."
    visibility = "advanced"
    Input = DeleteAutomationInput
    Output = DeletedAutomationOutput
    errors = (409,)  # E-goi documents a 409 for this call
    example = {"automation_id": 2}
    response_example = {"automation_id": 2}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        upstream.delete(f"/automations/{data['automation_id']}")
        return {"automation_id": data["automation_id"]}


OPERATIONS = (ListAutomations, DeleteAutomation)
