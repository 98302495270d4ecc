"""One error shape for everything: RFC 9457 ``application/problem+json``.

``{type, title, status, detail, errors: {field: [messages]}}`` plus optional extension members
(for example the id of the contact a 409 collided with). Anything a client sent that we cannot
handle becomes a 4xx here; an unexpected exception becomes a bare 500 without internals.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from connector.jsonio import PROBLEM_JSON, json_response

log = logging.getLogger(__name__)

PROBLEM_TYPES: dict[int, str] = {
    400: "malformed-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    411: "length-required",
    413: "body-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    417: "expectation-failed",
    422: "validation-error",
    429: "rate-limited",
    431: "header-fields-too-large",
    500: "internal-error",
    501: "not-implemented",
    502: "upstream-error",
    504: "upstream-timeout",
}


def problem_type(status_or_kind: int | str) -> str:
    if isinstance(status_or_kind, str):
        return "urn:connector:problem:" + status_or_kind
    return "urn:connector:problem:" + PROBLEM_TYPES.get(status_or_kind, str(status_or_kind))


class Problem(Exception):
    """An error answer. Raise it anywhere in a request; the handler renders it."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        kind: str | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.kind = kind  # a more specific problem type than the status gives
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": problem_type(self.kind or self.status),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extensions)
        return body

    def response(self) -> Response:
        return json_response(self.to_dict(), self.status, self.headers, mimetype=PROBLEM_JSON)


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested error dict → ``{"contacts.0": ["..."]}`` so every field is one key."""
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_body": list(messages)}
    if isinstance(messages, str):
        return {prefix or "_body": [messages]}
    flat: dict[str, list[str]] = {}
    items = messages.items() if isinstance(messages, dict) else enumerate(messages)
    for key, value in items:
        name = "_body" if key == "_schema" and not prefix else str(key)
        path = f"{prefix}.{name}" if prefix else name
        for field, msgs in flatten_errors(value, path).items():
            flat.setdefault(field, []).extend(msgs)
    return flat


def validation_problem(messages: Any) -> Problem:
    errors = flatten_errors(messages)
    names = ", ".join(errors)
    detail = f"{len(errors)} field{'s' if len(errors) != 1 else ''} failed validation: {names}."
    return Problem(422, detail, errors=errors)


_HTTP_DETAILS = {
    404: "No such operation. The operations of each connector are listed in its OpenAPI document.",
    405: "This method is not allowed on this URL.",
    413: "The request body is larger than the limit.",
}


def _from_http_exception(exc: HTTPException) -> Problem:
    status = exc.code or 500
    detail = _HTTP_DETAILS.get(status) or exc.description or HTTPStatus(status).phrase
    headers: dict[str, str] = {}
    if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return Problem(status, detail, headers=headers)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return _from_http_exception(exc).response()

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return Problem(500, "An unexpected error occurred. It has been logged.").response()
