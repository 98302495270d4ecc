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
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from connector import metrics
from connector.errors import Problem
from connector.vault import credential_digest


class Storage:
    """One counter store per application, shared by every connector's limit."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.strategy = MovingWindowRateLimiter(storage_from_string(url))

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
