"""How the delivery workers behave, read from the service's settings. Its own module, light to
import, so that ``create_app`` can refuse inconsistent settings at start-up without loading the
delivery machinery (and the database library) a process may never use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connector.config import Settings

DAY = 86400.0


@dataclass(frozen=True)
class DeliverySettings:
    schedule: tuple[float, ...]
    timeout: float = 10.0  # the whole attempt: connect, send, the complete answer
    concurrency: int = 16
    lease: float = 60.0
    retry_after_cap: float = 3600.0
    allow_private: bool = False
    batch: int = 100
    idle_wait: float = 0.5
    group: int = 20  # deliveries written per commit
    group_seconds: float = 0.25  # ... or after this long, whichever comes first
    disable_after: float = 5 * 86400.0  # seconds of continuous failure before a subscription is disabled
    dead_after: float = 10.0  # a worker silent this long is dead: its subscriptions go to the others
    retention: float = 7 * DAY  # delivered and cancelled events are kept this long
    failed_retention: float = 30 * DAY  # failed ones longer: people retry them
    prune_batch: int = 1000  # events deleted per statement (short locks)

    @property
    def turn(self) -> float:
        """Seconds a chain keeps its thread and lease before the next subscription's turn: long
        enough that taking turns costs little, never longer than one attempt deadline."""
        return min(1.0, self.timeout)

    def __post_init__(self) -> None:
        if self.lease <= 2 * self.timeout:
            raise ValueError(
                f"CONNECTOR_DELIVERY_LEASE ({self.lease:g} s) must be more than twice CONNECTOR_DELIVERY_TIMEOUT "
                f"({self.timeout:g} s): a send must always end before the lease it runs under"
            )

    @property
    def failing_slots(self) -> int:
        """Delivery threads subscriptions whose last attempt failed may hold at once: the rest are
        kept for healthy ones, so a crowd of slow or dead subscribers cannot hold them all."""
        return max(1, self.concurrency // 4)

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
            disable_after=settings.delivery_disable_after,
            dead_after=settings.delivery_dead_after,
            retention=settings.retention_days * DAY,
            failed_retention=settings.failed_retention_days * DAY,
        )
