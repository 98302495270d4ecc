"""Webhooks of both E-goi APIs: registering them, and firing them over real HTTP when the sandbox changes.

Management endpoints (key header required, like every E-goi path):

- Marketing v3 (``/api``): ``GET /webhooks`` (``{total_items, items}``, paged by ``offset``/``limit`` 1-1000,
  oldest first), ``POST /webhooks`` (schema ``Webhook``: ``list_id``, ``url``, ``actions`` required, ``fields``
  optional; answers **200** with the stored ``Webhook``, ``webhook_id`` included, as the spec says) and
  ``DELETE /webhooks/{webhook_id}`` (204; 404 when unknown). Checks: ``list_id`` an integer of an existing list,
  ``url`` an ``http://`` or ``https://`` URL with a host ("Only 'http' or 'https' protocols are supported"),
  ``actions`` a non-empty array of unique ``WebhookActionSchema`` values, ``fields`` an array of field ids of
  the list (``GET /lists/{id}/fields``: ``email``, ``cellphone``, ``phone``, ``first_name``, ``last_name``,
  ``birth_date``, ``language`` or an extra field id such as ``"1"``). Every problem is a 422 with
  ``errors: {field: [messages]}``, the unknown list included (the spec lists no 404 for this path).
- Transactional v2 (``/slingshot/api/v2``): ``GET /webhooks[?channel=email|sms|push]`` (a bare array of
  ``{id, channel, callbackUrl, actions}``; another channel value returns all), ``POST /webhooks`` (oneOf
  ``Webhook_Email|Webhook_Sms|Webhook_Push``: ``url`` and ``channel`` required, ``actions`` optional and from the
  channel's enum; **201** ``{"webhookId": "1"}``; anything wrong is a 400, the only error the spec lists) and
  ``DELETE /webhooks?id=…[&channel=…]`` (204; the older documented form ``?url=…`` works too; 400 without ``id`` or
  ``url``, 404 when nothing matches). Sandbox choices where the spec is silent: a missing or empty ``actions``
  captures every event of the channel; ``delivered`` is accepted for email although the enum omits it (the
  docs' Email Hooks table lists it); a scheme-less ``url`` like the spec's ``www.your-server/webhook/events``
  is called as ``http://…``.

Callback bodies. Every callback is an HTTP ``POST`` with ``Content-Type: application/json`` whose body is an
array of events ``{"action", "actionDate", "data"}`` (the Transactional docs' "event list"). ``actionDate`` is
milliseconds since the epoch (an integer, as in E-goi's example), strictly increasing within one sandbox.
Normally one event per POST; see "Batches" below.

Transactional events (documented shape; ``messageId`` is an **integer** there, while the send answer gives it
as a string; ``customData`` only when the message had one; ``groupId`` 1 is the group ``default``, other
group names get 2, 3… in order of first use; ``recipientId`` is a stable number per address)::

    [{"action": "processed", "actionDate": 1714557600123,
      "data": {"recipientMobile": "351-912345678", "groupId": 1, "recipientId": 1,
               "senderMobile": "351-910000000", "messageId": 2, "customData": "order-42",
               "createDate": 1714557600000}}]
    [{"action": "delivered", "actionDate": 1714557600125,
      "data": {"groupId": 1, "recipientId": 2, "messageId": 3, "createDate": 1714557600000,
               "recipientEmail": "ana@example.com"}}]

Email events go to every address of ``to``, ``cc`` and ``bcc``, in that order, each with its own
``recipientId``. Actions per channel: SMS ``processed sent delivered failed canceled``; email ``processed sent
delivered failed bounce canceled view click abuse remove``.

Marketing v3 events. E-goi's use-case page names the actions but the references here do not show their body,
so the sandbox uses the same envelope with a contact in v3's own shape (the sandbox's choice, documented here
so that a trigger can parse it)::

    [{"action": "subscription", "actionDate": 1714557600123,
      "data": {"list_id": 1, "contact_id": "a1b2c3d4e5",
               "base": {"contact_id": "a1b2c3d4e5", "status": "active", "consent": "consent",
                        "email": "ana@example.com", "first_name": "Ana"},
               "extra": [{"field_id": 1, "format": "text", "value": "Acme"}]}}]

``base`` always has ``contact_id``, ``status`` and ``consent``; then the webhook's ``fields`` that the contact
has, or, without ``fields``, every base field of the contact (as ``GET /lists/{id}/contacts/{id}`` shows them);
``extra`` holds the extra fields named in ``fields`` (all of them without ``fields``). Fired: ``subscription``
on ``POST /lists/{id}/contacts``; on ``PATCH`` ``edit_subscription``, then ``resubscription`` when the status
leaves ``removed``, ``change_consent`` when ``consent`` changes, and ``email_field_disable`` /
``cellphone_field_disable`` / ``phone_field_disable`` when that channel's status goes from active to inactive.
Tags have no E-goi action, so attach/detach fire nothing; the sandbox has no unsubscribe path, so
``unsubscribe`` is never fired.

Lifecycles on send (at once, or when a scheduled message falls due):

==============================  =========================================
recipient                       events
==============================  =========================================
any other number / address      processed, sent, delivered
SMS ``351-910000999``           processed, failed
SMS ``351-910000998``           processed, canceled
email ``failed@example.com``    processed, failed
email ``bounce@example.com``    processed, sent, bounce
email ``canceled@example.com``  canceled ("the recipient's status doesn't allow sending")
==============================  =========================================

(The outbox status of ``GET /_sandbox/sms`` and ``/_sandbox/email`` is not changed by these.)

Sandbox-only endpoints (no key):

- ``POST /_sandbox/messages/{id}/events`` ``{"event": "click", "recipient": "ana@example.com"}``: one more event
  for a sent message (``recipient`` defaults to the first); ``view`` needs ``openTracking`` and ``click``
  ``clickTracking`` on the message (409 otherwise, "available only when tracking is enabled"); 404 for an
  unknown or not yet sent message; 422 for an event the channel does not have. Answers 202 with the event.
- ``GET /_sandbox/webhooks/log``: the callbacks made, newest first: ``{api, webhook_id, url, body, status,
  delivered, attempts, error, date}`` (``status`` is the last HTTP status, null when the connection failed);
  ``DELETE`` clears it. Anyone who can reach the page can read it, and a callback URL is often a capability
  (the service's receiver ``.../hooks/<token>`` accepts whatever is posted to it, and delivers it signed),
  so ``url`` and ``error`` show it as :func:`shown_url` does: scheme, host and port, the path with tokens cut
  to their first 4 characters and ``…`` (as the service's access log shows them), ``?…`` for a query, no
  user name or password. The whole entries are ``dispatcher(app).entries()``, in-process.
- ``POST /_sandbox/webhooks/hold`` then ``POST /_sandbox/webhooks/flush``: batches. While held, events are kept
  per webhook; the flush sends each webhook's events as one array (100 events at most per POST) and goes back
  to one event per POST.
- ``POST /_sandbox/webhooks/wait?timeout=5``: blocks until every queued callback is done (held events do not
  count): 200 ``{"idle": true}``, or 504 ``{"idle": false}`` on timeout. In-process, ``wait_idle(app, timeout)``.

Delivery: one background thread per sandbox, started when there is work and gone when there is none, posts
the callbacks in the order they were fired (so in order per webhook) with ``requests`` and a 3 s timeout; the
emulator's own request never waits for it. A connection error or a non-2xx answer is retried twice (after
0.2 s and 1 s; ``dispatcher(app).retry_delays``), then dropped and logged. E-goi does not document its retry
policy in the references here. Callbacks already queued for a webhook that is then deleted are dropped.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask, Response, current_app, jsonify, request

from actions.egoi.sandbox.core import (
    SandboxError,
    State,
    current_state,
    inspect,
    is_int,
    json_body,
    json_object,
    marketing,
    page,
    timestamp,
    transactional,
)
from connector.accesslog import redact

log = logging.getLogger(__name__)

# WebhookActionSchema of the v3 spec, copied on purpose (see the package docstring).
V3_ACTIONS = (
    "forget_subscription",
    "change_consent",
    "web_push_bounce",
    "web_push_click",
    "web_push_delivered",
    "web_push_open",
    "web_push_send",
    "web_push_subscription",
    "web_push_unsubscription",
    "email_send",
    "email_open",
    "email_click",
    "email_soft_bounce",
    "email_hard_bounce",
    "sms_send",
    "sms_delivered",
    "voice_send",
    "unsubscribe",
    "subscription",
    "edit_subscription",
    "resubscription",
    "facebook_like",
    "social_share",
    "double_optin",
    "email_spam_complaint",
    "email_field_disable",
    "cellphone_field_disable",
    "phone_field_disable",
    "push_send",
    "push_open",
    "push_click",
    "push_received",
    "push_error",
    "push_canceled",
    "new_order",
    "cart_update",
    "goal_conversion",
    "product_view",
)
# Webhook_Email / Webhook_Sms / Webhook_Push enums of the v2 spec; email adds "delivered" (Email Hooks table).
TX_ACTIONS = {
    "email": ("processed", "failed", "sent", "canceled", "click", "view", "remove", "bounce", "abuse", "delivered"),
    "sms": ("processed", "failed", "sent", "delivered", "canceled"),
    "push": ("processed", "failed", "sent", "canceled", "delivered"),
}
# The base field ids of GET /lists/{id}/fields, usable in a v3 webhook's ``fields``.
BASE_FIELD_IDS = ("email", "cellphone", "phone", "first_name", "last_name", "birth_date", "language")

FAIL_SMS = "351-910000999"
CANCEL_SMS = "351-910000998"
FAIL_EMAIL = "failed@example.com"
BOUNCE_EMAIL = "bounce@example.com"
CANCEL_EMAIL = "canceled@example.com"
_SMS_LIFECYCLES = {FAIL_SMS: ("processed", "failed"), CANCEL_SMS: ("processed", "canceled")}
_EMAIL_LIFECYCLES = {
    FAIL_EMAIL: ("processed", "failed"),
    BOUNCE_EMAIL: ("processed", "sent", "bounce"),
    CANCEL_EMAIL: ("canceled",),
}
_NORMAL_LIFECYCLE = ("processed", "sent", "delivered")

TIMEOUT = 3.0
RETRY_DELAYS = (0.2, 1.0)
MAX_BATCH = 100
LOG_SIZE = 1000
_USER_AGENT = "E-goi-Sandbox-Webhooks/1.0"
_TOKEN_LENGTH = 16  # a path segment this long (URL-safe characters) is taken for a token
_TOKEN = re.compile(rf"(?<=/)([A-Za-z0-9_-]{{4}})[A-Za-z0-9_.~%-]{{{_TOKEN_LENGTH - 4},}}")


def shown_url(url: str) -> str:
    """``url`` without the capabilities it may carry, for pages anyone can read: scheme, host and port;
    the path with the service's receiver and subscription tokens (``/hooks/abcd…``, as its access log
    shows them) and any other segment of 16 or more characters cut to its first 4 and ``…``; ``?…``
    for a query string, ``#…`` for a fragment; no user name or password."""
    called = _call_url(url)
    parts = urlsplit(called)
    host = parts.netloc.rpartition("@")[2]
    path = _TOKEN.sub(r"\1…", redact(parts.path))
    shown = f"{parts.scheme}://{host}{path}{'?…' if parts.query else ''}{'#…' if parts.fragment else ''}"
    return shown if called == url else shown.removeprefix(f"{parts.scheme}://")


