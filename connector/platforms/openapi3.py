"""OpenAPI 3.0 (``openapi.json``): the document generic tools read (Zapier and Make importers,
code generators, schemathesis). It keeps the ``x-ms-*`` keys, which other tools ignore."""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin

from connector.platforms import Platform
from connector.spec.description import Body, Description
from connector.spec.documents import encode
from connector.spec.openapi import OpenAPIDocument

FILE = "openapi.json"


class CombinatorPlugin(BasePlugin):
    """Cross-field input rules as JSON Schema: ``require_any_of`` → ``anyOf``, ``require_one_of``
    → ``oneOf``, and whatever a schema states itself in ``openapi_rules`` → ``allOf``."""

    def schema_helper(self, name: str, definition: dict, **kwargs: Any) -> dict | None:
        schema = kwargs.get("schema")
        # present and not null: optional fields are nullable (null = not sent), and in
        # OpenAPI 3.0 a schema without `nullable` excludes null
        properties = definition.get("properties", {})

        def given(field: str) -> dict[str, Any]:
            return {
                "required": [field],
                "properties": {field: {"type": properties.get(field, {}).get("type", "string")}},
            }

        rules: dict[str, Any] = {}
        for keyword, attribute in (("anyOf", "require_any_of"), ("oneOf", "require_one_of")):
            if names := getattr(schema, attribute, ()):
                rules[keyword] = [given(field) for field in names]
        if extra := getattr(schema, "openapi_rules", ()):
            rules["allOf"] = list(extra)
        return rules or None


class OpenAPI3Document(OpenAPIDocument):
    version = "3.0.3"
    components_path = "#/components/schemas/"

    def server(self) -> dict[str, Any]:
        return {"servers": [{"url": self.description.base_url}]}

    def typed(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {"schema": schema}

    def content(self, schema: Any, example: Any, media_type: str) -> dict[str, Any]:
        media: dict[str, Any] = {"schema": schema}
        if example is not None:
            media["example"] = example
        return {"content": {media_type: media}}

    def body(self, body: Body) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        content = self.content(body.schema, body.example, "application/json")
        return [], {"requestBody": {"required": body.required, **content}}

    def plugins(self) -> list[BasePlugin]:
        return [CombinatorPlugin()]


def render(description: Description) -> dict[str, bytes]:
    return {FILE: encode(OpenAPI3Document(description).build())}


platform = Platform("openapi3", "OpenAPI 3", render, routes={"openapi.json": FILE})
