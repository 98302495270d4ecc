"""JSON in and out through orjson: the fastest correct encoder, used for every body we write."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import JSONProvider

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None, mimetype: str = JSON
) -> Response:
    """Build a response without Flask's jsonify detour (one encode, no pretty-printing)."""
    return Response(dumps(data), status=status, headers=headers, mimetype=mimetype)


class OrjsonProvider(JSONProvider):
    """Makes ``request.get_json`` and ``jsonify`` use orjson too."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return dumps(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)