def _shown_text(text: str | None, url: str) -> str | None:
    """``text`` (an error message) with ``url``, its path and query, and tokens in it hidden."""
    if text is None:
        return None
    parts = urlsplit(_call_url(url))
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    for raw, shown in ((url, shown_url(url)), (_call_url(url), shown_url(_call_url(url)))):
        text = text.replace(raw, shown)
    if target not in ("", "/"):
        shown_target = urlsplit(shown_url(_call_url(url)))
        text = text.replace(target, shown_target.path + ("?…" if parts.query else ""))
    return _TOKEN.sub(r"\1…", redact(text))


def shown_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A log entry as ``GET /_sandbox/webhooks/log`` shows it: no capability in ``url`` or ``error``."""
    return {**entry, "url": shown_url(entry["url"]), "error": _shown_text(entry["error"], entry["url"])}


# --- delivery ------------------------------------------------------------------------------------


@dataclass
class _Delivery:
    api: str  # "marketing" or "transactional"
    hook: dict[str, Any]  # the webhook record; its "active" flag is read before each attempt
    events: list[dict[str, Any]]


class Dispatcher:
    """The firing queue of one sandbox: FIFO deliveries posted by one short-lived worker thread."""

    def __init__(self) -> None:
        self.retry_delays: tuple[float, ...] = RETRY_DELAYS
        self.timeout = TIMEOUT
        self.hold = False
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)  # newest first
        self._cond = threading.Condition()
        self._queue: deque[_Delivery] = deque()
        self._held: dict[tuple[str, Any], _Delivery] = {}
        self._busy = False
        self._thread: threading.Thread | None = None
        self._last_ms = 0

    def stamp(self) -> int:
        """Now in epoch milliseconds, strictly after every earlier stamp (so events keep their order)."""
        with self._cond:
            self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
            return self._last_ms

    def enqueue(self, api: str, hook: dict[str, Any], event: dict[str, Any]) -> None:
        with self._cond:
            if self.hold:
                key = (api, _hook_id(api, hook))
                self._held.setdefault(key, _Delivery(api, hook, [])).events.append(event)
                return
            self._queue.append(_Delivery(api, hook, [event]))
            self._start()

    def hold_events(self) -> None:
        with self._cond:
            self.hold = True

    def entries(self) -> list[dict[str, Any]]:
        """The log, newest first, whole (full URLs and errors): for in-process use, not for pages."""
        with self._cond:
            return list(self.log)

    def clear_log(self) -> None:
        with self._cond:
            self.log.clear()

    def flush(self) -> int:
        """Send the held events, one array per webhook (at most MAX_BATCH per POST); stop holding."""
        with self._cond:
            self.hold = False
            count = 0
            for held in self._held.values():
                for start in range(0, len(held.events), MAX_BATCH):
                    self._queue.append(_Delivery(held.api, held.hook, held.events[start : start + MAX_BATCH]))
                    count += 1
            self._held.clear()
            if count:
                self._start()
            return count

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def _start(self) -> None:  # under _cond
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="egoi-sandbox-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue:
                    self._thread, self._busy = None, False
                    self._cond.notify_all()
                    return
                delivery, self._busy = self._queue.popleft(), True
            try:
                entry = self._deliver(delivery)
            except Exception as exc:  # never let the worker die with work queued
                log.exception("E-goi sandbox webhook delivery crashed")
                entry = self._entry(delivery, None, 0, f"{type(exc).__name__}: {exc}")
            with self._cond:
                self.log.appendleft(entry)
                self._busy = False
                self._cond.notify_all()

    def _deliver(self, delivery: _Delivery) -> dict[str, Any]:
        url = _call_url(_hook_url(delivery.api, delivery.hook))
        payload = json.dumps(delivery.events).encode()
        headers = {"Content-Type": "application/json", "User-Agent": _USER_AGENT}
        status: int | None = None
        error: str | None = "webhook deleted before delivery"
        attempts = 0
        for delay in (0.0, *self.retry_delays):
            if delay:
                time.sleep(delay)
            if not delivery.hook.get("active", True):
                break
            attempts += 1
            try:
                response = requests.post(
                    url, data=payload, headers=headers, timeout=self.timeout, allow_redirects=False
                )
            except requests.RequestException as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
                continue
            status = response.status_code
            if 200 <= status < 300:
                return self._entry(delivery, status, attempts, None)
            error = f"HTTP {status}"
        log.warning(
            "E-goi sandbox dropped a webhook callback to %s after %d attempt(s): %s",
            shown_url(url),
            attempts,
            _shown_text(error, url),
        )
        return self._entry(delivery, status, attempts, error)

    @staticmethod
    def _entry(delivery: _Delivery, status: int | None, attempts: int, error: str | None) -> dict[str, Any]:
        return {
            "api": delivery.api,
            "webhook_id": _hook_id(delivery.api, delivery.hook),
            "url": _hook_url(delivery.api, delivery.hook),
            "body": delivery.events,
            "status": status,
            "delivered": error is None,
            "attempts": attempts,
            "error": error,
            "date": timestamp(),
        }


def _hook_id(api: str, hook: dict[str, Any]) -> Any:
    return hook["webhook_id"] if api == "marketing" else hook["id"]


def _hook_url(api: str, hook: dict[str, Any]) -> str:
    return hook["url"] if api == "marketing" else hook["callbackUrl"]


def _call_url(url: str) -> str:
    return url if "://" in url else f"http://{url}"


def _registry(state: State) -> dict[str, Any]:
    """Webhooks of both APIs, the messages sent (for the simulate endpoint) and the numbering (under lock)."""
    return state.store(
        "webhooks",
        lambda: {
            "v3": {},
            "v3_next": 1,
            "tx": {},
            "tx_next": 1,
            "messages": {},
            "recipients": {},
            "groups": {"default": 1},
        },
    )


def _dispatcher(state: State) -> Dispatcher:
    return state.store("webhook_dispatcher", Dispatcher)


def dispatcher(app: Flask) -> Dispatcher:
    """The sandbox's firing queue (tests may shorten ``retry_delays`` and ``timeout``)."""
    with app.app_context():
        state = current_state()
    with state.lock:
        return _dispatcher(state)


