"""Capabilities out of every log line, ours, gunicorn's and third-party libraries' alike.

Two kinds of text in a log line let whoever reads the log act:

- capability paths: a receiver token (``/hooks/<token>``) lets anyone post events, and a
  subscription id (``/subscriptions/<id>``) unsubscribes without a key, so only their first
  characters are kept, enough to correlate lines;
- query strings, credentials and secret-looking path segments of URLs: a Power Automate or Logic
  Apps callback URL carries a ``sig`` parameter that starts the flow
  (https://learn.microsoft.com/azure/logic-apps/logic-apps-securing-a-logic-app#generate-shared-access-signatures-sas),
  Zapier's, Make's and Slack's hooks carry their secret in the path, and libraries such as urllib3
  log whole URLs in their warnings. Queries become ``?***``, ``user:password@`` becomes ``***@``,
  and a path segment of 20 characters or more, or of 8 or more with a digit, keeps 4 and ``…``.

``RedactingFilter`` rewrites the formatted message of a record. It sits on handlers, not loggers,
because a logger's filters do not see records propagated from its children (``urllib3.*`` records
reach the root logger's handlers without passing the root logger's filters):
https://docs.python.org/3/library/logging.html#filter-objects
"""

from __future__ import annotations

import logging
import os
import re
import time
import weakref
from typing import Any

import orjson
from gunicorn.glogging import Logger

from connector.request_ids import ENVIRON_KEY, current_request_id

CAPABILITY = re.compile(r"(/(?:hooks|subscriptions)/[A-Za-z0-9_-]{4})[A-Za-z0-9_-]+")

# What may end a URL in free text: white space, quotes, angle brackets, a backslash (repr escapes).
_URL_CHAR = r"[^\s\"'<>\\]"
_PATH_CHAR = r"[^\s\"'<>\\?#]"
# A URL with a scheme, or a bare path (``GET /x?y``, urllib3's ``with url: /x?y``) at a word start.
QUERY = re.compile(
    rf"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://{_PATH_CHAR}*|(?<![^\s\"'(=\[<,:])/{_PATH_CHAR}*)"
    rf"(?P<sep>[?#]){_URL_CHAR}+"
)
USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s\"'<>\\/@]+@")
# A URL with a scheme, up to its query: its path may carry a secret (Zapier, Make, Slack and n8n hooks).
SCHEME_URL = re.compile(rf"\b[A-Za-z][A-Za-z0-9+.-]*://{_PATH_CHAR}*")
# A path segment that looks like a secret: 20 characters or more, or 8 or more with a digit in them.
SECRET_SEGMENT = re.compile(r"(?<=/)([A-Za-z0-9_-]{4})(?=[A-Za-z0-9_-]*\d|[A-Za-z0-9_-]{16})[A-Za-z0-9_-]{4,}")


def mask_path(path: str) -> str:
    """Segments of a URL path that look like secrets shortened to a prefix (``/hooks/abcd…``)."""
    return SECRET_SEGMENT.sub(r"\1…", path)


def _mask_url_path(match: re.Match[str]) -> str:
    url = match.group(0)
    scheme_end = url.index("://") + 3
    slash = url.find("/", scheme_end)
    return url if slash < 0 else url[:slash] + mask_path(url[slash:])


def redact(text: str) -> str:
    """Capability paths shortened to a prefix."""
    return CAPABILITY.sub(r"\1…", text)


def mask_urls(text: str) -> str:
    """Query strings, fragments and credentials of URLs replaced by ``***``; path segments of URLs
    with a scheme that look like secrets shortened to a prefix."""
    return SCHEME_URL.sub(_mask_url_path, USERINFO.sub(r"\1***@", QUERY.sub(r"\g<head>\g<sep>***", text)))


