"""Event actions on Ongage's Events & Trigger API: ``/<list_id>/api/events``, or ``/api/events`` for
the account's default list when no ``list_id`` is given ("in each API call you must provide the
List ID that you are working on, otherwise the default List ID will be used":
https://ongage.atlassian.net/wiki/spaces/HELP/pages/947553199/Events+Trigger+API+Methods).

Ongage wraps every answer as ``{"metadata": {"error": bool}, "payload": ...}``; the service's
response hook (:mod:`actions.ongage.responses`) gives the actions the payload. An ESP distribution's ``esps`` is Ongage's associative array ``{esp_id: percent}``;
callers send and receive it as a list of ``{esp_id, percent}``, which a flow builder can fill in.
"""

from __future__ import annotations

from typing import Any

from actions.ongage.schemas import (
    CreateEventInput,
    DeletedOutput,
    EventIdInput,
    EventOutput,
    EventsOutput,
    ListEventsInput,
    UpdateEventInput,
)
from connector.declarations import Action
from connector.errors import Problem
from connector.upstream import UpstreamCall

SERVICE = "Ongage Events API"

EXAMPLE_EVENT = {
    "list_id": 1,
    "name": "Birth date event",
    "based_on": "date_field",
    "date_field_name": "birth_date",
    "annually_event": True,
    "ongoing_event": True,
    "status": True,
    "segments": [60478],
    "distribution": [{"esp_connection_id": 60142, "domain": "default", "percent": 100}],
    "triggers": [
        {
            "based_on": "list_field",
            "email_messages": [2381],
            "days_diff": 0,
            "send_on_days": ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
            "operator": "after",
            "schedule_hour": 10,
            "schedule_minute": 30,
        }
    ],
}
EXAMPLE_RESPONSE = {
    "id": 1,
    **{k: v for k, v in EXAMPLE_EVENT.items() if k != "list_id"},
    "created": "2026-01-01T00:00:00.000Z",
    "modified": "2026-01-01T00:00:00.000Z",
}


# --------------------------------------------------------------------------------------------
# esps: list of {esp_id, percent} on our side, {esp_id: percent} on Ongage's.
# --------------------------------------------------------------------------------------------


def to_ongage(data: dict[str, Any]) -> dict[str, Any]:
    """The event body Ongage takes: everything but the list id, esps as an associative array."""
    body = {k: v for k, v in data.items() if k not in ("list_id", "event_id")}
    if "distribution" in body:
        body["distribution"] = [
            {**entry, "esps": {str(s["esp_id"]): s["percent"] for s in entry["esps"]}} if "esps" in entry else entry
            for entry in body["distribution"]
        ]
    return body


def from_ongage(event: Any) -> Any:
    """An event as our output documents it: esps as a list of {esp_id, percent}."""
    if not isinstance(event, dict) or not isinstance(event.get("distribution"), list):
        return event
    distribution = []
    for entry in event["distribution"]:
        esps = entry.get("esps") if isinstance(entry, dict) else None
        if isinstance(esps, dict):
            entry = {**entry, "esps": [{"esp_id": _int(k), "percent": v} for k, v in esps.items()]}
        distribution.append(entry)
    return {**event, "distribution": distribution}


def _int(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _events_path(data: dict[str, Any]) -> str:
    """``/<list_id>/api/events``, or ``/api/events`` (the default list) when no list is named."""
    list_id = data.get("list_id")
    return "/api/events" if list_id is None else f"/{list_id}/api/events"


def _event_path(data: dict[str, Any]) -> str:
    return f"{_events_path(data)}/{data['event_id']}"


# --------------------------------------------------------------------------------------------
# Operations. DeleteEvent comes last: the sandbox's fuzzing runs operations in this order.
# --------------------------------------------------------------------------------------------


class CreateEvent(Action):
    key = "create_event"
    operation_id = "CreateEvent"
    summary = "Create an event"
    description = (
        "Creates an event of a list, based on a mailing, a date field or a recurring schedule, with its "
        "triggers and ESP distribution, and returns it."
    )
    visibility = "important"
    Input = CreateEventInput
    Output = EventOutput
    status_code = 201
    example = EXAMPLE_EVENT
    response_example = EXAMPLE_RESPONSE

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        return from_ongage(upstream.post(_events_path(data), json=to_ongage(data)))


class GetEvent(Action):
    key = "get_event"
    operation_id = "GetEvent"
    summary = "Get an event"
    description = "Returns one event of a list with its triggers and ESP distribution."
    visibility = "advanced"
    Input = EventIdInput
    Output = EventOutput
    example = {"list_id": 1, "event_id": 1}
    response_example = EXAMPLE_RESPONSE

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        return from_ongage(upstream.get(_event_path(data)))


class ListEvents(Action):
    key = "list_events"
    operation_id = "ListEvents"
    summary = "List events by name"
    description = "Returns the events of a list that have the given name, sorted and paged as asked."
    visibility = "advanced"
    Input = ListEventsInput
    Output = EventsOutput
    example = {"list_id": 1, "name": "Birth date event"}
    response_example = {"items": [EXAMPLE_RESPONSE]}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        params = {k: data[k] for k in ("name", "sort", "order", "offset", "limit") if k in data}
        found = upstream.get(_events_path(data), params=params)
        if not isinstance(found, list):
            raise Problem(502, f"{SERVICE} answered with something other than a list of events.")
        return {"items": [from_ongage(event) for event in found]}


class UpdateEvent(Action):
    key = "update_event"
    operation_id = "UpdateEvent"
    summary = "Update an event"
    description = "Renames an event and changes its description, ESP connection quotas or global emails limit."
    visibility = "important"
    Input = UpdateEventInput
    Output = EventOutput
    example = {"list_id": 1, "event_id": 1, "name": "Birthday event", "emails_limit": 10000}
    response_example = {**EXAMPLE_RESPONSE, "name": "Birthday event", "emails_limit": 10000}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        return from_ongage(upstream.put(_event_path(data), json=to_ongage(data)))


class ToggleEventStatus(Action):
    key = "toggle_event_status"
    operation_id = "ToggleEventStatus"
    summary = "Toggle the status of an event"
    description = "Deactivates an active event or activates an inactive one, and returns the event."
    visibility = "important"
    Input = EventIdInput
    Output = EventOutput
    example = {"list_id": 1, "event_id": 1}
    response_example = {**EXAMPLE_RESPONSE, "status": False}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        path = _event_path(data)
        event = upstream.put(path + "/status")
        if not (isinstance(event, dict) and isinstance(event.get("status"), bool)):
            event = upstream.get(path)  # the documentation does not say what the toggle answers
        return from_ongage(event)


class DeleteEvent(Action):
    key = "delete_event"
    operation_id = "DeleteEvent"
    summary = "Delete an event"
    description = "Deletes an event of a list; its triggers stop sending."
    visibility = "advanced"
    Input = EventIdInput
    Output = DeletedOutput
    example = {"list_id": 1, "event_id": 2}
    response_example = {"id": 2, "deleted": True}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        upstream.delete(_event_path(data))
        return {"id": data["event_id"], "deleted": True}


OPERATIONS = (CreateEvent, GetEvent, ListEvents, UpdateEvent, ToggleEventStatus, DeleteEvent)
