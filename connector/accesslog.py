"""gunicorn's access log without the capability URLs: a receiver token (``/hooks/<token>``) lets
anyone post events, and a subscription id (``/subscriptions/<id>``) unsubscribes without a key,
so the log keeps only their first characters, enough to correlate lines."""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

CAPABILITY = re.compile(r"(/(?:hooks|subscriptions)/[A-Za-z0-9_-]{4})[A-Za-z0-9_-]+")


def redact(text: str) -> str:
    return CAPABILITY.sub(r"\1…", text)


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
