"""Calling a connector's actions on a running service, patiently: a 429 or a key still in use is
waited out (as long as it takes: the service's rate budget decides the pace, never this client), and
a connection failure or a 5xx is retried with backoff a few times, which the idempotency key makes
safe. Anything else is the answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from connector.idempotency import HEADER, REPLAYED_HEADER

RETRIES = 6  # connection failures and 5xx, with backoff 0.5, 1, 2, 4, 8, 16 s (about half a minute)
WAIT_CAP = 300.0  # the longest Retry-After taken as given
TIMEOUT = (5.0, 300.0)  # connect, read: a bulk call can take long upstream


class Unavailable(Exception):
    """The service could not be reached or kept failing; run the import again later."""


class Refused(Exception):
    """The service refused the credential (401, 403): no call of this import can succeed."""


@dataclass
class Answer:
    status: int
    body: Any
    replayed: bool

    @property
    def problem(self) -> str:
        """What a problem+json answer says, in one line."""
        if not isinstance(self.body, dict):
            return f"HTTP {self.status}"
        text = str(self.body.get("detail") or self.body.get("title") or f"HTTP {self.status}")
        errors = self.body.get("errors")
        if isinstance(errors, dict) and errors:
            text += " " + "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items())
        return text


@dataclass
class ActionClient:
    """``POST {url}/{connector}/actions/{key}`` with the credential header and an Idempotency-Key."""

    url: str
    connector: str
    header: str
    api_key: str
    on_wait: Callable[[float, str], None] = lambda seconds, reason: None
    sleep: Callable[[float], None] = time.sleep
    calls: int = 0  # HTTP requests made, retries and waits included
    session: requests.Session = field(default_factory=requests.Session)

    def call(self, action: str, body: dict[str, Any], key: str | None = None) -> Answer:
        headers = {self.header: self.api_key}
        if key is not None:
            headers[HEADER] = key
        endpoint = f"{self.url.rstrip('/')}/{self.connector}/actions/{action}"
        failures = 0
        while True:
            try:
                self.calls += 1
                response = self.session.post(endpoint, json=body, headers=headers, timeout=TIMEOUT)
            except requests.RequestException as error:
                failures = self._back_off(failures, f"cannot reach {self.url}: {type(error).__name__}")
                continue
            answer = Answer(response.status_code, _json(response), response.headers.get(REPLAYED_HEADER) == "true")
            if response.status_code == 429 or (
                response.status_code == 409 and _kind(answer) == "idempotency-key-in-use"
            ):
                reason = "rate limit" if response.status_code == 429 else "the same call still running"
                self._wait(_retry_after(response), reason)
            elif response.status_code in (401, 403):
                raise Refused(f"{self.url} refused the API key ({response.status_code}): {answer.problem}")
            elif response.status_code >= 500:
                failures = self._back_off(failures, f"{self.url} answered {response.status_code}: {answer.problem}")
            else:
                return answer

    def _wait(self, seconds: float, reason: str) -> None:
        self.on_wait(seconds, reason)
        self.sleep(seconds)

    def _back_off(self, failures: int, why: str) -> int:
        if failures >= RETRIES:
            raise Unavailable(why)
        self._wait(0.5 * 2**failures, why)
        return failures + 1


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _kind(answer: Answer) -> str:
    kind = answer.body.get("type", "") if isinstance(answer.body, dict) else ""
    return str(kind).rsplit(":", 1)[-1]


def _retry_after(response: requests.Response) -> float:
    """Retry-After in seconds (the service sends seconds); 1 s when missing or unreadable."""
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.0), WAIT_CAP)
    except ValueError:
        return 1.0
