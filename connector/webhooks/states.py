"""A subscription's states and the refusal to add one more: what the HTTP views need to know about
subscriptions without loading the store (and the database library) behind them."""

from __future__ import annotations

ACTIVE, DISABLED, ENDED = "active", "disabled", "ended"


class TooManySubscriptions(Exception):
    """The credential already has as many subscriptions as allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit
