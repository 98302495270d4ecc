"""HTTP side of triggers: polling with the state in the URL, webhook subscriptions, the receiver of
upstream callbacks and the read-only views of a caller's subscriptions and deliveries.

Paths under ``/<connector>``:

- ``GET triggers/<key>?…[&triggerState=…]`` — Power Automate polling: 202 + ``Location`` +
  ``Retry-After`` when nothing is new (the first call included), 200 with the new items newest first
  and a ``Location`` carrying the advanced state. A failure answers an error and advances nothing.
- ``GET triggers/<key>/recent?…[&limit=1..100]`` — Zapier and Make: the latest items (100 unless
  ``limit`` says fewer), newest first, each with ``id``. For a polling trigger they are read upstream;
  for a webhook trigger they are the events this service received for the caller's subscriptions to
  it, exactly as they were delivered (the same ids too), which no upstream lookup could give for
  every kind of event (an email opened, an SMS delivered).
- ``POST triggers/<key>`` — subscribe (Power Automate's ``callback_url``, Zapier's ``target_url``):
  201 + ``Location`` of the subscription, with the secret that signs its deliveries.
- ``DELETE subscriptions/<id>`` — unsubscribe, upstream too; no API key needed (Power Automate sends
  none): the id is an unguessable capability.
- ``POST hooks/<token>`` — the receiver the upstream calls; events are in the outbox before it answers.
- ``GET subscriptions``, ``GET subscriptions/<id>/deliveries`` — the caller's own, by credential.
- ``POST subscriptions/<id>/enable`` and ``/disable`` — the owner turns deliveries back on (a
  subscription failing for too long is disabled by the worker) or off.
- ``POST subscriptions/<id>/deliveries/<webhook_id>/retry`` — send one failed event again now.
- ``POST subscriptions/<id>/replay`` — send again every event received since a time, each with its
  original ``webhook-id``.
- ``GET deliveries/summary`` — the caller's events of the last 24 hours by status.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson
from flask import Blueprint, Response, request

from connector.declarations import Catalog
from connector.errors import Problem, validation_problem
from connector.jsonio import json_response
from connector.ratelimit import CredentialLimit
from connector.runtime import INTEGER, TextInput, credential_of, load_input, read_body, read_payload
from connector.triggers import (
    LIMIT,
    MAX_LIMIT,
    MAX_STATE,
    STATE,
    DeliveryListSchema,
    DeliveryQuerySchema,
    DeliverySummarySchema,
    EnableSchema,
    PollingTrigger,
    ReplaySchema,
    ResentSchema,
    SubscriptionListSchema,
    SubscriptionStateSchema,
    WebhookTrigger,
    event_dumper,
)
from connector.upstream import UpstreamService
from connector.webhooks.ssrf import check_callback_url
from connector.webhooks.states import ACTIVE, DISABLED, ENDED, TooManySubscriptions
from connector.wiring import Runtime

if TYPE_CHECKING:
    from connector.webhooks.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)

LISTING, DELIVERIES = SubscriptionListSchema(), DeliveryListSchema()
ENABLE, STATE_CHANGE = EnableSchema(), SubscriptionStateSchema()
ENABLE_TEXT = TextInput(ENABLE)
DELIVERY_QUERY, DELIVERY_QUERY_TEXT = DeliveryQuerySchema(), TextInput(DeliveryQuerySchema())
REPLAY, REPLAY_TEXT, RESENT, SUMMARY = (
    ReplaySchema(),
    TextInput(ReplaySchema()),
    ResentSchema(),
    DeliverySummarySchema(),
)
SUMMARY_WINDOW = 86400.0  # seconds: the console's "last 24 hours"
PAGE_SIZE = 20


def parse_instant(text: str) -> float:
    """An RFC 3339 date-time with a time zone, as Unix time; a 422 naming ``since`` otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        message = "Not a date-time with a time zone: expected RFC 3339, e.g. 2026-11-27T09:00:00Z."
        raise validation_problem({"since": [message]})
    return moment.timestamp()


def not_active(status: str | None) -> Problem:
    if status == DISABLED:
        return Problem(
            409,
            "This subscription is disabled; enable it (POST its URL + /enable), which also sends its failed events.",
            kind="subscription-disabled",
        )
    return Problem(409, "This subscription has ended; subscribe again.", kind="subscription-ended")


RECEIVED_SCAN = 1000  # received events read for one recent list of a webhook trigger, at most


def recent_limit() -> int:
    """The ``limit`` of a recent list: 1 to ``MAX_LIMIT``, ``MAX_LIMIT`` when absent or empty."""
    text = request.args.get(LIMIT, "")
    if text == "":
        return MAX_LIMIT
    if not INTEGER.fullmatch(text) or not 1 <= int(text) <= MAX_LIMIT:
        raise validation_problem({LIMIT: [f"Must be a whole number from 1 to {MAX_LIMIT}."]})
    return int(text)


