"""Power Automate (also Logic Apps and Power Apps): a custom connector package, that is
``apiDefinition.swagger.json`` (Swagger 2.0 with ``x-ms-*`` keys) and ``apiProperties.json``.

See https://learn.microsoft.com/connectors/custom-connectors/openapi-extensions and
https://learn.microsoft.com/connectors/custom-connectors/certification-submission.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin

from connector.declarations import Catalog
from connector.platforms import Platform
from connector.spec.description import Body, Description
from connector.spec.documents import encode
from connector.spec.openapi import OpenAPIDocument

DEFINITION = "apiDefinition.swagger.json"
PROPERTIES = "apiProperties.json"


class ParameterExamplePlugin(BasePlugin):
    """Swagger 2.0 has no ``example`` on query, path or header parameters (only in schemas), and both
    openapi-spec-validator and Power Automate reject it there; it is kept as ``x-example``."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            if method.startswith("x-"):
                continue
            for parameter in operation.get("parameters", []):
                if isinstance(parameter, dict) and parameter.get("in") != "body" and "example" in parameter:
                    parameter["x-example"] = parameter.pop("example")


def _enum_without_null(converter: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Swagger 2.0 says "may be null" with ``x-nullable``; a ``null`` enum member would become an
    empty choice in Power Automate's dropdown (OpenAPI 3.0.3 does want null in the enum)."""
    if ret.get("enum") and None in ret["enum"]:
        return {"enum": [choice for choice in ret["enum"] if choice is not None]}
    return {}


class SwaggerDocument(OpenAPIDocument):
    version = "2.0"
    components_path = "#/definitions/"

    def server(self) -> dict[str, Any]:
        parts = self.description.url_parts
        return {
            "host": parts.netloc,
            "basePath": parts.path or "/",
            "schemes": [parts.scheme],
            "consumes": ["application/json", "application/x-www-form-urlencoded"],
            "produces": ["application/json", "application/problem+json"],
        }

    def typed(self, schema: dict[str, Any]) -> dict[str, Any]:
        return dict(schema)

    def content(self, schema: Any, example: Any, media_type: str) -> dict[str, Any]:
        rendered: dict[str, Any] = {"schema": schema}
        if example is not None:
            rendered["examples"] = {media_type: example}
        return rendered

    def body(self, body: Body) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        return [{"in": "body", "name": "body", "required": body.required, "schema": body.schema}], {}

    def plugins(self) -> list[BasePlugin]:
        return [ParameterExamplePlugin()]

    def customize(self, marshmallow: MarshmallowPlugin) -> None:
        marshmallow.converter.add_attribute_function(_enum_without_null)


def api_properties(catalog: Catalog) -> dict[str, Any]:
    """How Power Automate asks for the connection and brands the connector."""
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


def render(description: Description) -> dict[str, bytes]:
    return {
        DEFINITION: encode(SwaggerDocument(description).build()),
        PROPERTIES: encode(api_properties(description.catalog)),
    }


platform = Platform(
    "powerautomate",
    "Power Automate",
    render,
    routes={"swagger.json": DEFINITION, "apiProperties.json": PROPERTIES},
)