def wait_idle(app: Flask, timeout: float = 5.0) -> bool:
    """Block until every fired callback has been posted (or dropped); False when ``timeout`` ran out."""
    return dispatcher(app).wait_idle(timeout)


# --- firing (called by the other modules, under the state lock) ----------------------------------


def fire_contact(state: State, list_id: int, action: str, contact: dict[str, Any]) -> None:
    """Queue ``action`` for ``contact`` (a stored contact: ``base``, ``extra``, ``tags``) to the list's
    v3 webhooks that listen to it."""
    hooks = [h for h in _registry(state)["v3"].values() if h["list_id"] == list_id and action in h["actions"]]
    if not hooks:
        return
    queue = _dispatcher(state)
    date = queue.stamp()
    for hook in hooks:
        data = _contact_data(list_id, contact, hook["fields"])
        queue.enqueue("marketing", hook, {"action": action, "actionDate": date, "data": data})


def contact_updated(state: State, list_id: int, before: dict[str, Any], contact: dict[str, Any]) -> None:
    """A PATCH changed ``contact`` whose base was ``before``: ``edit_subscription`` and what else changed."""
    after = contact["base"]
    actions = ["edit_subscription"]
    if before.get("status") == "removed" and after.get("status") != "removed":
        actions.append("resubscription")
    if before.get("consent") != after.get("consent"):
        actions.append("change_consent")
    for channel in ("email", "cellphone", "phone"):
        if before.get(f"{channel}_status") == "active" and after.get(f"{channel}_status") == "inactive":
            actions.append(f"{channel}_field_disable")
    for action in actions:
        fire_contact(state, list_id, action, contact)


