"""MCP's JSON-RPC vocabulary: protocol revisions, error codes and the per-request envelope.

Two eras share one endpoint (https://modelcontextprotocol.io/specification/2026-07-28/changelog):

- the current revision, 2026-07-28, is stateless: no handshake, every request carries its
  protocol version and client capabilities in ``params._meta`` and mirrors them in the
  ``MCP-Protocol-Version``, ``Mcp-Method`` and ``Mcp-Name`` headers; ``server/discover`` says what
  the server supports; results carry ``resultType``;
- the handshake revisions (2024-11-05 to 2025-11-25) start with ``initialize``; this server keeps
  no session (no ``Mcp-Session-Id``), which those revisions allow.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

MODERN_VERSIONS = ("2026-07-28",)
# 2024-11-05 too: its messages are these, and Copilot Studio's connector runtime has been seen offering
# it over Streamable HTTP (https://community.powerplatform.com/forums/thread/details/?threadid=ed9e9400-e594-f011-b4cc-7ced8d1ab86c).
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST_HANDSHAKE = HANDSHAKE_VERSIONS[-1]

PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_META = "io.modelcontextprotocol/clientCapabilities"
SERVER_INFO_META = "io.modelcontextprotocol/serverInfo"

VERSION_HEADER = "MCP-Protocol-Version"
METHOD_HEADER = "Mcp-Method"
NAME_HEADER = "Mcp-Name"

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
HEADER_MISMATCH = -32020
UNSUPPORTED_PROTOCOL_VERSION = -32022

# The HTTP status of a JSON-RPC error, per the 2026-07-28 Streamable HTTP transport. The handshake
# revisions only ask for a 4xx when the body cannot be accepted at all (404 meant "session gone").
MODERN_STATUS = {
    PARSE_ERROR: 400,
    INVALID_REQUEST: 400,
    INVALID_PARAMS: 400,
    HEADER_MISMATCH: 400,
    UNSUPPORTED_PROTOCOL_VERSION: 400,
    METHOD_NOT_FOUND: 404,
}
HANDSHAKE_STATUS = {PARSE_ERROR: 400, INVALID_REQUEST: 400, UNSUPPORTED_PROTOCOL_VERSION: 400}


class RpcError(Exception):
    """A protocol error: answered as a JSON-RPC error, never as a tool result."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def error(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            body["data"] = self.data
        return body


@dataclass(frozen=True)
class Era:
    """The revision a request speaks, and so how its answer is shaped."""

    version: str
    modern: bool

    def status(self, code: int) -> int:
        return (MODERN_STATUS if self.modern else HANDSHAKE_STATUS).get(code, 200)


BASE64_VALUE = re.compile(r"^=\?base64\?(.*)\?=$")


def header_value(value: str | None) -> str | None:
    """A mirrored header's value: a value that is not a plain token travels as ``=?base64?...?=``."""
    match = BASE64_VALUE.match(value or "")
    if not match:
        return value
    try:
        return base64.b64decode(match.group(1), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def era_of(method: str, params: dict[str, Any], headers: Any) -> Era:
    """The request's revision, after the checks its revision asks for (the 2026-07-28 envelope and
    its mirrored headers; a supported ``MCP-Protocol-Version`` otherwise)."""
    meta = params.get("_meta")
    header_version = headers.get(VERSION_HEADER)
    modern = (
        (isinstance(meta, dict) and PROTOCOL_VERSION_META in meta)
        or header_version in MODERN_VERSIONS
        or method == "server/discover"
    )
    if not modern:
        if header_version is not None and header_version not in HANDSHAKE_VERSIONS:
            raise RpcError(
                UNSUPPORTED_PROTOCOL_VERSION,
                f"Unsupported {VERSION_HEADER} {header_version!r}",
                {"supported": [*HANDSHAKE_VERSIONS, *MODERN_VERSIONS], "requested": header_version},
            )
        return Era(header_version or "2025-03-26", False)  # the transport's rule when the header is absent
    if not isinstance(meta, dict) or PROTOCOL_VERSION_META not in meta or CLIENT_CAPABILITIES_META not in meta:
        raise RpcError(
            INVALID_PARAMS,
            f"params._meta must carry {PROTOCOL_VERSION_META!r} and {CLIENT_CAPABILITIES_META!r}",
        )
    version = meta[PROTOCOL_VERSION_META]
    if header_version != version:
        raise RpcError(HEADER_MISMATCH, f"{VERSION_HEADER} header does not match the request's protocol version")
    if headers.get(METHOD_HEADER) != method:
        raise RpcError(HEADER_MISMATCH, f"{METHOD_HEADER} header does not match the request's method")
    if method == "tools/call" and "name" in params and header_value(headers.get(NAME_HEADER)) != params["name"]:
        raise RpcError(HEADER_MISMATCH, f"{NAME_HEADER} header does not match the tool's name")
    if version not in MODERN_VERSIONS:
        raise RpcError(
            UNSUPPORTED_PROTOCOL_VERSION,
            "Unsupported protocol version",
            {"supported": list(MODERN_VERSIONS), "requested": version},
        )
    return Era(version, True)
