"""Per-credential rate limits, counted in memory or in a shared store such as Redis.

Built on ``limits``, the engine of flask-limiter, called once per operation call. flask-limiter's
own request hooks measured at 15-20 % of the CPU of a proxied call (bench/README.md), for work
this service does not need (its limits are per credential and per connector, nothing else).
Counters are keyed by a digest of the credential, so the store never holds an API key.
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from connector import metrics
from connector.errors import Problem
from connector.vault import credential_digest

SWEEP_EVERY = 1.0  # seconds between sweeps of expired in-memory counters


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory store, with expired entries swept at most once a second by the call that
    finds the sweep due. The library's own schedule starts a timer thread whenever the last one
    (10 ms) has ended: under load, a thread per call or so, which bench/throughput.py measured as
    the largest cost of the rate limit. Expiry only frees memory: a moving window checks each
    entry's time itself, so sweeping less often changes no verdict."""

    _next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the library's private scheduler
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY
            self._MemoryStorage__expire_events()


class Storage:
    """One counter store per application, shared by every connector's limit."""

    def __init__(self, url: str) -> None:
        self.url = url
        backend = SweptMemoryStorage() if url.rstrip("/") == "memory:" else storage_from_string(url)
        self.strategy = MovingWindowRateLimiter(backend)

    @property
    def shared(self) -> bool:
        """Whether processes share the counters (anything but ``memory://``)."""
        return not self.url.startswith("memory://")


class CredentialLimit:
    """``N per period`` calls per credential within one scope (a connector)."""

    def __init__(self, rate: str, storage: Storage, scope: str) -> None:
        self.item = parse(rate)
        self.description = rate
        self.strategy = storage.strategy
        self.scope = scope
        self.connector = scope.removeprefix("connector:")  # the label of its rejections in metrics

    def hit(self, credential: str) -> None:
        """Count one call, or raise 429 with the seconds until the window lets one through."""
        key = credential_digest(credential)
        if self.strategy.hit(self.item, self.scope, key):
            return
        metrics.rate_limited(self.connector)
        reset_at = self.strategy.get_window_stats(self.item, self.scope, key).reset_time
        wait = max(1, min(math.ceil(reset_at - time.time()), self.item.get_expiry()))
        raise Problem(
            429,
            f"Too many calls with this API key: the limit is {self.description}. Retry after {wait} s.",
            headers={"Retry-After": str(wait)},
        )