def _contact_data(list_id: int, contact: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    base = contact["base"]
    data_base = {name: base.get(name) for name in ("contact_id", "status", "consent")}
    if fields:
        data_base.update({name: base[name] for name in fields if name in BASE_FIELD_IDS and name in base})
        extra = [item for item in contact["extra"] if str(item["field_id"]) in fields]
    else:
        data_base.update(base)
        extra = contact["extra"]
    return copy.deepcopy({"list_id": list_id, "contact_id": base["contact_id"], "base": data_base, "extra": extra})


def fire_message(state: State, record: dict[str, Any]) -> None:
    """A transactional SMS or email (its outbox record) was just sent: queue each recipient's lifecycle."""
    messages = _registry(state)["messages"]
    messages[record["messageId"]] = record
    channel = _channel(record)
    for recipient in _recipients(record):
        lifecycle = (_SMS_LIFECYCLES if channel == "sms" else _EMAIL_LIFECYCLES).get(
            recipient.casefold(), _NORMAL_LIFECYCLE
        )
        for action in lifecycle:
            _fire_tx(state, channel, record, recipient, action)


def _fire_tx(state: State, channel: str, record: dict[str, Any], recipient: str, action: str) -> int:
    registry = _registry(state)
    hooks = [
        h for h in registry["tx"].values() if h["channel"] == channel and (not h["actions"] or action in h["actions"])
    ]
    if not hooks:
        return 0
    queue = _dispatcher(state)
    event = {"action": action, "actionDate": queue.stamp(), "data": _message_data(state, channel, record, recipient)}
    for hook in hooks:
        queue.enqueue("transactional", hook, copy.deepcopy(event))
    return len(hooks)


def _channel(record: dict[str, Any]) -> str:
    return "email" if isinstance(record.get("to"), list) else "sms"


def _recipients(record: dict[str, Any]) -> list[str]:
    if _channel(record) == "sms":
        return [record["to"]]
    return [*record.get("to", []), *record.get("cc", []), *record.get("bcc", [])]


def _message_data(state: State, channel: str, record: dict[str, Any], recipient: str) -> dict[str, Any]:
    registry = _registry(state)
    recipients, groups = registry["recipients"], registry["groups"]
    recipient_id = recipients.setdefault(recipient.casefold(), len(recipients) + 1)
    group_id = groups.setdefault(record.get("group", "default"), len(groups) + 1)
    message_id = int(record["messageId"]) if record["messageId"].isdigit() else record["messageId"]
    custom = {"customData": record["customData"]} if "customData" in record else {}
    if channel == "sms":
        sender = next((s["phoneNumber"] for s in state.senders if s["id"] == record.get("from")), None)
        return {
            "recipientMobile": recipient,
            "groupId": group_id,
            "recipientId": recipient_id,
            "senderMobile": sender,
            "messageId": message_id,
            **custom,
            "createDate": _epoch_ms(record["createDate"]),
        }
    return {
        "groupId": group_id,
        "recipientId": recipient_id,
        "messageId": message_id,
        "createDate": _epoch_ms(record["createDate"]),
        "recipientEmail": recipient,
        **custom,
    }


def _epoch_ms(value: str) -> int:
    return int(datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp() * 1000)


# --- Marketing API v3: /webhooks -----------------------------------------------------------------


def _http_url(value: Any) -> bool:
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _v3_public(hook: dict[str, Any]) -> dict[str, Any]:
    return {name: copy.copy(hook[name]) for name in ("webhook_id", "list_id", "url", "actions", "fields")}


@marketing.get("/webhooks")
def list_webhooks() -> Response:
    state = current_state()
    with state.lock:
        items = [_v3_public(hook) for hook in _registry(state)["v3"].values()]
    return page(items)


@marketing.post("/webhooks")
def create_webhook() -> Response:
    """200 with the stored ``Webhook`` (the spec's only success answer for this path)."""
    body = json_object()
    list_id, url, actions, fields = body.get("list_id"), body.get("url"), body.get("actions"), body.get("fields", [])
    errors: dict[str, list[str]] = {}
    if not is_int(list_id):
        errors["list_id"] = ["is required and must be an integer >= 1"]
    if not _http_url(url):
        errors["url"] = ["is required and must be an http or https URL (only 'http' or 'https' are supported)"]
    if not isinstance(actions, list) or not actions:
        errors["actions"] = ["is required and must be a non-empty array of actions"]
    elif unknown := [a for a in actions if not isinstance(a, str) or a not in V3_ACTIONS]:
        errors["actions"] = [f"unknown action {a!r}; must be one of: {', '.join(V3_ACTIONS)}" for a in unknown]
    elif len(set(actions)) != len(actions):
        errors["actions"] = ["items must be unique"]
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        errors["fields"] = ["must be an array of field ids (strings)"]
    elif len(set(fields)) != len(fields):
        errors["fields"] = ["items must be unique"]
    if errors:
        raise SandboxError(422, "The webhook is not valid", errors)
    from actions.egoi.sandbox.contacts import list_fields_of  # contacts imports this module

    state = current_state()
    with state.lock:
        if list_id not in state.lists:
            raise SandboxError(422, "The webhook is not valid", {"list_id": [f"list {list_id} does not exist"]})
        known = {*BASE_FIELD_IDS, *(str(field_id) for field_id in list_fields_of(state, list_id))}
        if unknown := [f for f in fields if f not in known]:
            raise SandboxError(
                422,
                "The webhook is not valid",
                {"fields": [f"field {f!r} does not exist in list {list_id}" for f in unknown]},
            )
        registry = _registry(state)
        webhook_id = registry["v3_next"]
        registry["v3_next"] += 1
        hook = registry["v3"][webhook_id] = {
            "webhook_id": webhook_id,
            "list_id": list_id,
            "url": url,
            "actions": list(actions),
            "fields": list(fields),
            "active": True,
        }
        return jsonify(_v3_public(hook))


@marketing.delete("/webhooks/<int:webhook_id>")
def delete_webhook(webhook_id: int) -> tuple[str, int]:
    state = current_state()
    with state.lock:
        hook = _registry(state)["v3"].pop(webhook_id, None)
        if hook is None:
            raise SandboxError(404, f"Webhook {webhook_id} not found")
        hook["active"] = False
    return "", 204


# --- Transactional API v2: /webhooks -------------------------------------------------------------


def _tx_public(hook: dict[str, Any]) -> dict[str, Any]:
    return {name: copy.copy(hook[name]) for name in ("id", "channel", "callbackUrl", "actions")}


def _tx_url(value: Any) -> bool:
    """An http(s) URL, or a scheme-less ``host/path`` like the spec's example."""
    return isinstance(value, str) and _http_url(_call_url(value.strip())) and value == value.strip()


@transactional.get("/webhooks")
def list_tx_webhooks() -> Response:
    channel = request.args.get("channel")
    state = current_state()
    with state.lock:
        hooks = [_tx_public(hook) for hook in _registry(state)["tx"].values()]
    if channel in TX_ACTIONS:
        hooks = [hook for hook in hooks if hook["channel"] == channel]
    return jsonify(hooks)


@transactional.post("/webhooks")
def create_tx_webhook() -> tuple[Response, int]:
    body = json_body()
    if not isinstance(body, dict):
        raise SandboxError(400, "The body must be a JSON object with url, channel and actions")
    channel, url, actions = body.get("channel"), body.get("url"), body.get("actions", [])
    if channel not in TX_ACTIONS:
        raise SandboxError(400, f"channel is required and must be one of: {', '.join(TX_ACTIONS)}")
    if not _tx_url(url):
        raise SandboxError(400, "url is required and must be an http or https URL")
    allowed = TX_ACTIONS[channel]
    if not isinstance(actions, list) or not all(isinstance(a, str) and a in allowed for a in actions):
        raise SandboxError(400, f"actions must be an array of the {channel} actions: {', '.join(allowed)}")
    if len(set(actions)) != len(actions):
        raise SandboxError(400, "actions must not repeat an action")
    state = current_state()
    with state.lock:
        registry = _registry(state)
        webhook_id = str(registry["tx_next"])
        registry["tx_next"] += 1
        registry["tx"][webhook_id] = {
            "id": webhook_id,
            "channel": channel,
            "callbackUrl": url,
            "actions": list(actions),
            "active": True,
        }
    return jsonify({"webhookId": webhook_id}), 201


@transactional.delete("/webhooks")
def delete_tx_webhook() -> tuple[str, int]:
    """``?id=`` (current spec) or ``?url=`` (E-goi's older docs), optionally narrowed by ``channel``."""
    webhook_id, url, channel = request.args.get("id"), request.args.get("url"), request.args.get("channel")
    if not webhook_id and not url:
        raise SandboxError(400, "The query parameter id is required and cannot be empty")
    state = current_state()
    with state.lock:
        hooks = _registry(state)["tx"]
        doomed = [
            key
            for key, hook in hooks.items()
            if (not webhook_id or key == webhook_id)
            and (not url or hook["callbackUrl"] == url)
            and (channel not in TX_ACTIONS or hook["channel"] == channel)
        ]
        if not doomed:
            raise SandboxError(404, f"Webhook {webhook_id or url} not found")
        for key in doomed:
            hooks.pop(key)["active"] = False
    return "", 204


# --- sandbox only --------------------------------------------------------------------------------


@inspect.post("/messages/<message_id>/events")
def simulate_event(message_id: str) -> tuple[Response, int]:
    """Fire one more event (an open, a click, a complaint…) for a message already sent."""
    body = json_object()
    from actions.egoi.sandbox.sms import send_due  # sms imports this module

    state = current_state()
    with state.lock:
        send_due(state)
        record = _registry(state)["messages"].get(message_id)
        if record is None:
            raise SandboxError(404, f"Message {message_id} not found or not sent yet")
        channel, recipients = _channel(record), _recipients(record)
        event, recipient = body.get("event"), body.get("recipient", recipients[0])
        errors = {}
        if event not in TX_ACTIONS[channel]:
            errors["event"] = [f"must be one of the {channel} events: {', '.join(TX_ACTIONS[channel])}"]
        if recipient not in recipients:
            errors["recipient"] = [f"must be a recipient of message {message_id}: {', '.join(recipients)}"]
        if errors:
            raise SandboxError(422, "The event is not valid", errors)
        for action, option in (("view", "openTracking"), ("click", "clickTracking")):
            if event == action and not record.get(option):
                raise SandboxError(409, f"A {action} is available only when {option} is enabled on the message")
        webhooks = _fire_tx(state, channel, record, recipient, event)
    return jsonify({"messageId": message_id, "event": event, "recipient": recipient, "webhooks": webhooks}), 202


@inspect.get("/webhooks/log")
def webhook_log() -> Response:
    return jsonify([shown_entry(entry) for entry in dispatcher(current_app).entries()])


@inspect.delete("/webhooks/log")
def clear_webhook_log() -> tuple[str, int]:
    dispatcher(current_app).clear_log()
    return "", 204


@inspect.post("/webhooks/hold")
def hold_webhooks() -> Response:
    dispatcher(current_app).hold_events()
    return jsonify({"hold": True})


@inspect.post("/webhooks/flush")
def flush_webhooks() -> Response:
    return jsonify({"deliveries": dispatcher(current_app).flush()})


@inspect.post("/webhooks/wait")
def wait_webhooks() -> tuple[Response, int]:
    raw = request.args.get("timeout", "5")
    try:
        timeout = float(raw)
    except ValueError:
        timeout = -1.0
    if not 0 <= timeout <= 60:
        raise SandboxError(422, "Invalid query parameter timeout", {"timeout": ["must be a number of seconds, 0-60"]})
    idle = wait_idle(current_app, timeout)
    return jsonify({"idle": idle}), 200 if idle else 504
