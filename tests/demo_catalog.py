"""A small catalog and its emulator for testing the trigger framework on its own.

The emulated upstream keeps items with increasing ids and registers webhook URLs; ``POST /_fire``
makes it call every registered URL over real HTTP with a batch of events, as a vendor would.
``calls`` counts the upstream requests each path received, so tests can check what a poll costs.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import requests
from flask import Flask, jsonify, request

from connector import fields as f
from connector.declarations import Catalog, Credential, InputSchema, OutputSchema, Service
from connector.triggers import PollingTrigger, SubscribeSchema, WebhookTrigger

PAGE = 100


def create_sandbox() -> Flask:
    app = Flask(__name__)
    state: dict[str, Any] = {"items": [], "hooks": {}, "next_hook": 1, "fail": False, "calls": Counter()}
    lock = threading.Lock()
    app.extensions["demo"] = state

    @app.before_request
    def count_and_fail() -> Any:
        if request.path.startswith("/_"):
            return None
        with lock:
            state["calls"][request.path] += 1
        if state["fail"]:
            return jsonify({"error": "unavailable"}), 503
        if request.headers.get("X-Demo-Key", "") in ("", "invalid"):
            return jsonify({"error": "unauthorized"}), 401
        return None

    @app.post("/items")
    def add_items() -> Any:
        names = request.get_json()["names"]
        with lock:
            start = len(state["items"])
            state["items"] += [{"id": start + i + 1, "name": name} for i, name in enumerate(names)]
        return jsonify({"added": len(names)}), 201

    @app.get("/items")
    def items_after() -> Any:
        after, limit = int(request.args.get("after", 0)), int(request.args.get("limit", PAGE))
        with lock:
            return jsonify([item for item in state["items"] if item["id"] > after][:limit])

    @app.get("/items/latest")
    def latest() -> Any:
        limit = int(request.args.get("limit", 10))
        with lock:
            return jsonify(list(reversed(state["items"][-limit:])))

    @app.post("/hooks")
    def add_hook() -> Any:
        with lock:
            hook_id = state["next_hook"]
            state["next_hook"] += 1
            state["hooks"][hook_id] = request.get_json()["url"]
        return jsonify({"hook_id": hook_id}), 201

    @app.delete("/hooks/<int:hook_id>")
    def remove_hook(hook_id: int) -> Any:
        with lock:
            if state["hooks"].pop(hook_id, None) is None:
                return jsonify({"error": "not found"}), 404
        return "", 204

    @app.post("/_fire")
    def fire() -> Any:
        """Sandbox-only: send the body (a batch of events) to every registered hook."""
        with lock:
            urls = list(state["hooks"].values())
        statuses = [requests.post(url, json=request.get_json(), timeout=5).status_code for url in urls]
        return jsonify({"statuses": statuses})

    @app.post("/_fail")
    def set_fail() -> Any:
        state["fail"] = bool(request.get_json()["fail"])
        return jsonify(state["fail"])

    return app


class ListInput(InputSchema):
    prefix = f.String(
        max_length=100, summary="Prefix", description="Only items whose name starts with this.", example="a"
    )


class ItemEvent(OutputSchema):
    id = f.Integer(required=True, summary="Id", description="The item id.")
    name = f.String(required=True, summary="Name", description="The item name.")


class WhenItemCreated(PollingTrigger):
    key = "when_item_created"
    operation_id = "WhenItemCreated"
    summary = "When an item is created"
    description = "Triggers for each new item, newest first."
    Input = ListInput
    Event = ItemEvent

    def start(self, data: dict[str, Any], upstream: Any) -> Any:
        latest = upstream.get("/items/latest", params={"limit": 1})
        return {"after": latest[0]["id"] if latest else 0}

    def poll(self, data: dict[str, Any], upstream: Any, cursor: Any) -> tuple[list[dict[str, Any]], Any]:
        after, new = int(cursor["after"]), []
        while True:
            page = upstream.get("/items", params={"after": after, "limit": PAGE})
            new += page
            if page:
                after = page[-1]["id"]
            if len(page) < PAGE:
                break
        prefix = data.get("prefix") or ""
        return [item for item in new if item["name"].startswith(prefix)], {"after": after}

    def recent(self, data: dict[str, Any], upstream: Any, limit: int) -> list[dict[str, Any]]:
        return upstream.get("/items/latest", params={"limit": limit})


class HookInput(SubscribeSchema):
    kinds = f.List(
        f.String(max_length=50), summary="Kinds", description="Which kinds of events to receive.", example=["created"]
    )


class HookEvent(OutputSchema):
    id = f.String(required=True, summary="Event Id", description="The upstream's event id.")
    kind = f.String(required=True, summary="Kind", description="What happened.")
    name = f.String(summary="Name", description="The item's name.")


class WhenItemEvent(WebhookTrigger):
    key = "when_item_event"
    operation_id = "WhenItemEvent"
    summary = "When something happens to an item"
    description = "Triggers for each event the upstream reports about items."
    Input = HookInput
    Event = HookEvent

    def subscribe(self, data: dict[str, Any], upstream: Any, receiver_url: str) -> dict[str, Any]:
        return {"hook_id": upstream.post("/hooks", json={"url": receiver_url})["hook_id"]}

    def unsubscribe(self, upstream: Any, reference: dict[str, Any]) -> None:
        upstream.delete(f"/hooks/{reference['hook_id']}")

    def split(self, payload: Any, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        kinds = set(data.get("kinds") or ())
        return [(str(e["event_id"]), {"id": str(e["event_id"]), "kind": e["kind"], "name": e.get("name")})
                for e in payload if not kinds or e["kind"] in kinds]  # fmt: skip

    def wants(self, event: dict[str, Any], data: dict[str, Any]) -> bool:
        kinds = data.get("kinds")
        return super().wants(event, data) and (not kinds or event["kind"] in kinds)


catalog = Catalog(
    name="demo",
    title="Demo",
    description="A catalog for testing the trigger framework.",
    version="1.0.0",
    credential=Credential(header="X-Demo-Key"),
    services=(Service("demo", "Demo API", "DEMO_API_URL", "X-Demo-Key"),),
    operations=(),
    triggers=(WhenItemCreated, WhenItemEvent),
    publisher="Connector tests",
    brand_color="#123456",
    contact={"name": "Connector tests", "url": "https://example.com/demo"},
    metadata={"Website": "https://example.com/", "Privacy policy": "https://example.com/privacy", "Categories": "IT"},
    sandbox=create_sandbox,
)
