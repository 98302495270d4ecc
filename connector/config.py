"""Settings read once from ``CONNECTOR_*`` environment variables.

Every framework variable is listed in ``SETTINGS`` with its default and meaning, and the README's
configuration table is checked against this list by a test, so the two cannot drift. Upstream URLs
are not here: each catalog declares its services' variables and default URLs
(:class:`connector.declarations.Service`), and the same test checks their README rows.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PREFIX = "CONNECTOR_"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    cast: type = str


LOG_FORMATS = ("text", "json")


def _log_format(value: Any) -> str:
    """``text`` or ``json``; anything else stops the start-up with the choices named."""
    text = str(value).strip().lower()
    if text not in LOG_FORMATS:
        raise ValueError(f"CONNECTOR_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {value!r}")
    return text


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


SETTINGS: tuple[Setting, ...] = (
    Setting("PUBLIC_URL", "http://localhost:8000", "Public base URL written into the specs (host, scheme, base path)."),
    Setting("CATALOGS", "", "Comma-separated connector names to serve; empty serves every installed catalog."),
    Setting(
        "SANDBOX", False, "Point every upstream at the embedded sandbox emulator (set by `serve --sandbox`).", _bool
    ),
    Setting(
        "RATE_LIMIT",
        "100 per 60 seconds",
        "Calls allowed per credential and connector ('N per period', as the limits library parses it).",
    ),
    Setting(
        "RATELIMIT_STORAGE_URL", "memory://", "Rate-limit storage shared by processes, e.g. redis://localhost:6379/0."
    ),
    Setting("MAX_BODY_BYTES", 20 * 1024 * 1024, "Largest request body accepted; larger bodies get 413.", int),
    Setting(
        "MAX_REQUEST_LINE",
        8190,
        "Longest request line (method, path and query string) `serve` accepts, in bytes (at most 8190); "
        "longer gets 414.",
        int,
    ),
    Setting("MAX_HEADER_BYTES", 8190, "Longest request header field `serve` accepts, in bytes; longer gets 431.", int),
    Setting("UPSTREAM_READ_TIMEOUT", 10.0, "Seconds to wait for upstream reads (GET).", float),
    Setting("UPSTREAM_WRITE_TIMEOUT", 60.0, "Seconds to wait for upstream writes (POST, PATCH, PUT, DELETE).", float),
    Setting("UPSTREAM_CONNECT_TIMEOUT", 5.0, "Seconds to wait for an upstream connection.", float),
    Setting(
        "UPSTREAM_RETRIES",
        3,
        "Retries for idempotent upstream calls on 408/429/502/503/504 and connection errors.",
        int,
    ),
    Setting("UPSTREAM_BACKOFF", 0.5, "Backoff factor in seconds between upstream retries (doubles each retry).", float),
    Setting("UPSTREAM_RETRY_AFTER_CAP", 30.0, "Longest upstream Retry-After honoured, in seconds.", float),
    Setting("UPSTREAM_POOL_SIZE", 32, "Pooled upstream connections kept per host.", int),
    Setting("LOG_LEVEL", "INFO", "Log level of the service."),
    Setting(
        "LOG_FORMAT",
        "text",
        "text: plain log lines; json: one JSON object a line (time, level, logger, message, request_id and, on "
        "access lines, method, path, status, duration_ms), redacted like the text lines.",
        _log_format,
    ),
    Setting(
        "DATA_DIR",
        ".connector",
        "Directory of the embedded defaults' files (the SQLite database), created when missing.",
    ),
    Setting(
        "DATABASE_URL",
        "",
        "SQLAlchemy URL of the database (idempotency keys); empty means a SQLite file in DATA_DIR. "
        "PostgreSQL: postgresql+psycopg://user:password@host/db.",
    ),
    Setting("IDEMPOTENCY_TTL", 86400, "Seconds an Idempotency-Key and its stored response are kept.", int),
    Setting(
        "SECRET_KEY",
        "",
        "Fernet key(s), comma-separated (the first encrypts), for the secrets kept at rest; empty means a key "
        "file created in DATA_DIR.",
    ),
    Setting(
        "ALLOW_PRIVATE_CALLBACKS",
        False,
        "Accept webhook callback URLs on private, loopback and link-local addresses (local development only).",
        _bool,
    ),
    Setting(
        "DELIVERY_SCHEDULE",
        "5,300,1800,7200,18000,36000,36000",
        "Seconds before each retry of a failed webhook delivery (jittered by up to 20%); after the last, "
        "the event is marked failed.",
    ),
    Setting(
        "DELIVERY_TIMEOUT",
        10.0,
        "Seconds one delivery attempt may take in all (connect, send, the whole answer), whatever the subscriber "
        "does; must be under half of DELIVERY_LEASE.",
        float,
    ),
    Setting("DELIVERY_CONCURRENCY", 16, "Subscriptions one worker process delivers to at the same time.", int),
    Setting(
        "DELIVERY_LEASE",
        60.0,
        "Seconds a claim on a subscription lasts unless renewed; a worker renews its claims as it sends.",
        float,
    ),
    Setting(
        "DELIVERY_DEAD_AFTER",
        10.0,
        "Seconds without a heartbeat after which a delivery worker counts as dead and its subscriptions "
        "go to the others (workers beat every fifth of this).",
        float,
    ),
    Setting("RETENTION_DAYS", 7.0, "Days delivered and cancelled webhook events are kept (then pruned).", float),
    Setting("FAILED_RETENTION_DAYS", 30.0, "Days failed webhook events are kept, for their owners to retry.", float),
    Setting("DELIVERY_RETRY_AFTER_CAP", 3600.0, "Longest subscriber Retry-After honoured, in seconds.", float),
    Setting(
        "DELIVERY_DISABLE_AFTER",
        432000.0,
        "Seconds of continuous delivery failure (no success at all) after which a subscription is disabled, "
        "until its owner enables it again (default 5 days).",
        float,
    ),
    Setting(
        "MAX_SUBSCRIPTIONS",
        100,
        "Webhook subscriptions (active or disabled) one credential may hold per connector; 0 means no limit.",
        int,
    ),
    Setting(
        "WORKER",
        "embedded",
        "embedded: `serve` delivers webhook events itself; off: leave it to `connector worker` processes.",
    ),
    Setting("POLL_INTERVAL", 60, "Seconds polling triggers ask Power Automate to wait between polls.", int),
)


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Keys are the setting names without the prefix, lower-cased."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults, then ``CONNECTOR_*`` variables, then explicit overrides (tests, CLI flags)."""
        environ = os.environ if environ is None else environ
        overrides = {k.upper().removeprefix(PREFIX): v for k, v in (overrides or {}).items()}
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = overrides.get(setting.name, environ.get(PREFIX + setting.name, setting.default))
            values[setting.name.lower()] = setting.cast(raw)
        for key, value in overrides.items():  # extra keys (e.g. the catalogs' upstream URLs)
            values.setdefault(key.lower(), value)
        return cls(values)

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name.lower(), os.environ.get(PREFIX + name.upper(), default))


__all__ = ["SETTINGS", "Setting", "Settings"]
