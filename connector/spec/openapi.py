"""An OpenAPI document (any version) rendered from the neutral description with apispec.

:class:`OpenAPIDocument` holds what every OpenAPI version shares; a platform module subclasses it
and overrides the few methods where versions put things in different places (a parameter's type
inline or under ``schema``, a response body under ``schema`` or ``content``...). Field metadata
becomes property keys through apispec's marshmallow plugin (``x_ms_summary`` → ``x-ms-summary``);
version-specific keys come in through each platform's own apispec plugin. Nothing is post-edited
after generation, so the documents say exactly what the declarations say.
"""

from __future__ import annotations

from typing import Any, ClassVar

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin

from connector import fields as cf
from connector.declarations import InputSchema
from connector.spec.description import (
    PROBLEM,
    Body,
    Description,
    Endpoint,
    Header,
    Parameter,
    ProblemSchema,
    Response,
    schema_name,
)

# The order of an operation's keys in the committed documents.
DECLARED_ORDER = ("operationId", "summary", "description", "tags", "responses", "parameters", "requestBody",
                  "x-ms-trigger", "x-ms-trigger-hint", "x-ms-visibility")  # fmt: skip
FRAMEWORK_ORDER = ("operationId", "summary", "description", "tags", "parameters", "security", "responses",
                   "x-ms-visibility", "requestBody")  # fmt: skip


class LeniencyPlugin(BasePlugin):
    """Every input schema's description says how inputs are read (``connector.fields.LENIENCY``):
    the rule is the framework's, so it is written once, here, rather than on each field. (A schema
    ``Meta.description`` would do, but apispec then drops ``additionalProperties: false``.)"""

    def schema_helper(self, name: str, definition: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        schema = kwargs.get("schema")
        cls = schema if isinstance(schema, type) else type(schema)
        if isinstance(cls, type) and issubclass(cls, InputSchema):
            return {"description": cf.LENIENCY}
        return None


class OpenAPIDocument:
    """The document of one catalog in one OpenAPI version; subclasses say where things go."""

    version: ClassVar[str]
    components_path: ClassVar[str]  # where a ``$ref`` finds a named schema

    def __init__(self, description: Description) -> None:
        self.description = description

    # --- what differs between versions --------------------------------------------------------

    def server(self) -> dict[str, Any]:
        raise NotImplementedError

    def typed(self, schema: dict[str, Any]) -> dict[str, Any]:
        """How a parameter or header states its schema."""
        raise NotImplementedError

    def content(self, schema: Any, example: Any, media_type: str) -> dict[str, Any]:
        """The body part of a response."""
        raise NotImplementedError

    def body(self, body: Body) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The request body, as (extra parameters, extra operation keys)."""
        raise NotImplementedError

    def plugins(self) -> list[BasePlugin]:
        return []

    def customize(self, marshmallow: MarshmallowPlugin) -> None:
        """Version-specific converter settings."""

    # --- shared --------------------------------------------------------------------------------

    def build(self) -> dict[str, Any]:
        """The whole document as a dict."""
        catalog = self.description.catalog
        marshmallow = MarshmallowPlugin(schema_name_resolver=schema_name)
        spec = APISpec(
            title=catalog.title,
            version=catalog.version,
            openapi_version=self.version,
            plugins=[marshmallow, LeniencyPlugin(), *self.plugins()],
            info={"description": catalog.description, "contact": dict(catalog.contact)},
            **{
                "x-ms-connector-metadata": [
                    {"propertyName": k, "propertyValue": v} for k, v in catalog.metadata.items()
                ]
            },
            **self.server(),
            security=[{catalog.credential.parameter: []}],
        )
        marshmallow.map_to_openapi_type(cf.Date, "string", "date")
        self.customize(marshmallow)
        credential = catalog.credential
        spec.components.security_scheme(
            credential.parameter, {"type": "apiKey", "in": "header", "name": credential.header}
        )
        spec.components.schema(PROBLEM, schema=ProblemSchema)
        for endpoint in self.description.endpoints:
            item: dict[str, Any] = {endpoint.method: self.operation(endpoint)}
            if endpoint.notification is not None:
                event = endpoint.notification.event
                name = schema_name(event)
                if name not in spec.components.schemas:
                    spec.components.schema(name, schema=event)
                item["x-ms-notification-content"] = {
                    "description": endpoint.notification.description,
                    "schema": {"$ref": f"{self.components_path}{name}"},
                }
            spec.path(path=endpoint.path, operations=item, endpoint=endpoint)
        return spec.to_dict()

    def operation(self, endpoint: Endpoint) -> dict[str, Any]:
        parts: dict[str, Any] = {
            "operationId": endpoint.operation_id,
            "summary": endpoint.summary,
            "description": endpoint.description,
            "tags": [endpoint.tag],
            "responses": {str(r.status): self.response(r) for r in endpoint.responses},
        }
        parameters = [{"in": "query", "schema": endpoint.query}] if endpoint.query is not None else []
        parameters += [self.parameter(p) for p in endpoint.parameters]
        if endpoint.body is not None:
            extra_parameters, extra = self.body(endpoint.body)
            parameters += extra_parameters
            parts.update(extra)
        if parameters:
            parts["parameters"] = parameters
        if endpoint.public:
            parts["security"] = []
        if endpoint.trigger:
            parts["x-ms-trigger"] = endpoint.trigger
        if endpoint.trigger_hint:
            parts["x-ms-trigger-hint"] = endpoint.trigger_hint
        if endpoint.visibility:
            parts["x-ms-visibility"] = endpoint.visibility
        order = FRAMEWORK_ORDER if endpoint.parameters_first else DECLARED_ORDER
        return {key: parts[key] for key in order if key in parts}

    def parameter(self, parameter: Parameter) -> dict[str, Any]:
        rendered: dict[str, Any] = {
            "name": parameter.name,
            "in": parameter.location,
            "required": parameter.required,
            "description": parameter.description,
            "x-ms-summary": parameter.label,
        }
        if parameter.visibility:
            rendered["x-ms-visibility"] = parameter.visibility
        return {**rendered, **self.typed(parameter.schema)}

    def header(self, header: Header) -> dict[str, Any]:
        return {"description": header.description, **self.typed({"type": header.type})}

    def response(self, response: Response) -> dict[str, Any]:
        rendered: dict[str, Any] = {"description": response.description}
        if response.schema is not None:
            media_type = "application/problem+json" if response.problem else "application/json"
            rendered.update(self.content(response.schema, response.example, media_type))
        if response.headers:
            rendered["headers"] = {h.name: self.header(h) for h in response.headers}
        return rendered
