"""Marketing API v3: bulk contact imports and the operations queue, and the sandbox's call counter.

Paths (under ``/api``): ``POST /lists/{id}/contacts/actions/import-bulk`` (2 or more contacts,
202 ``{"result": "success"}``; the import runs in the background, one at a time in the order
received) and ``GET /operations`` (the queue: imports not finished yet; an import leaves it when
done, as E-goi's does). https://developers.e-goi.com/api/v3/

Sandbox only, without a key: ``GET /_sandbox/imports`` lists every import received, newest first,
with its status and report (imported, updated, ignored, invalid: the counts E-goi's import
callback carries); ``POST /_sandbox/imports/hold`` keeps new imports queued until
``POST /_sandbox/imports/release``, so a test can see one pending; ``GET /_sandbox/requests``
counts the calls each API has answered (what a benchmark reports as upstream calls).
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask import Response, jsonify, request

from actions.egoi.sandbox import webhooks
from actions.egoi.sandbox.contacts import (
    _CREATE_ENUMS,
    _apply,
    _check_base,
    _check_extra,
    _merge_extra,
    _new_base,
    get_list_contacts,
    list_fields_of,
)
from actions.egoi.sandbox.core import (
    SandboxError,
    State,
    current_state,
    inspect,
    is_int,
    json_object,
    marketing,
    page,
    query_enum,
    timestamp,
    transactional,
)

MODES = ("add", "update", "update_only")
COMPARE_FIELDS = ("email", "cellphone")  # the unique base fields of a list
OPERATION_TYPES = ("import_contacts", "update_contacts", "export_contacts", "attach_tag", "detach_tag")
QUEUE_STATUSES = ("queued", "processing", "executing", "paused")


@dataclass
class Imports:
    """Every import received (``history``, oldest first) and those not yet run (``queue``)."""

    history: list[dict[str, Any]] = field(default_factory=list)
    queue: list[dict[str, Any]] = field(default_factory=list)
    held: bool = False
    worker: threading.Thread | None = None
    calls: Counter = field(default_factory=Counter)


def _imports(state: State) -> Imports:
    return state.store("imports", Imports)


@marketing.before_request
def _count_marketing() -> None:
    _count("marketing")


@transactional.before_request
def _count_transactional() -> None:
    _count("transactional")


def _count(api: str) -> None:
    state = current_state()
    with state.lock:
        _imports(state).calls[api] += 1


@marketing.post("/lists/<int:list_id>/contacts/actions/import-bulk")
def import_bulk(list_id: int) -> tuple[Response, int]:
    body = json_object()
    errors: dict[str, list[str]] = {}
    mode, compare, contacts = body.get("mode"), body.get("compare_field"), body.get("contacts")
    if mode not in MODES:
        errors["mode"] = [f"is required and must be one of: {', '.join(MODES)}"]
    if compare not in COMPARE_FIELDS:
        errors["compare_field"] = [f"is required and must be a unique field: {', '.join(COMPARE_FIELDS)}"]
    if not isinstance(contacts, list) or len(contacts) < 2:
        errors["contacts"] = ["is required: an array of at least 2 contacts (use Create new contact for one)"]
    if not isinstance(body.get("force_empty", False), bool):
        errors["force_empty"] = ["must be a boolean"]
    notify = body.get("notify", [])
    if not isinstance(notify, list) or not all(is_int(n) for n in notify):
        errors["notify"] = ["must be an array of user ids"]
    if errors:
        raise SandboxError(422, "The import request is not valid", errors)
    state = current_state()
    with state.lock:
        get_list_contacts(state, list_id)
        store = _imports(state)
        operation = {
            "operation_id": len(store.history) + 1,
            "type": "import_contacts",
            "status": "queued",
            "created": timestamp(),
            "start_date": None,
            "created_by": 1,
            "operation_data": {"internal_name": state.lists[list_id]["internal_name"]},
            # kept by the sandbox, not shown in the queue
            "list_id": list_id,
            "mode": mode,
            "compare_field": compare,
            "force_empty": body.get("force_empty", False),
            "contacts": contacts,
            "report": None,
        }
        store.history.append(operation)
        store.queue.append(operation)
        _start_worker(state, store)
    return jsonify({"result": "success"}), 202


_QUEUE_KEYS = ("operation_id", "type", "status", "created", "start_date", "created_by", "operation_data")


@marketing.get("/operations")
def list_operations() -> Response:
    """The operations queue, newest first: only imports are emulated, and only until they finish."""
    wanted_type = request.args.get("type")
    if wanted_type is not None:
        query_enum("type", "import_contacts", OPERATION_TYPES)
    wanted_status = request.args.get("status")
    if wanted_status is not None:
        query_enum("status", "queued", QUEUE_STATUSES)
    state = current_state()
    with state.lock:
        items = [{k: op[k] for k in _QUEUE_KEYS} for op in reversed(_imports(state).queue)]
    items = [item for item in items if wanted_type in (None, item["type"]) and wanted_status in (None, item["status"])]
    for item in items:
        item["start_date"] = item["start_date"] or ""
    return page(items)


@inspect.get("/imports")
def imports_received() -> Response:
    state = current_state()
    with state.lock:
        items = [
            {
                "operation_id": op["operation_id"],
                "list_id": op["list_id"],
                "mode": op["mode"],
                "compare_field": op["compare_field"],
                "status": op["status"],
                "contacts": len(op["contacts"]),
                "report": op["report"],
            }
            for op in reversed(_imports(state).history)
        ]
    return jsonify(items)


@inspect.post("/imports/hold")
def hold_imports() -> Response:
    state = current_state()
    with state.lock:
        _imports(state).held = True
    return jsonify({"held": True})


@inspect.post("/imports/release")
def release_imports() -> Response:
    state = current_state()
    with state.lock:
        store = _imports(state)
        store.held = False
        _start_worker(state, store)
    return jsonify({"held": False})


@inspect.get("/requests")
def requests_answered() -> Response:
    state = current_state()
    with state.lock:
        calls = dict(_imports(state).calls)
    return jsonify({"marketing": calls.get("marketing", 0), "transactional": calls.get("transactional", 0)})


def _start_worker(state: State, store: Imports) -> None:
    """One background thread per sandbox runs the queue in order (call under the lock)."""
    if store.worker is None and store.queue and not store.held:
        store.worker = threading.Thread(target=_work, args=(state,), name="egoi-sandbox-imports", daemon=True)
        store.worker.start()


def _work(state: State) -> None:
    while True:
        with state.lock:
            store = _imports(state)
            if store.held or not store.queue:
                store.worker = None
                return
            operation = store.queue[0]
            operation["status"] = "processing"
            operation["start_date"] = timestamp()
            operation["report"] = _run(state, operation)
            operation["status"] = "finished"
            store.queue.pop(0)


def _run(state: State, operation: dict[str, Any]) -> dict[str, int]:
    """Apply an import to its list (under the lock) and count what happened to each contact."""
    list_id, mode, compare = operation["list_id"], operation["mode"], operation["compare_field"]
    contacts = get_list_contacts(state, list_id)
    fields = list_fields_of(state, list_id)
    # one index per unique field, so an import of n contacts costs n look-ups, not n x list size
    index = {
        name: {str(c["base"].get(name, "")).casefold(): cid for cid, c in contacts.items() if c["base"].get(name)}
        for name in COMPARE_FIELDS
    }
    report = {"imported": 0, "updated": 0, "ignored": 0, "invalid": 0}
    for item in operation["contacts"]:
        values, errors = _check_base(item.get("base") if isinstance(item, dict) else None, _CREATE_ENUMS)
        extra, extra_errors = _check_extra(item.get("extra", []) if isinstance(item, dict) else [], fields, list_id)
        key = str(values.get(compare, "")).casefold()
        if errors or extra_errors or not key:
            report["invalid"] += 1
            continue
        if not operation["force_empty"]:
            values = {name: value for name, value in values.items() if value != ""}
        existing = index[compare].get(key)
        others = {index[n].get(str(values[n]).casefold()) for n in COMPARE_FIELDS if n != compare and values.get(n)}
        if others - {None, existing}:  # its other unique field belongs to another contact
            report["invalid"] += 1
        elif existing is None and mode != "update_only":
            contact_id = _new_id(state)
            base = _apply({**_new_base(contact_id), "subscription_method": "imported"}, values)
            contacts[contact_id] = {"base": base, "extra": _merge_extra([], extra), "tags": []}
            _index(index, base, contact_id)
            webhooks.fire_contact(state, list_id, "subscription", contacts[contact_id])
            report["imported"] += 1
        elif existing is not None and mode != "add":
            contact = contacts[existing]
            previous = contact["base"]
            contact["base"] = _apply(dict(previous), values)
            contact["base"]["change_date"] = timestamp()[:10]
            contact["extra"] = _merge_extra(contact["extra"], extra)
            _index(index, contact["base"], existing)
            webhooks.contact_updated(state, list_id, previous, contact)
            report["updated"] += 1
        else:
            report["ignored"] += 1
    return report


def _index(index: dict[str, dict[str, str]], base: dict[str, Any], contact_id: str) -> None:
    for name in COMPARE_FIELDS:
        if base.get(name):
            index[name][str(base[name]).casefold()] = contact_id


def _new_id(state: State) -> str:
    contact_id = secrets.token_hex(5)
    while any(contact_id in listed for listed in state.contacts.values()):
        contact_id = secrets.token_hex(5)
    return contact_id
