"""``POST /<connector>/mcp``: MCP's Streamable HTTP transport, answered with plain JSON.

One JSON-RPC request per POST, one JSON answer (no SSE stream, no session: ``GET`` and ``DELETE``
are 405, as the transport allows a server that offers neither). Every POST needs the connector's
credential header, like the actions; a missing one is a 401 problem before any JSON-RPC is read.

A ``tools/call`` goes through the HTTP action itself: the call becomes a request to the action's
URL with the same credential header (and the call's idempotency key as ``Idempotency-Key``),
dispatched by this Flask app, so validation, rate limits, idempotency and upstream handling are
the very code an HTTP caller meets. Its answer becomes the tool result: 2xx →
``structuredContent`` + text; 401 and 403 → the same HTTP status for the POST (MCP's rule for a
rejected credential); any other problem → ``isError`` naming each field and its expected format.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import partial
from io import BytesIO
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import orjson
from flask import Blueprint, Response, current_app, request

from connector.declarations import Catalog
from connector.errors import Problem
from connector.idempotency import HEADER as IDEMPOTENCY_HEADER
from connector.idempotency import REPLAYED_HEADER
from connector.jsonio import JSON
from connector.mcp import results
from connector.mcp.protocol import (
    HANDSHAKE_VERSIONS,
    INVALID_PARAMS,
    INVALID_REQUEST,
    LATEST_HANDSHAKE,
    METHOD_NOT_FOUND,
    MODERN_STATUS,
    MODERN_VERSIONS,
    PARSE_ERROR,
    SERVER_INFO_META,
    Era,
    RpcError,
    era_of,
)
from connector.mcp.tools import (
    COPILOT_STUDIO,
    IDEMPOTENCY_META,
    STANDARD,
    Tool,
    build_tools,
    check_names,
    plain_definition,
)
from connector.ratelimit import CredentialLimit
from connector.runtime import credential_of, read_body
from connector.spec.description import Description
from connector.wiring import Runtime

log = logging.getLogger(__name__)

TOOLS_TTL_MS = 3_600_000  # the tools change only with a new release of the service
CREDENTIAL_STATUSES = (401, 403)
# What a tool call's sub-request keeps of the MCP request's environ: the server's identity.
KEPT_ENVIRON = ("wsgi.version", "wsgi.url_scheme", "wsgi.errors", "wsgi.multithread", "wsgi.multiprocess",
                "wsgi.run_once", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "HTTP_HOST",
                "SCRIPT_NAME")  # fmt: skip


def environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


@dataclass(frozen=True)
class Toolbox:
    """The tools, and ``tools/list`` as each profile shows it, encoded once."""

    tools: dict[str, Tool]
    listings: dict[str, Any]


class McpEndpoint:
    """One catalog's MCP endpoint: its tools and the view that serves them.

    The tools are built on the first request that needs them, once per process (about 10 ms for
    the E-goi catalog), so that they cost nothing to a start-up that serves no MCP request; their
    names are checked at start-up."""

    def __init__(self, catalog: Catalog, runtime: Runtime, limit: CredentialLimit | None = None) -> None:
        check_names(catalog)
        self.catalog, self.runtime = catalog, runtime
        self._toolbox: Toolbox | None = None
        self._lock = threading.Lock()
        public_url = runtime.settings.public_url
        self.hit = limit.hit if limit is not None else None
        self.prefix = f"/{catalog.name}"
        self.credential_environ = environ_key(catalog.credential.header)
        self.public_origin = _origin(public_url)
        self.server_info = {"name": f"connector-{catalog.name}", "title": catalog.title, "version": catalog.version}
        self.instructions = (
            f"{catalog.description.strip()} Each tool is one operation of the {catalog.title} connector; "
            "read-only tools (lookups) find the ids the others take. A refused call returns isError naming "
            "each field and its expected format."
        )
        self.methods = {
            "initialize": self.initialize,
            "server/discover": self.discover,
            "ping": self.ping,
            "tools/list": self.list_tools,
            "tools/call": self.call_tool,
        }

    @property
    def toolbox(self) -> Toolbox:
        if self._toolbox is None:
            with self._lock:
                if self._toolbox is None:
                    self._toolbox = self._build()
        return self._toolbox

    def _build(self) -> Toolbox:
        """The tools from the catalog's description and the OpenAPI 3 document the app serves."""
        catalog = self.catalog
        documents = self.runtime.documents.get(catalog.name)
        openapi = documents.files.get("openapi.json") if documents is not None else None
        description = Description.build(catalog, self.runtime.settings.public_url)
        if openapi is None:  # the app was built without the OpenAPI 3 platform
            from connector.platforms.openapi3 import OpenAPI3Document

            document = OpenAPI3Document(description).build()
        else:
            document = orjson.loads(openapi)
        tools = build_tools(description, document)
        listings = {
            STANDARD: orjson.Fragment(orjson.dumps([tool.definition for tool in tools.values()])),
            COPILOT_STUDIO: orjson.Fragment(orjson.dumps([plain_definition(t) for t in tools.values()])),
        }
        return Toolbox(tools, listings)

    def register(self, blueprint: Blueprint) -> None:
        blueprint.add_url_rule("/mcp", "mcp", partial(self.view, STANDARD), methods=["POST"])
        blueprint.add_url_rule(
            f"/mcp/{COPILOT_STUDIO}", f"mcp_{COPILOT_STUDIO}", partial(self.view, COPILOT_STUDIO), methods=["POST"]
        )

    # --- transport ------------------------------------------------------------------------------

    def view(self, profile: str) -> Response:
        self._check_origin()
        credential = credential_of(self.catalog)
        try:
            message = orjson.loads(read_body())
        except orjson.JSONDecodeError as exc:
            return self._error(None, RpcError(PARSE_ERROR, f"Parse error: {exc.msg} at position {exc.pos}"), None)
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return self._error(
                None, RpcError(INVALID_REQUEST, "The body must be one JSON-RPC 2.0 request or notification"), None
            )
        if "id" not in message or "method" not in message:
            if isinstance(message.get("method"), str) or "result" in message or "error" in message:
                return Response(status=202)  # a notification or a response: nothing to answer
            return self._error(None, RpcError(INVALID_REQUEST, "A request needs a method"), None)
        request_id, method, params = message["id"], message["method"], message.get("params", {})
        if isinstance(request_id, bool) or not isinstance(request_id, str | int):
            return self._error(None, RpcError(INVALID_REQUEST, "id must be a string or an integer"), None)
        if not isinstance(method, str):
            return self._error(request_id, RpcError(INVALID_REQUEST, "method must be a string"), None)
        era = None
        try:
            if not isinstance(params, dict):
                raise RpcError(INVALID_PARAMS, "params must be an object")
            era = era_of(method, params, request.headers)
            handler = self.methods.get(method)
            if handler is None or (method == "ping" and era.modern) or (method == "initialize" and era.modern):
                raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")
            if method != "tools/call" and self.hit is not None:
                self.hit(credential)  # a tool call is counted by the action it goes through
            outcome = handler(params, era, credential, profile)
        except RpcError as error:
            return self._error(request_id, error, era)
        if isinstance(outcome, Response):
            return outcome
        if era.modern:
            outcome["resultType"] = "complete"
        return _json({"jsonrpc": "2.0", "id": request_id, "result": outcome})

    def _error(self, request_id: Any, error: RpcError, era: Era | None) -> Response:
        """Before the era is known (a body or envelope that cannot be accepted), 2026-07-28's table:
        the handshake revisions only ask for some 4xx there."""
        status = era.status(error.code) if era is not None else MODERN_STATUS.get(error.code, 400)
        return _json({"jsonrpc": "2.0", "id": request_id, "error": error.error()}, status)

    def _check_origin(self) -> None:
        """Browsers send Origin: a page of another site must not drive this endpoint (DNS rebinding)."""
        origin = request.headers.get("Origin")
        if origin is None or origin in (self.public_origin, _origin(request.host_url)):
            return
        raise Problem(403, "Requests from this Origin are not allowed.")

    # --- methods --------------------------------------------------------------------------------

    def initialize(self, params: dict[str, Any], era: Era, credential: str, profile: str) -> dict[str, Any]:
        requested = params.get("protocolVersion")
        return {
            "protocolVersion": requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": self.server_info,
            "instructions": self.instructions,
        }

    def discover(self, params: dict[str, Any], era: Era, credential: str, profile: str) -> dict[str, Any]:
        return {
            "supportedVersions": [*MODERN_VERSIONS, *HANDSHAKE_VERSIONS],
            "capabilities": {"tools": {}},
            "instructions": self.instructions,
            "cacheScope": "public",
            "ttlMs": TOOLS_TTL_MS,
            "_meta": {SERVER_INFO_META: self.server_info},
        }

    def ping(self, params: dict[str, Any], era: Era, credential: str, profile: str) -> dict[str, Any]:
        return {}

    def list_tools(self, params: dict[str, Any], era: Era, credential: str, profile: str) -> dict[str, Any]:
        if era.modern:
            return {"tools": self.toolbox.listings[profile], "cacheScope": "public", "ttlMs": TOOLS_TTL_MS}
        return {"tools": self.toolbox.listings[profile]}

    def call_tool(self, params: dict[str, Any], era: Era, credential: str, profile: str) -> dict[str, Any] | Response:
        name = params.get("name")
        tool = self.toolbox.tools.get(name) if isinstance(name, str) else None
        if tool is None:
            raise RpcError(INVALID_PARAMS, f"Unknown tool: {name}")
        arguments = params.get("arguments", {})
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise RpcError(INVALID_PARAMS, "arguments must be an object")
        meta = params.get("_meta")
        key = meta.get(IDEMPOTENCY_META) if isinstance(meta, dict) else None
        if key is None:
            key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is not None and not isinstance(key, str):
            problem = {"title": "Unprocessable Content", "detail": f"_meta.{IDEMPOTENCY_META} must be text."}
            return results.failure(tool, 422, problem)
        status, headers, body = self._dispatch(tool, arguments, key)
        if 200 <= status < 300:
            return results.success(body or b"{}", headers.get(REPLAYED_HEADER) == "true")
        try:
            data = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            data = None
        if status in CREDENTIAL_STATUSES:  # MCP answers a missing or rejected credential with the HTTP status
            return Response(body, status, headers={"Content-Type": headers.get("Content-Type", JSON)})
        return results.failure(tool, status, data, headers.get("Retry-After"))

    # --- a tool call through the HTTP action -----------------------------------------------------

    def _dispatch(self, tool: Tool, arguments: dict[str, Any], key: str | None) -> tuple[int, Any, bytes]:
        """The action's answer to these arguments: (status, headers, body), from the action's own view
        (the function that serves its URL) in a request context of its own: the same credential
        header, rate limit, idempotency store, validation, upstream call and error handlers as an
        HTTP call. (The app's before-request hook, which starts the delivery worker, already ran for
        the MCP request itself.)"""
        path = tool.path
        arguments = dict(arguments)
        for name in tool.path_parameters:
            value = arguments.pop(name, None)
            if not isinstance(value, str) or not value:
                problem = {"title": "Unprocessable Content", "detail": "1 field failed validation: " + name + ".",
                           "errors": {name: ["Missing data for required field." if value is None else "Not a valid string."]}}  # fmt: skip
                return 422, {}, orjson.dumps(problem)
            path = path.replace("{" + name + "}", quote(value, safe=""))
        outer = request.environ
        environ: dict[str, Any] = {k: outer[k] for k in KEPT_ENVIRON if k in outer}
        environ[self.credential_environ] = outer.get(self.credential_environ, "")
        if tool.method == "GET":
            body = b""
            environ["QUERY_STRING"] = _query(arguments, tool.input_schema.get("properties", {}))
        else:
            body = orjson.dumps(arguments)
            environ["CONTENT_TYPE"] = JSON
            if key is not None:
                environ[environ_key(IDEMPOTENCY_HEADER)] = key
        environ.update(
            {
                "REQUEST_METHOD": tool.method,
                "PATH_INFO": self.prefix + path,
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": BytesIO(body),
            }
        )
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        with app.request_context(environ):  # routed as the HTTP request would be
            try:
                if request.routing_exception is not None:
                    raise request.routing_exception
                response = app.view_functions[request.url_rule.endpoint](**request.view_args)
            except Exception as exc:  # rendered by the app's own error handlers, as over HTTP
                response = app.handle_user_exception(exc)
            return response.status_code, response.headers, response.get_data()


def _query(arguments: dict[str, Any], known: Any) -> str:
    """Arguments as the query string an HTTP lookup reads. As in JSON bodies, a known field sent as
    null is "not sent"; an unknown one is still sent, so that the lookup refuses it by name."""
    pairs: list[tuple[str, str]] = []
    for name, value in arguments.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                if name not in known:
                    pairs.append((name, ""))
                continue
            if isinstance(item, float) and item.is_integer():
                item = int(item)  # 1.0 is the integer 1 in JSON, as in a JSON body
            if isinstance(item, bool):
                text = "true" if item else "false"
            elif isinstance(item, str | int | float):
                text = str(item)
            else:  # an object or a nested list: no query form, the lookup refuses it by name
                text = orjson.dumps(item, default=str).decode()
            pairs.append((name, text))
    return urlencode(pairs)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, mimetype=JSON)
