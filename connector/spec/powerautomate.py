"""``apiProperties.json``: how Power Automate asks for the connection and brands the connector."""

from __future__ import annotations

from typing import Any

from connector.declarations import Catalog


def api_properties(catalog: Catalog) -> dict[str, Any]:
    credential = catalog.credential
    return {
        "properties": {
            "connectionParameters": {
                credential.parameter: {
                    "type": "securestring",
                    "uiDefinition": {
                        "displayName": credential.display_name,
                        "description": credential.description,
                        "tooltip": credential.tooltip,
                        "constraints": {"tabIndex": 2, "clearText": False, "required": "true"},
                    },
                }
            },
            "iconBrandColor": catalog.brand_color,
            "capabilities": [],
            "publisher": catalog.publisher,
            "stackOwner": catalog.title,
        }
    }
