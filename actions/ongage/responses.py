"""What Ongage's answers mean, declared once for the service (``Service.on_response``).

Ongage wraps every answer as ``{"metadata": {"error": bool}, "payload": ...}``
(https://ongage.atlassian.net/wiki/spaces/HELP/pages/947553199/Events+Trigger+API+Methods): the
hook gives the operations the payload, and carries the message and field errors Ongage puts inside
``payload`` into our problem for an error status.
"""

from __future__ import annotations

from typing import Any

from connector.errors import Problem
from connector.upstream import UpstreamResponse


def ongage_response(response: UpstreamResponse) -> Any:
    if 200 <= response.status < 300:
        return _payload(response.service, response.data())
    raise response.error(message=_message(response.body), errors=_errors(response.body))


def _payload(service: str, body: Any) -> Any:
    """The payload of Ongage's envelope; an envelope flagged as an error is an upstream failure."""
    if not isinstance(body, dict) or "payload" not in body:
        return body
    if isinstance(body.get("metadata"), dict) and body["metadata"].get("error") is True:
        raise Problem(502, f"{service} reported an error: {_message(body) or 'no message'}.")
    return body["payload"]


def _message(body: Any) -> str | None:
    payload = body.get("payload") if isinstance(body, dict) else None
    message = payload.get("message") if isinstance(payload, dict) else None
    return message.strip().rstrip(".") if isinstance(message, str) and message.strip() else None


def _errors(body: Any) -> dict[str, list[str]] | None:
    payload = body.get("payload") if isinstance(body, dict) else None
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, dict) or not errors:
        return None
    return {str(k): [str(m) for m in v] if isinstance(v, list) else [str(v)] for k, v in errors.items()}
