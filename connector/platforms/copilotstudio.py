"""Copilot Studio (Power Platform): a custom connector for the catalog's MCP endpoint, so an agent
gets every action and lookup as a tool (the tools themselves are listed by ``/<catalog>/mcp``).

The definition follows Microsoft's template for MCP servers over Streamable HTTP,
https://github.com/microsoft/PowerPlatformConnectors/tree/dev/custom-connectors/MCP-Streamable-HTTP:
Swagger 2.0 with one ``POST`` operation, ``InvokeMCP``, marked ``x-ms-agentic-protocol:
mcp-streamable-1.0``, here at ``/<catalog>/mcp/copilotstudio``: the MCP endpoint whose tool schemas
have the shape Copilot Studio keeps (no references, one type per property; connector.mcp.schemas.plain). It adds what the actions connector has, so it passes the same checks:
the credential as a securestring connection parameter sent in the catalog's header, contact,
connector metadata and branding (``apiProperties`` as for Power Automate).
"""

from __future__ import annotations

from typing import Any

from connector.mcp.tools import COPILOT_STUDIO
from connector.platforms import Platform
from connector.platforms.powerautomate import api_properties
from connector.spec.description import Description
from connector.spec.documents import encode

DEFINITION = "copilotstudio.apiDefinition.swagger.json"
PROPERTIES = "copilotstudio.apiProperties.json"
PROTOCOL = "mcp-streamable-1.0"
MCP_PATH = f"/mcp/{COPILOT_STUDIO}"  # the MCP endpoint with the tool schemas Copilot Studio keeps


def definition(description: Description) -> dict[str, Any]:
    catalog = description.catalog
    parts = description.url_parts
    credential = catalog.credential
    return {
        "swagger": "2.0",
        "info": {
            "title": f"{catalog.title} MCP",
            "description": f"{catalog.description.strip()} Every action and lookup of the {catalog.title} "
            "connector as a tool for Copilot Studio agents, over the Model Context Protocol.",
            "version": catalog.version,
            "contact": dict(catalog.contact),
        },
        "host": parts.netloc,
        "basePath": parts.path or "/",
        "schemes": [parts.scheme],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "paths": {
            MCP_PATH: {
                "post": {
                    "operationId": "InvokeMCP",
                    "summary": f"{catalog.title} MCP server",
                    "description": f"Lets an agent list and call the tools of the {catalog.title} connector "
                    "(MCP Streamable HTTP).",
                    "tags": ["Agentic"],
                    "x-ms-agentic-protocol": PROTOCOL,
                    "responses": {
                        "200": {
                            "description": "A JSON-RPC answer of the MCP server.",
                            "schema": {"type": "object"},
                        }
                    },
                }
            }
        },
        "securityDefinitions": {credential.parameter: {"type": "apiKey", "in": "header", "name": credential.header}},
        "security": [{credential.parameter: []}],
        "x-ms-connector-metadata": [{"propertyName": k, "propertyValue": v} for k, v in catalog.metadata.items()],
    }


def render(description: Description) -> dict[str, bytes]:
    return {
        DEFINITION: encode(definition(description)),
        PROPERTIES: encode(api_properties(description.catalog)),
    }


platform = Platform("copilotstudio", "Copilot Studio (MCP)", render)
