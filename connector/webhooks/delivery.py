"""The delivery worker: takes events from the outbox, signs them, sends them, retries on a schedule.

It orchestrates; the tables are written by their owners: leases and endpoint health by
:mod:`connector.webhooks.subscriptions`, delivery records and retention by
:mod:`connector.webhooks.outbox`, heartbeats by :mod:`connector.webhooks.heartbeats`.

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
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import sqlalchemy as sa
from standardwebhooks import Webhook

from connector import metrics
from connector.webhooks import heartbeats, outbox
from connector.webhooks import subscriptions as leases
from connector.webhooks.deadlines import WATCHDOG, Watchdog, enforce_deadlines
from connector.webhooks.outbox import CANCELLED, DELIVERED, FAILED, PENDING
from connector.webhooks.settings import DAY, DeliverySettings
from connector.webhooks.subscriptions import ACTIVE, Lease, SubscriptionStore, Unsubscribe

log = logging.getLogger(__name__)

USER_AGENT = "Connector-Webhooks/1.0"
MAINTENANCE_EVERY = 30.0  # seconds between upkeep rounds (upstream unsubscriptions, retention)


@dataclass(frozen=True)
class Attempt:
    """What one send came to: ``status`` None when no answer (timeout, refused address...)."""

    status: int | None
    error: str | None = None
    retry_after: float | None = None
    duration: float | None = None  # seconds the send took, as the worker measured it

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


MAX_ANSWER = 64 * 1024  # bytes of a subscriber's answer read; a longer one is cut (only its status matters)


def http_sender(
    session: requests.Session,
    timeout: float,
    blocked: tuple[type[Exception], ...] = (),
    watchdog: Watchdog = WATCHDOG,
) -> Sender:
    """Sends with ``session`` (which must refuse redirects and unsafe addresses) and reads the answer,
    all within ``timeout`` seconds in total, whatever the subscriber does (see connector.webhooks.deadlines)."""
    enforce_deadlines(session)

    def send(url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        with watchdog.limit(timeout) as exchange:
            try:
                response = session.post(
                    url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
                )
                with response:
                    read = 0
                    for chunk in response.iter_content(16384):
                        read += len(chunk)
                        if read > MAX_ANSWER:
                            break  # closing unread drops the connection instead of pooling it
                    in_time = exchange.finish()  # before the connection goes back to the pool
            except blocked as exc:
                return Attempt(None, f"refused address: {exc}")
            except (requests.RequestException, OSError) as exc:
                if exchange.expired or isinstance(exc, requests.Timeout):
                    return Attempt(None, f"no complete answer within {timeout:g} s")
                return Attempt(None, f"connection failed: {type(exc).__name__}")
        if not in_time:  # cut mid-answer: what was read may look whole (a header ended by EOF)
            return Attempt(None, f"no complete answer within {timeout:g} s")
        status = response.status_code
        error = None if 200 <= status < 300 else f"subscriber answered {status}"
        if 300 <= status < 400:
            error = f"subscriber answered {status} (redirects are not followed)"
        return Attempt(status, error, retry_after_seconds(response.headers.get("Retry-After")))

    return send


class _Recorder:
    """Writes a chain's deliveries in groups (one UPDATE and one commit per ``size`` events or
    ``seconds``), renewing the lease in the same transaction. A crash loses at most one unwritten
    group: those events are sent again, with the same webhook-id (at-least-once, as Standard
    Webhooks expects receivers to handle)."""

    def __init__(self, connection: sa.Connection, lease: Lease, settings: DeliverySettings) -> None:
        self.connection, self.lease, self.settings = connection, lease, settings
        self.rows: list[dict[str, Any]] = []
        self.since = 0.0
        self.expires = time.time() + settings.lease  # a lower bound: the claim was made before

    def delivered(self, event: Any, status: int | None, duration: float | None = None) -> bool:
        """Note a delivery (``duration``: seconds the send took); False when a flush found the
        subscription ended or the lease lost."""
        if not self.rows:
            self.since = time.monotonic()
        ms = None if duration is None else round(duration * 1000)
        self.rows.append({"event_id": event.id, "n": event.attempts + 1, "code": status, "at": time.time(), "ms": ms})
        if len(self.rows) >= self.settings.group or time.monotonic() - self.since >= self.settings.group_seconds:
            return self.flush()
        return True

    def must_renew(self) -> bool:
        """True when the lease might not outlast one more attempt (its deadline plus a margin)."""
        return time.time() >= self.expires - self.settings.timeout - self.settings.lease / 4

    def flush(self) -> bool:
        """Renew the lease and write the noted deliveries in one transaction. False (and nothing
        written) when the lease was taken over; False after writing when the subscription ended."""
        now = time.time()
        # a success ends a run of failures
        last = self.rows[-1]["at"] if self.rows else None
        status = leases.renew(self.connection, self.lease, now + self.settings.lease, delivered_at=last)
        if status is None:
            self.connection.rollback()
            self.rows = []
            return False  # another claim owns it now: stop without writing
        if self.rows:
            outbox.record_deliveries(self.connection, self.rows)
        self.connection.commit()
        self.rows = []
        self.expires = now + self.settings.lease
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
        self.name = f"{socket.gethostname()[:24]}:{os.getpid()}:{secrets.token_hex(3)}"
        self.wake = threading.Event()
        self._next_maintenance = 0.0
        self._pg = self.engine.dialect.name == "postgresql"

    # --- claiming ----------------------------------------------------------------------------------

    def candidates(self, now: float, limit: int, failing: bool | None = None) -> Any:
        """The query of :meth:`claim`: due, free subscriptions, least recently served first."""
        return leases.claimable(now, limit, self.settings.dead_after, failing, for_update=self._pg)

    def claim(self, limit: int, failing: bool | None = None) -> list[Lease]:
        """Lease up to ``limit`` due subscriptions, each under a new token: unleased ones, those
        whose lease ran out, and those of workers that fell silent. The least recently released
        first, so every subscription gets its turn. ``failing``: only those whose last attempt
        failed (True), only the others (False)."""
        if limit <= 0:
            return []
        now = time.time()
        token = f"{secrets.token_hex(8)}@{self.name}"[:64]
        with self.engine.begin() as connection:
            ids = connection.execute(self.candidates(now, limit, failing)).scalars().all()
            if not ids:
                return []
            until = now + self.settings.lease
            return leases.take(connection, list(ids), token, self.name, now, until, self.settings.dead_after)

    def fair_share(self) -> int:
        """How many subscriptions this worker should hold: the busy ones divided among the live
        workers (all of them when it is alone), so a second worker gets work at once."""
        now = time.time()
        with self.engine.connect() as connection:
            live = heartbeats.count_live(connection, now, self.settings.dead_after)
            if live <= 1:
                return self.settings.concurrency
            busy = leases.count_due(connection, now)
        return -(-busy // live)  # ceiling

    def _release(self, lease: Lease) -> None:
        with self.engine.begin() as connection:
            leases.release(connection, lease, time.time())

    # --- heartbeat ---------------------------------------------------------------------------------

    def beat(self) -> None:
        """Say this worker is alive (its leases hold while it does)."""
        with self.engine.begin() as connection:
            heartbeats.beat(connection, self.name, time.time())

    @contextmanager
    def alive(self) -> Iterator[None]:
        """Beat every ``dead_after / 5`` seconds while the body runs; leave the roll on exit, so
        the subscriptions of a worker that stops are taken over at once."""
        self.beat()
        done = threading.Event()

        def loop() -> None:
            while not done.wait(self.settings.dead_after / 5):
                try:
                    self.beat()
                except Exception:
                    log.warning("delivery worker %s could not write its heartbeat", self.name)

        thread = threading.Thread(target=loop, name="delivery-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(5)
            with self.engine.begin() as connection:
                heartbeats.leave(connection, self.name)

    # --- delivering --------------------------------------------------------------------------------

    def deliver_subscription(self, lease: Lease) -> int:
        """Send the leased subscription's due events, in order, for one turn, then give the lease
        back (so other subscriptions and other workers get theirs); returns how many were delivered.
        A turn ends when nothing more is due, at the first failure, or after ``turn`` seconds."""
        subscription_id = lease.subscription_id
        delivered = 0
        try:
            # One connection for the whole chain, and successes written in groups: database round
            # trips, not HTTP, bound a worker (bench/delivery.py measured 3-4x from these two).
            with self.engine.connect() as connection:
                target = self.store.delivery_target(connection, subscription_id)
                if target is None:
                    return 0
                recorder, signer = _Recorder(connection, lease, self.settings), Webhook(target[1])
                ends = time.monotonic() + self.settings.turn
                try:
                    more = True
                    while more:
                        sent, more = self._deliver_batch(connection, lease, recorder, target[0], signer, ends)
                        delivered, more = delivered + sent, more and time.monotonic() < ends
                finally:
                    recorder.flush()  # what was delivered is written, unless the lease was lost
                return delivered
        except Exception:
            log.exception("delivery to subscription %s… stopped by an unexpected error", subscription_id[:4])
            return delivered
        finally:
            self._release(lease)

    def _deliver_batch(
        self, connection: sa.Connection, lease: Lease, recorder: _Recorder, url: str, signer: Webhook, ends: float
    ) -> tuple[int, bool]:
        """Send one batch; returns (delivered, whether the next batch may follow in this turn)."""
        delivered = 0
        batch = outbox.pending_batch(connection, lease.subscription_id, self.settings.batch)
        connection.commit()
        for event in batch:
            if event.next_attempt_at > time.time():
                return delivered, False  # this one waits for its retry; those behind it wait too
            if delivered and time.monotonic() >= ends:
                # The turn is over: a subscriber that answers slowly but in time gives its thread
                # back as often as one that fails (the least recently served goes next).
                return delivered, False
            if recorder.must_renew() and not recorder.flush():
                return delivered, False  # unsubscribed, or lease lost: another worker has it
            attempt = self._send(url, signer, event.webhook_id, event.payload)
            if attempt.delivered:
                delivered += 1
                if not recorder.delivered(event, attempt.status, attempt.duration):
                    return delivered, False  # the subscription ended meanwhile
                continue
            if not recorder.flush() or self._record_failure(connection, lease, event, attempt) != FAILED:
                return delivered, False  # retry scheduled, or the subscription ended
        # Written before the next batch is read, or it would read these events again as pending.
        return delivered, len(batch) == self.settings.batch and recorder.flush()

    def _send(self, url: str, signer: Webhook, webhook_id: str, payload: bytes) -> Attempt:
        timestamp = datetime.now(tz=UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signer.sign(webhook_id, timestamp, payload.decode()),
        }
        started = time.perf_counter()
        attempt = metrics.delivery_attempt(self.sender(url, payload, headers), started)
        return replace(attempt, duration=time.perf_counter() - started)

    def _record_failure(self, connection: sa.Connection, lease: Lease, event: Any, attempt: Attempt) -> str:
        """Write a failed attempt, fenced by the lease; returns the event's new status ("pending" =
        retry later, "cancelled" = stop). Disables the subscription once it has failed without a
        success for ``disable_after`` seconds."""
        now, attempts = time.time(), event.attempts + 1
        subscription_id = lease.subscription_id
        failing_since = leases.note_failure(connection, lease, now, now + self.settings.lease)
        if failing_since is None:
            connection.rollback()
            return CANCELLED  # lease lost: the new holder sends it again
        values: dict[str, Any] = {"attempts": attempts, "last_status": attempt.status, "last_error": attempt.error}
        if attempt.status == 410:
            values.update(status=CANCELLED, last_error="subscriber answered 410 Gone: subscription ended")
        elif attempts > len(self.settings.schedule):
            values.update(status=FAILED)
        else:
            values.update(next_attempt_at=now + self._delay(attempts, attempt.retry_after))
        tried = {
            "attempted_at": now - (attempt.duration or 0.0),
            "status_code": attempt.status,
            "duration_ms": None if attempt.duration is None else round(attempt.duration * 1000),
            "error": attempt.error,
        }
        changed = outbox.record_failure(connection, event.id, values, tried)
        connection.commit()
        if not changed:
            return CANCELLED  # the subscription ended meanwhile
        if attempt.status == 410:
            self.store.end(subscription_id, "subscriber answered 410 Gone")
            self.maintain(force=True)
            return CANCELLED
        if now - failing_since >= self.settings.disable_after:
            since = datetime.fromtimestamp(failing_since, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            reason = f"every delivery failed since {since} (last: {attempt.error})"
            if self.store.disable(subscription_id, reason):
                log.warning("subscription %s… disabled: %s", subscription_id[:4], reason)
            return CANCELLED
        return values.get("status", PENDING)

    def _delay(self, attempts: int, retry_after: float | None) -> float:
        delay = self.settings.schedule[attempts - 1] * random.uniform(0.8, 1.2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.settings.retry_after_cap))
        return delay

    # --- upkeep ------------------------------------------------------------------------------------

    def maintain(self, force: bool = False) -> None:
        """Every ``MAINTENANCE_EVERY`` seconds: retry upstream unsubscriptions of ended
        subscriptions (410s, DELETEs whose upstream call failed), and prune old events."""
        now = time.time()
        if now < self._next_maintenance and not force:
            return
        self._next_maintenance = now + MAINTENANCE_EVERY
        if self.unsubscribe_upstream is not None:
            for subscription in self.store.pending_upstream_removals():
                self.store.remove_upstream(subscription, self.unsubscribe_upstream)
        self.prune()

    def prune(self, rounds: int = 10) -> int:
        """Delete delivered and cancelled events older than ``retention``, failed ones older than
        ``failed_retention`` (but never those a disabled subscription holds for its owner to send),
        ``prune_batch`` rows per transaction (short locks), at most ``rounds`` batches of each per
        call; the next upkeep round goes on. Returns how many."""
        now, removed = time.time(), 0
        for statuses, age, keep_of in (
            ((DELIVERED, CANCELLED), self.settings.retention, None),
            ((FAILED,), self.settings.failed_retention, leases.disabled_ids()),
        ):
            for _ in range(rounds):
                with self.engine.begin() as connection:
                    count = outbox.prune(connection, statuses, now - age, self.settings.prune_batch, keep_of)
                removed += count
                if count < self.settings.prune_batch:
                    break
        with self.engine.begin() as connection:  # workers that left without a word, long ago
            heartbeats.forget_silent(connection, now - DAY)
        return removed

    # --- loops -------------------------------------------------------------------------------------

    def drain(self, timeout: float = 30.0) -> int:
        """Deliver everything due now, in this thread, until nothing is left to claim (tests, benches)."""
        delivered, deadline = 0, time.monotonic() + timeout
        with self.alive(), ThreadPoolExecutor(self.settings.concurrency) as pool:
            while time.monotonic() < deadline:
                claimed = self.claim(self.settings.concurrency)
                if not claimed:
                    return delivered
                delivered += sum(pool.map(self.deliver_subscription, claimed))
        return delivered

    def claim_lanes(self, running: dict[Future[int], bool]) -> list[Lease]:
        """Fill free threads: subscriptions whose last attempt failed first, up to their share
        (``failing_slots``), so they are not starved; healthy ones take every other free thread.
        A subscriber that turns slow holds a healthy thread for one attempt deadline at most."""
        free = min(self.settings.concurrency, self.fair_share()) - len(running)
        failing_free = min(free, self.settings.failing_slots - sum(running.values()))
        claimed = self.claim(failing_free, failing=True)
        return claimed + self.claim(free - len(claimed), failing=False)

    def run(self, stop: threading.Event) -> None:
        log.info("delivery worker %s started", self.name)
        running: dict[Future[int], bool] = {}  # chain -> whether it runs in the failing lane
        with self.alive(), ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="deliver") as pool:
            while not stop.is_set():
                try:
                    self.maintain()
                    claimed = self.claim_lanes(running)
                except Exception:
                    log.exception("delivery worker could not reach the database; retrying")
                    claimed = []
                    stop.wait(1.0)
                for lease in claimed:
                    running[pool.submit(self.deliver_subscription, lease)] = lease.failing
                # Everything due is claimed: wait for a slot to free up, new events, or the next retry.
                if running:
                    done, _ = wait(running, timeout=self.settings.idle_wait, return_when=FIRST_COMPLETED)
                    for future in done:
                        del running[future]
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
