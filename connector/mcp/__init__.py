"""Every action and lookup of a catalog as a tool for AI agents: an MCP server at
``/<connector>/mcp`` (Streamable HTTP, plain JSON answers), served by the framework from the same
declarations, so catalogs add nothing. Plain Flask and orjson: nothing heavy is imported to serve it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from connector.declarations import Catalog
from connector.ratelimit import CredentialLimit
from connector.wiring import Runtime


def register_mcp(blueprint: Blueprint, catalog: Catalog, runtime: Runtime, limit: CredentialLimit | None = None) -> Any:
    """Add ``POST /<catalog>/mcp`` to the catalog's blueprint (after its documents are built)."""
    from connector.mcp.endpoint import McpEndpoint

    endpoint = McpEndpoint(catalog, runtime, limit)
    endpoint.register(blueprint)
    return endpoint
