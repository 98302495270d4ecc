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
import re
from typing import Any

from gunicorn.glogging import Logger

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


def install_filter(logger: logging.Logger) -> None:
    """Put the filter on each of ``logger``'s handlers (once)."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(FILTER)


def configure_logging(level: int | str) -> None:
    """The service's logging: ``basicConfig`` as before, then the filter on the root handlers
    and on gunicorn's, when gunicorn has already set them up (app built in a worker)."""
    logging.basicConfig(level=level)
    install_filter(logging.getLogger())
    for name in GUNICORN_LOGGERS:
        install_filter(logging.getLogger(name))


class RedactingLogger(Logger):
    """gunicorn's logger (``logger_class``) with the filter on its error and access handlers."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install_filter(logging.getLogger())  # a logconfig_dict may have replaced them
        for log in (self.error_log, self.access_log):
            install_filter(log)

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
