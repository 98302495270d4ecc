"""The delivery worker: takes events from the outbox, signs them, sends them, retries on a schedule.

Guarantees and how they are kept:

- **Nothing lost.** Events are rows written before the receiver answered; a row leaves "pending"
  only when its subscriber answered 2xx (delivered), the schedule ran out (failed, kept visible with
  the last error), or the subscription ended (cancelled). A worker that dies mid-delivery loses its
  lease and another worker (or itself, restarted) sends the event again with the same ``webhook-id``.
- **In order, once per worker.** A worker leases a *subscription* (``lease_until``), claimed with
  ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and a conditional update everywhere, and sends that
  subscription's events one after another, oldest first. A failed event blocks the ones behind it
  until it is delivered or fails for good, so a subscriber sees its events in order.
- **Signed** per Standard Webhooks (``standardwebhooks`` package): ``webhook-id`` (stable across
  retries), ``webhook-timestamp`` (of the attempt) and ``webhook-signature``.
- **Retries** follow ``DELIVERY_SCHEDULE`` with ±20% jitter; a subscriber's ``Retry-After`` (429,
  503) is honoured up to a cap. A 410 ends the subscription, upstream too.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import sqlalchemy as sa
from standardwebhooks import Webhook

from connector.config import Settings
from connector.subscriptions import ACTIVE, CANCELLED, DELIVERED, FAILED, PENDING, SubscriptionStore, Unsubscribe
from connector.tables import events, subscriptions

log = logging.getLogger(__name__)

USER_AGENT = "Connector-Webhooks/1.0"
MAINTENANCE_EVERY = 30.0  # seconds between retries of upstream unsubscriptions that failed


@dataclass(frozen=True)
class DeliverySettings:
    schedule: tuple[float, ...]
    timeout: float = 10.0
    concurrency: int = 16
    lease: float = 60.0
    retry_after_cap: float = 3600.0
    allow_private: bool = False
    batch: int = 100
    idle_wait: float = 0.5
    group: int = 20  # deliveries written per commit
    group_seconds: float = 0.25  # ... or after this long, whichever comes first

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliverySettings:
        schedule = tuple(float(s) for s in str(settings.delivery_schedule).split(",") if s.strip())
        return cls(
            schedule=schedule,
            timeout=settings.delivery_timeout,
            concurrency=max(1, settings.delivery_concurrency),
            lease=settings.delivery_lease,
            retry_after_cap=settings.delivery_retry_after_cap,
            allow_private=settings.allow_private_callbacks,
        )


@dataclass(frozen=True)
class Attempt:
    """What one send came to: ``status`` None when no answer (timeout, refused address...)."""

    status: int | None
    error: str | None = None
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


Sender = Callable[[str, bytes, dict[str, str]], Attempt]


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def http_sender(session: requests.Session, timeout: float, blocked: tuple[type[Exception], ...] = ()) -> Sender:
    """Sends with ``session`` (which must refuse redirects and unsafe addresses) and reads the answer."""

    def send(url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        try:
            response = session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
        except blocked as exc:
            return Attempt(None, f"refused address: {exc}")
        except requests.Timeout:
            return Attempt(None, f"no answer within {timeout:g} s")
        except requests.RequestException as exc:
            return Attempt(None, f"connection failed: {type(exc).__name__}")
        with response:
            status = response.status_code
            error = None if 200 <= status < 300 else f"subscriber answered {status}"
            if 300 <= status < 400:
                error = f"subscriber answered {status} (redirects are not followed)"
            return Attempt(status, error, retry_after_seconds(response.headers.get("Retry-After")))

    return send


class _Recorder:
    """Writes a chain's deliveries in groups (one UPDATE and one commit per ``size`` events or
    ``seconds``). A crash loses at most one unwritten group: those events are sent again, with the
    same webhook-id (at-least-once, as Standard Webhooks expects receivers to handle)."""

    def __init__(self, connection: sa.Connection, subscription_id: str, size: int, seconds: float) -> None:
        self.connection, self.subscription_id, self.size, self.seconds = connection, subscription_id, size, seconds
        self.rows: list[dict[str, Any]] = []
        self.since = 0.0

    def delivered(self, event: Any, status: int | None) -> bool:
        """Note a delivery; False when a flush found the subscription ended."""
        if not self.rows:
            self.since = time.monotonic()
        self.rows.append({"event_id": event.id, "n": event.attempts + 1, "code": status, "at": time.time()})
        if len(self.rows) >= self.size or time.monotonic() - self.since >= self.seconds:
            return self.flush()
        return True

    def flush(self) -> bool:
        """Write the noted deliveries; False when the subscription has ended (stop sending)."""
        if not self.rows:
            return True
        self.connection.execute(
            events.update()
            .where(events.c.id == sa.bindparam("event_id"), sa.or_(events.c.status == PENDING, events.c.status == CANCELLED))
            .values(status=DELIVERED, attempts=sa.bindparam("n"), last_status=sa.bindparam("code"),
                    last_error=None, delivered_at=sa.bindparam("at")),
            self.rows,
        )  # fmt: skip
        status = self.connection.execute(
            sa.select(subscriptions.c.status).where(subscriptions.c.id == self.subscription_id)
        ).scalar()
        self.connection.commit()
        self.rows = []
        return status == ACTIVE


class Worker:
    """One process's delivery loop. ``run`` until ``stop`` is set; ``drain`` for tests and benches."""

    def __init__(
        self,
        store: SubscriptionStore,
        settings: DeliverySettings,
        sender: Sender,
        unsubscribe_upstream: Unsubscribe | None = None,
    ) -> None:
        self.store, self.engine, self.settings, self.sender = store, store.engine, settings, sender
        self.unsubscribe_upstream = unsubscribe_upstream
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.wake = threading.Event()
        self._next_maintenance = 0.0
        self._pg = self.engine.dialect.name == "postgresql"

    # --- claiming ----------------------------------------------------------------------------------

    def claim(self, limit: int) -> list[str]:
        """Lease up to ``limit`` subscriptions whose oldest pending event is due."""
        now = time.time()
        head, earlier = events.alias("head"), events.alias("earlier")
        due = sa.select(head.c.subscription_id).where(
            head.c.status == PENDING,
            head.c.next_attempt_at <= now,
            ~sa.exists().where(
                earlier.c.subscription_id == head.c.subscription_id,
                earlier.c.status == PENDING,
                earlier.c.id < head.c.id,
            ),
        )
        candidates = (
            sa.select(subscriptions.c.id)
            .where(subscriptions.c.status == ACTIVE, subscriptions.c.lease_until < now, subscriptions.c.id.in_(due))
            .limit(limit)
        )
        if self._pg:
            candidates = candidates.with_for_update(skip_locked=True)
        with self.engine.begin() as connection:
            ids = connection.execute(candidates).scalars().all()
            if not ids:
                return []
            claimed = connection.execute(
                subscriptions.update()
                .where(subscriptions.c.id.in_(ids), subscriptions.c.lease_until < now)
                .values(lease_owner=self.name, lease_until=now + self.settings.lease)
                .returning(subscriptions.c.id)
            )
            return list(claimed.scalars().all())

    def _renew(self, subscription_id: str) -> bool:
        with self.engine.begin() as connection:
            return (
                connection.execute(
                    subscriptions.update()
                    .where(subscriptions.c.id == subscription_id, subscriptions.c.lease_owner == self.name)
                    .values(lease_until=time.time() + self.settings.lease)
                ).rowcount
                == 1
            )

    def _release(self, subscription_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                subscriptions.update()
                .where(subscriptions.c.id == subscription_id, subscriptions.c.lease_owner == self.name)
                .values(lease_owner=None, lease_until=0.0)
            )

    # --- delivering --------------------------------------------------------------------------------

    def deliver_subscription(self, subscription_id: str) -> int:
        """Send the leased subscription's due events in order; returns how many were delivered."""
        delivered = 0
        try:
            renew_at = time.time() + self.settings.lease / 3
            # One connection for the whole chain, and successes written in groups: database round
            # trips, not HTTP, bound a worker (bench/delivery.py measured 3-4x from these two).
            with self.engine.connect() as connection:
                target = self.store.delivery_target(connection, subscription_id)
                if target is None:
                    return 0
                callback_url, signer = target[0], Webhook(target[1])
                recorder = _Recorder(connection, subscription_id, self.settings.group, self.settings.group_seconds)
                while True:
                    batch = connection.execute(
                        sa.select(events.c.id, events.c.webhook_id, events.c.payload, events.c.attempts,
                                  events.c.next_attempt_at)
                        .where(events.c.subscription_id == subscription_id, events.c.status == PENDING)
                        .order_by(events.c.id)
                        .limit(self.settings.batch)
                    ).all()  # fmt: skip
                    connection.commit()
                    if not batch:
                        return delivered
                    for event in batch:
                        if event.next_attempt_at > time.time():
                            return delivered  # the head waits for its retry; those behind it wait too
                        if time.time() > renew_at:
                            if not recorder.flush() or not self._renew(subscription_id):
                                return delivered  # unsubscribed, or lease lost: another worker has it
                            renew_at = time.time() + self.settings.lease / 3
                        attempt = self._send(callback_url, signer, event.webhook_id, event.payload)
                        if attempt.delivered:
                            delivered += 1
                            if recorder.delivered(event, attempt.status):
                                continue
                            return delivered  # the subscription ended meanwhile
                        if not recorder.flush():
                            return delivered
                        if self._record_failure(connection, subscription_id, event, attempt) != FAILED:
                            return delivered  # retry scheduled, or the subscription ended
                    if not recorder.flush():
                        return delivered
        except Exception:
            log.exception("delivery to subscription %s… stopped by an unexpected error", subscription_id[:4])
            return delivered
        finally:
            self._release(subscription_id)

    def _send(self, url: str, signer: Webhook, webhook_id: str, payload: bytes) -> Attempt:
        timestamp = datetime.now(tz=UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signer.sign(webhook_id, timestamp, payload.decode()),
        }
        return self.sender(url, payload, headers)

    def _record_failure(self, connection: sa.Connection, subscription_id: str, event: Any, attempt: Attempt) -> str:
        """Write a failed attempt; returns the event's new status ("pending" = retry later)."""
        now, attempts = time.time(), event.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_status": attempt.status, "last_error": attempt.error}
        if attempt.status == 410:
            values.update(status=CANCELLED, last_error="subscriber answered 410 Gone: subscription ended")
        elif attempts > len(self.settings.schedule):
            values.update(status=FAILED)
        else:
            values.update(next_attempt_at=now + self._delay(attempts, attempt.retry_after))
        changed = connection.execute(
            events.update().where(events.c.id == event.id, events.c.status == PENDING).values(**values)
        ).rowcount
        connection.commit()
        if not changed:
            return CANCELLED  # the subscription ended meanwhile
        if attempt.status == 410:
            self.store.end(subscription_id, "subscriber answered 410 Gone")
            self.maintain(force=True)
        return values.get("status", PENDING)

    def _delay(self, attempts: int, retry_after: float | None) -> float:
        delay = self.settings.schedule[attempts - 1] * random.uniform(0.8, 1.2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.settings.retry_after_cap))
        return delay

    # --- upkeep ------------------------------------------------------------------------------------

    def maintain(self, force: bool = False) -> None:
        """Retry upstream unsubscriptions of ended subscriptions (410s, DELETEs whose upstream call failed)."""
        now = time.time()
        if self.unsubscribe_upstream is None or (now < self._next_maintenance and not force):
            return
        self._next_maintenance = now + MAINTENANCE_EVERY
        for subscription in self.store.pending_upstream_removals():
            self.store.remove_upstream(subscription, self.unsubscribe_upstream)

    # --- loops -------------------------------------------------------------------------------------

    def drain(self, timeout: float = 30.0) -> int:
        """Deliver everything due now, in this thread, until nothing is left to claim (tests, benches)."""
        delivered, deadline = 0, time.monotonic() + timeout
        with ThreadPoolExecutor(self.settings.concurrency) as pool:
            while time.monotonic() < deadline:
                claimed = self.claim(self.settings.concurrency)
                if not claimed:
                    return delivered
                delivered += sum(pool.map(self.deliver_subscription, claimed))
        return delivered

    def run(self, stop: threading.Event) -> None:
        log.info("delivery worker %s started", self.name)
        running: set[Future[int]] = set()
        with ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="deliver") as pool:
            while not stop.is_set():
                try:
                    self.maintain()
                    free = self.settings.concurrency - len(running)
                    claimed = self.claim(free) if free > 0 else []
                except Exception:
                    log.exception("delivery worker could not reach the database; retrying")
                    claimed = []
                    stop.wait(1.0)
                running |= {pool.submit(self.deliver_subscription, sid) for sid in claimed}
                # Everything due is claimed: wait for a slot to free up, new events, or the next retry.
                if running:
                    _, still_running = wait(running, timeout=self.settings.idle_wait, return_when=FIRST_COMPLETED)
                    running = set(still_running)
                else:
                    self.wake.wait(self.settings.idle_wait)
                    self.wake.clear()
        log.info("delivery worker %s stopped", self.name)

    def start(self) -> threading.Thread:
        """Run in a daemon thread (the embedded default inside ``serve``); ``stop`` ends it."""
        self._stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(self._stop,), name="delivery-worker", daemon=True)
        thread.start()
        self._thread = thread
        return thread

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake.set()
        self._thread.join(timeout)