def encode_state(cursor: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(cursor)).rstrip(b"=").decode()


def decode_state(text: str) -> Any:
    if len(text) > MAX_STATE:
        raise Problem(
            422,
            f"{STATE} is longer than any state this service writes ({MAX_STATE} characters); start again without it.",
            errors={STATE: [f"Longer than {MAX_STATE} characters."]},
            kind="trigger-state-too-long",
        )
    try:
        return orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        raise Problem(
            422,
            f"{STATE} is not one this service wrote; start again without it.",
            errors={STATE: ["Not a state this service wrote."]},
            kind="invalid-trigger-state",
        ) from None


class TriggerRoutes:
    """Adds one catalog's trigger routes to its blueprint: its upstream services, the subscription
    store, the settings and the delivery worker to wake are the ``runtime``'s."""

    def __init__(self, catalog: Catalog, runtime: Runtime, limit: CredentialLimit | None = None) -> None:
        settings = runtime.settings
        self.catalog, self.runtime = catalog, runtime
        self.services: dict[str, UpstreamService] = runtime.services[catalog.name]
        self.hit = limit.hit if limit is not None else (lambda credential: None)
        self.base = f"{settings.public_url.rstrip('/')}/{catalog.name}"
        self.poll_interval, self.allow_private = settings.poll_interval, settings.allow_private_callbacks
        self.unsubscribe_upstream = runtime.unsubscribe
        self.webhooks = {op.key: op for op in catalog.instances if isinstance(op, WebhookTrigger)}
        self.event_dumps = {key: event_dumper(trigger.event_schema) for key, trigger in self.webhooks.items()}

    @property
    def store(self) -> SubscriptionStore:
        """Opened with the database, on the first call that needs it."""
        return self.runtime.subscriptions

    def service_of(self, trigger: Any) -> UpstreamService:
        return self.services[self.catalog.service(trigger.upstream).name]

    def register(self, blueprint: Blueprint) -> None:
        for trigger in self.catalog.instances:
            if isinstance(trigger, PollingTrigger):
                blueprint.add_url_rule(trigger.path, trigger.key, self.poll_view(trigger), methods=["GET"])
                blueprint.add_url_rule(
                    trigger.path + "/recent", trigger.key + "_recent", self.recent_view(trigger), methods=["GET"]
                )
            elif isinstance(trigger, WebhookTrigger):
                blueprint.add_url_rule(trigger.path, trigger.key, self.subscribe_view(trigger), methods=["POST"])
                blueprint.add_url_rule(
                    trigger.path + "/recent", trigger.key + "_recent", self.received_view(trigger), methods=["GET"]
                )
        if self.webhooks:
            blueprint.add_url_rule(
                "/subscriptions/<subscription_id>", "unsubscribe", self.unsubscribe, methods=["DELETE"]
            )
            blueprint.add_url_rule("/subscriptions", "subscriptions", self.list_subscriptions, methods=["GET"])
            blueprint.add_url_rule(
                "/subscriptions/<subscription_id>/deliveries", "deliveries", self.list_deliveries, methods=["GET"]
            )
            blueprint.add_url_rule(
                "/subscriptions/<subscription_id>/enable", "enable_subscription", self.enable, methods=["POST"]
            )
            blueprint.add_url_rule(
                "/subscriptions/<subscription_id>/disable", "disable_subscription", self.disable, methods=["POST"]
            )
            blueprint.add_url_rule(
                "/subscriptions/<subscription_id>/deliveries/<webhook_id>/retry",
                "retry_delivery",
                self.retry,
                methods=["POST"],
            )
            blueprint.add_url_rule(
                "/subscriptions/<subscription_id>/replay", "replay_deliveries", self.replay, methods=["POST"]
            )
            blueprint.add_url_rule("/deliveries/summary", "delivery_summary", self.summary, methods=["GET"])
            blueprint.add_url_rule("/hooks/<token>", "receiver", self.receive, methods=["POST"])

    # --- polling -------------------------------------------------------------------------------------

    def _load_query(
        self, schema: Any, text_input: TextInput, framework: str = STATE
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """(validated input, the query as sent minus the framework's own parameter) — the latter goes
        back into Location."""
        query = [(k, v) for k, v in request.args.items(multi=True) if k != framework]
        args = request.args.copy()
        args.pop(framework, None)
        return load_input(schema.load, text_input.read(args)), query

    def poll_view(self, trigger: PollingTrigger) -> Callable[[], Response]:
        text_input = TextInput(trigger.input_schema)
        dump, service = event_dumper(trigger.output_schema), self.service_of(trigger)
        location_base = f"{self.base}{trigger.path}"

        def view() -> Response:
            credential = credential_of(self.catalog)
            self.hit(credential)
            data, query = self._load_query(trigger.input_schema, text_input)
            upstream = service.bind(credential)
            state = request.args.get(STATE)
            if state is None:
                new_state, items = encode_state(trigger.start(data, upstream)), []
            else:
                items, cursor = trigger.poll(data, upstream, decode_state(state))
                # Unchanged when nothing is new, unless the trigger had to move its bookmark (older
                # items removed upstream): keeping that saves the next polls from finding it again.
                new_state = encode_state(cursor)
            headers = {
                "Location": f"{location_base}?{urlencode([*query, (STATE, new_state)])}",
                "Retry-After": str(self.poll_interval),
            }
            if not items:
                return Response(status=202, headers=headers)
            return json_response(dump(list(reversed(items))), 200, headers)

        view.__name__ = trigger.key
        return view

    def recent_view(self, trigger: PollingTrigger) -> Callable[[], Response]:
        text_input = TextInput(trigger.input_schema)
        dump, service = event_dumper(trigger.output_schema), self.service_of(trigger)

        def view() -> Response:
            credential = credential_of(self.catalog)
            self.hit(credential)
            limit = recent_limit()
            data, _ = self._load_query(trigger.input_schema, text_input, LIMIT)
            return json_response(dump(trigger.recent(data, service.bind(credential), limit)[:limit]))

        view.__name__ = trigger.key + "_recent"
        return view

    # --- webhooks ------------------------------------------------------------------------------------

    def subscribe_view(self, trigger: WebhookTrigger) -> Callable[[], Response]:
        text_input = TextInput(trigger.input_schema)
        load, dump, service = trigger.input_schema.load, trigger.output_schema.dump, self.service_of(trigger)

        def view() -> Response:
            credential = credential_of(self.catalog)
            self.hit(credential)
            data = load_input(load, read_payload("POST", text_input))
            callback = check_callback_url(data["callback_url"], allow_private=self.allow_private)
            params = {k: v for k, v in data.items() if k != "callback_url"}
            try:
                created = self.store.create(self.catalog.name, trigger.key, credential, callback, params)
            except TooManySubscriptions as exc:
                raise Problem(
                    409,
                    f"This API key already has {exc.limit} subscriptions on this connector, the most allowed; "
                    "delete one you no longer use (DELETE its URL) before subscribing again.",
                    kind="too-many-subscriptions",
                ) from None
            subscription_id = created.subscription.id
            receiver = f"{self.base}/hooks/{created.receiver_token}"
            try:
                reference = trigger.subscribe(data, service.bind(credential), receiver)
            except BaseException:
                self.store.delete(subscription_id)  # nothing registered upstream: leave no trace
                raise
            self.store.set_upstream(subscription_id, reference)
            url = f"{self.base}/subscriptions/{subscription_id}"
            body = dump({"id": subscription_id, "secret": created.secret, "url": url})
            return json_response(body, 201, {"Location": url})

        view.__name__ = trigger.key
        return view

    def received_view(self, trigger: WebhookTrigger) -> Callable[[], Response]:
        """A webhook trigger's recent list: the latest events received for the caller's subscriptions
        to it that ``trigger.wants`` for the parameters given, each once, newest first. Nothing is
        asked upstream, so a credential that never subscribed gets an empty list."""
        text_input = TextInput(trigger.recent_schema)
        dump = event_dumper(trigger.Event(many=True))

        def view() -> Response:
            credential = credential_of(self.catalog)
            self.hit(credential)
            limit = recent_limit()
            data, _ = self._load_query(trigger.recent_schema, text_input, LIMIT)
            found: dict[str, dict[str, Any]] = {}
            for key, event in self.store.received(self.catalog.name, trigger.key, credential, RECEIVED_SCAN):
                if key not in found and trigger.wants(event, data):
                    found[key] = event
                    if len(found) == limit:
                        break
            return json_response(dump(list(found.values())))

        view.__name__ = trigger.key + "_recent"
        return view

    def unsubscribe(self, subscription_id: str) -> Response:
        subscription = self.store.get(subscription_id)
        if subscription is None or subscription.catalog != self.catalog.name:
            raise Problem(404, "No such subscription.")
        if subscription.status != ENDED:
            self.store.end(subscription_id, "unsubscribed")
        if not subscription.upstream_removed:
            self.store.remove_upstream(subscription, self.unsubscribe_upstream)  # else the worker retries
        return Response(status=204)

    def receive(self, token: str) -> Response:
        subscription = self.store.by_receiver(token)
        if subscription is None or subscription.catalog != self.catalog.name:
            raise Problem(404, "Unknown receiver.")
        if subscription.status == ENDED:
            raise Problem(410, "This subscription has ended.")
        raw = read_body()
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise Problem(400, "The body is not valid JSON.") from None
        trigger = self.webhooks[subscription.trigger]
        dump_event = self.event_dumps[trigger.key]
        try:
            events = [(key, dump_event(event)) for key, event in trigger.split(payload, subscription.params)]
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise Problem(400, f"The callback body is not in the expected shape ({type(exc).__name__}).") from None
        new = self.store.enqueue(subscription.id, events)  # kept as failed while it is disabled
        if new:
            self.wake()
        return json_response({"received": len(events), "new": new})

    def list_subscriptions(self) -> Response:
        credential = credential_of(self.catalog)
        self.hit(credential)
        return json_response(LISTING.dump({"items": self.store.list_owned(self.catalog.name, credential)}))

    def list_deliveries(self, subscription_id: str) -> Response:
        """A page of the subscription's events with their attempts, newest first (``status``,
        ``limit`` and ``before`` in the query)."""
        self._owned(subscription_id)
        query = load_input(DELIVERY_QUERY.load, DELIVERY_QUERY_TEXT.read(request.args))
        items, next_before = self.store.deliveries(
            subscription_id, query.get("limit") or PAGE_SIZE, query.get("before"), query.get("status")
        )
        page: dict[str, Any] = {"items": items}
        if next_before is not None:
            page["next_before"] = next_before
        return json_response(DELIVERIES.dump(page))

    def retry(self, subscription_id: str, webhook_id: str) -> Response:
        """Send one failed event again now (a pending one waiting for its next try: try now)."""
        self._owned(subscription_id)
        status, previous = self.store.retry(subscription_id, webhook_id)
        if status != ACTIVE:
            raise not_active(status)
        if previous is None:
            raise Problem(404, "This subscription has no event with this webhook-id.")
        if previous not in ("failed", "pending"):
            raise Problem(
                409,
                f"This event is {previous}; only failed or pending events are retried (replay sends delivered ones again).",
                kind="event-not-failed",
            )
        self.wake()
        return json_response(RESENT.dump({"id": subscription_id, "requeued": 1}))

    def replay(self, subscription_id: str) -> Response:
        """Send again every delivered or failed event received since ``since``, with its webhook-id."""
        self._owned(subscription_id)
        data = load_input(REPLAY.load, read_payload("POST", REPLAY_TEXT))
        status, requeued = self.store.replay(subscription_id, parse_instant(data["since"]))
        if status != ACTIVE:
            raise not_active(status)
        if requeued:
            self.wake()
        return json_response(RESENT.dump({"id": subscription_id, "requeued": requeued}))

    def summary(self) -> Response:
        """The caller's events received in the last 24 hours, by status now."""
        credential = credential_of(self.catalog)
        self.hit(credential)
        since = time.time() - SUMMARY_WINDOW
        counts = self.store.summary(self.catalog.name, credential, since)
        return json_response(SUMMARY.dump({**counts, "since": since}))

    def _owned(self, subscription_id: str) -> None:
        credential = credential_of(self.catalog)
        self.hit(credential)
        if not self.store.is_owned(subscription_id, self.catalog.name, credential):
            raise Problem(404, "No such subscription for this credential.")

    def enable(self, subscription_id: str) -> Response:
        """Deliver again; the failed events are queued again unless ``retry_failed`` is false."""
        self._owned(subscription_id)
        data = load_input(ENABLE.load, read_payload("POST", ENABLE_TEXT))
        requeued = self.store.enable(subscription_id, retry_failed=data.get("retry_failed", True))
        if requeued is None:
            raise not_active(ENDED)
        if requeued:
            self.wake()
        return json_response(STATE_CHANGE.dump({"id": subscription_id, "status": "active", "requeued": requeued}))

    def disable(self, subscription_id: str) -> Response:
        """Stop delivering until re-enabled; pending and new events are kept as failed."""
        self._owned(subscription_id)
        subscription = self.store.get(subscription_id)
        assert subscription is not None
        if subscription.status == ENDED:
            raise not_active(ENDED)
        self.store.disable(subscription_id, "disabled by its owner")
        return json_response(STATE_CHANGE.dump({"id": subscription_id, "status": DISABLED, "requeued": 0}))

    def wake(self) -> None:
        """Tell the embedded worker (if this process runs one) that events are waiting."""
        worker = self.runtime.worker
        if worker is not None:
            worker.wake.set()