def scrub(text: str) -> str:
    """Everything a log line must not carry: capability paths and URLs' queries and credentials."""
    if "/" not in text:
        return text
    return mask_urls(redact(text))


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (with its arguments), traceback and stack as ``scrub`` does."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format: leave it to the handler, which reports it
            return True
        cleaned = scrub(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


_FORMATTER = logging.Formatter()
FILTER = RedactingFilter()
GUNICORN_LOGGERS = ("gunicorn.error", "gunicorn.access")
JSON = "json"
# What a JSON line carries besides time, level, logger and message, when a record has it.
JSON_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "bytes", "remote_addr", "user_agent")


class RequestIdFilter(logging.Filter):
    """Adds the id of the request being served (``connector.request_ids``) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line. Every text in it passes through ``scrub`` again, so a handler that
    lacks the ``RedactingFilter`` still writes no capability, and fields added by the caller
    (``extra=``) are cleaned as the message is."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        fields = record.__dict__
        for name in JSON_FIELDS:
            value = fields.get(name)
            if value is not None:
                entry[name] = scrub(value) if isinstance(value, str) else value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = scrub(record.exc_text)
        if record.stack_info:
            entry["stack"] = scrub(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


JSON_FORMATTER = JsonFormatter()
REQUEST_IDS = RequestIdFilter()
_PLAIN = logging.Formatter(logging.BASIC_FORMAT)
_TEXT_FORMATTERS: weakref.WeakKeyDictionary[logging.Handler, logging.Formatter] = weakref.WeakKeyDictionary()


def install_filter(logger: logging.Logger, log_format: str | None = None) -> None:
    """Put the filter on each of ``logger``'s handlers (once); with ``log_format``, also its
    formatter: JSON with request ids, or back to plain text from JSON."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(FILTER)
        if log_format == JSON:
            if handler.formatter is not JSON_FORMATTER:
                _TEXT_FORMATTERS[handler] = handler.formatter or _PLAIN  # given back if text returns
                handler.setFormatter(JSON_FORMATTER)
            if REQUEST_IDS not in handler.filters:
                handler.addFilter(REQUEST_IDS)
        elif log_format is not None and handler.formatter is JSON_FORMATTER:
            handler.setFormatter(_TEXT_FORMATTERS.pop(handler, _PLAIN))
            handler.removeFilter(REQUEST_IDS)


def configure_logging(level: int | str, log_format: str = "text") -> None:
    """The service's logging: ``basicConfig`` as before, then the filter (and, for ``json``, the
    JSON formatter) on the root handlers and on gunicorn's, when gunicorn has already set them up
    (app built in a worker)."""
    logging.basicConfig(level=level)
    install_filter(logging.getLogger(), log_format)
    for name in GUNICORN_LOGGERS:
        install_filter(logging.getLogger(name), log_format)


class RedactingLogger(Logger):
    """gunicorn's logger (``logger_class``) with the filter on its error and access handlers, and
    with ``CONNECTOR_LOG_FORMAT=json``, JSON lines: access lines with the request id, method,
    path (query masked), status and duration."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.json = os.environ.get("CONNECTOR_LOG_FORMAT", "").strip().lower() == JSON
        log_format = JSON if self.json else None
        install_filter(logging.getLogger(), log_format)  # a logconfig_dict may have replaced them
        for log in (self.error_log, self.access_log):
            install_filter(log, log_format)

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not getattr(self, "json", False):
            super().access(resp, req, environ, request_time)
            return
        if not self.access_log_enabled:
            return
        path = scrub(redact(req.uri or req.path or "-"))
        status = getattr(resp, "status_code", None)
        self.access_log.info(
            "%s %s %s",
            req.method,
            path,
            status,
            extra={
                "request_id": environ.get(ENVIRON_KEY),
                "method": req.method,
                "path": path,
                "status": status,
                "duration_ms": round(request_time.total_seconds() * 1000, 3),
                "bytes": getattr(resp, "sent", None),
                "remote_addr": environ.get("REMOTE_ADDR"),
                "user_agent": environ.get("HTTP_USER_AGENT"),
            },
        )
