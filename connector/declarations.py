"""Declarations: an operation is a class of data plus one method that does the work.

The Flask runtime and the spec builder both read these classes, so a field, a summary or a
status code is written once and cannot drift between what is served and what is documented.
A :class:`Catalog` groups the operations of one vendor with its services and its branding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, ClassVar

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, pre_load, validates_schema

from connector import fields as f
from connector.fields import unbounded_strings
from connector.upstream import ResponseHook, SplitCredential, UpstreamCall

KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class InputSchema(Schema):
    """Base of every input: unknown fields are an error (a typo must not be silently ignored),
    and optional fields sent as ``null`` or ``""`` count as not sent: flows send unmapped fields as
    null, and Zapier sends them as ``""`` (its ``removeMissingValuesFrom`` leaves code-built bodies
    alone), in JSON, forms and query strings alike. A required field sent as ``""`` stays an error."""

    class Meta:
        unknown = RAISE

    # At least one of these fields must be given (e.g. a contact needs an email, a cellphone or a
    # phone). Enforced here and documented as ``anyOf`` in OpenAPI 3 by the spec builder.
    require_any_of: ClassVar[tuple[str, ...]] = ()
    # Exactly one of these fields must be given (e.g. a tag by id or by name); ``oneOf`` in OpenAPI 3.
    require_one_of: ClassVar[tuple[str, ...]] = ()
    _optional_keys: frozenset[str] | None = None

    @validates_schema
    def _check_require_any_of(self, data: dict[str, Any], **kwargs: Any) -> None:
        if self.require_any_of and not any(data.get(name) not in (None, "") for name in self.require_any_of):
            raise ValidationError(
                f"Provide at least one of {_either(self.require_any_of)}.", field_name=self.require_any_of[0]
            )

    @validates_schema
    def _check_require_one_of(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not self.require_one_of:
            return
        given = [name for name in self.require_one_of if data.get(name) not in (None, "")]
        if len(given) != 1:
            raise ValidationError(
                f"Provide exactly one of {_either(self.require_one_of)}.",
                field_name=given[1] if len(given) > 1 else self.require_one_of[0],
            )

    @pre_load
    def _drop_null_optionals(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        optional = self._optional_keys
        if optional is None:  # once per schema instance: this runs on every request
            optional = self._optional_keys = frozenset(
                field.data_key or name for name, field in self.load_fields.items() if not field.required
            )
        # Unknown keys stay, null or not, so that they are refused like any unknown field.
        return {k: v for k, v in data.items() if (v is not None and v != "") or k not in optional}


def _either(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


class OutputSchema(Schema):
    """Base of every output: documents exactly what the operation returns."""

    class Meta:
        unknown = EXCLUDE


def paged(item: type[Schema], *, summary: str, total: str, items: str) -> tuple[f.Integer, f.List]:
    """The two fields of a page of results, ``total_items`` (how many match in all) then ``items``
    (this page's), for an output schema's body:
    ``total_items, items = paged(TagItem, summary="Tags", total="Number of tags.", items="The tags.")``."""
    return (
        f.Integer(required=True, summary="Total", description=total),
        f.List(f.Nested(item), required=True, summary=summary, description=items),
    )


class EmptySchema(InputSchema):
    """Input of an operation that takes no parameters."""


class Operation:
    """Common shape of actions and lookups. Subclasses set the attributes and ``perform``."""

    key: ClassVar[str]
    operation_id: ClassVar[str]
    summary: ClassVar[str]
    description: ClassVar[str]
    visibility: ClassVar[str | None] = None
    Input: ClassVar[type[Schema]] = EmptySchema
    Output: ClassVar[type[Schema]]
    upstream: ClassVar[str | None] = None  # service name in the catalog; None = the first one
    status_code: ClassVar[int] = 200
    method: ClassVar[str] = "POST"
    path_prefix: ClassVar[str] = "actions"
    example: ClassVar[dict[str, Any] | None] = None  # a request that works in the sandbox
    response_example: ClassVar[Any] = None
    errors: ClassVar[tuple[int, ...]] = ()  # statuses this operation adds to the common ones

    def __init__(self) -> None:
        self.input_schema = self.Input()
        self.output_schema = self.Output()

    @property
    def path(self) -> str:
        return f"/{self.path_prefix}/{self.key}"

    @cached_property
    def input_required(self) -> bool:
        """Whether a call must carry input: true when an empty input fails validation (a required
        field, an any-of or one-of rule, a schema check). The runtime reads a missing body as an empty
        one, so the specs mark the body required exactly when the runtime refuses it without one."""
        try:
            self.input_schema.load({})
        except ValidationError:
            return True
        return False

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        raise NotImplementedError

    @classmethod
    def check(cls) -> list[str]:
        """Declaration mistakes caught at start-up rather than by a user."""
        problems = []
        name = getattr(cls, "key", cls.__name__)
        if not KEY.match(getattr(cls, "key", "")):
            problems.append(f"{name}: key must be snake_case")
        # How each reads (PascalCase, lengths, sentences, visibility) is a certification rule,
        # checked by connector.spec.certification once these are present.
        for attribute in ("operation_id", "summary", "description"):
            if not isinstance(getattr(cls, attribute, None), str):
                problems.append(f"{name}: {attribute} is required")
        if not hasattr(cls, "Output"):
            problems.append(f"{name}: Output schema is required")
        return problems


class Action(Operation):
    """Something a flow does: ``POST /<connector>/actions/<key>`` with a JSON or form body."""

    method = "POST"
    path_prefix = "actions"


class Lookup(Operation):
    """A read used to fill dropdowns or to search: ``GET /<connector>/lookups/<key>?...``."""

    method = "GET"
    path_prefix = "lookups"
    visibility = "internal"


@dataclass(frozen=True)
class Service:
    """A vendor API the catalog calls. ``setting`` names the CONNECTOR_* variable of its URL
    (``CONNECTOR_<setting>``), and ``default_url`` is the URL used when that variable is unset, so
    a catalog brings its own configuration and the framework's settings name no vendor.
    ``auth_header`` names the header the credential is passed in, or, for a vendor that wants
    several headers, a :class:`~connector.upstream.SplitCredential` that splits it into them."""

    name: str
    title: str
    setting: str
    auth_header: str | SplitCredential
    sandbox_path: str = ""
    default_url: str = ""
    # Called with every answer of this service (connector.upstream.ResponseHook): maps the
    # vendor's error bodies to problems and unwraps its envelopes; None keeps the status table.
    on_response: ResponseHook | None = None


@dataclass(frozen=True)
class Credential:
    """How a caller authenticates: the inbound header, passed through to the services."""

    header: str
    parameter: str = "api_key"
    display_name: str = "API Key"
    description: str = "The API key of your account."
    tooltip: str = "Provide your API key"


@dataclass(frozen=True)
class Catalog:
    """One connector: its identity, services, credential, operations and branding."""

    name: str
    title: str
    description: str
    version: str
    credential: Credential
    services: tuple[Service, ...]
    operations: tuple[type[Operation], ...]
    publisher: str
    brand_color: str
    contact: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)  # Website, Privacy policy, Categories
    sandbox: Callable[[], Any] | None = None  # returns a WSGI app emulating the services
    sandbox_notes: str = ""
    triggers: tuple[type[Operation], ...] = ()  # connector.triggers.PollingTrigger / WebhookTrigger

    def with_triggers(self, triggers: Iterable[type[Operation]]) -> Catalog:
        """This catalog with ``triggers`` added: triggers live in their own package, which depends on
        the catalog's (never the reverse), and the registry attaches them by the catalog's name."""
        return replace(self, triggers=(*self.triggers, *triggers))

    @cached_property
    def instances(self) -> tuple[Operation, ...]:
        """Operations and triggers with their schemas built, once, for the runtime, specs and docs."""
        return tuple(declaration() for declaration in (*self.operations, *self.triggers))

    def service(self, name: str | None) -> Service:
        if name is None:
            return self.services[0]
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(f"{self.name}: no service named {name!r}")

    def check(self) -> list[str]:
        declarations = (*self.operations, *self.triggers)
        problems = [p for op in declarations for p in op.check()]
        for attribute in ("key", "operation_id"):
            seen: set[str] = set()
            for op in declarations:
                value = getattr(op, attribute, None)
                if value in seen:
                    problems.append(f"{self.name}: duplicate {attribute} {value}")
                seen.add(value)
        for op in declarations:
            try:
                self.service(op.upstream)
            except KeyError as exc:
                problems.append(str(exc))
        problems += self.unbounded_inputs()
        return problems

    def unbounded_inputs(self) -> list[str]:
        """Input strings without a maximum length. Such a value reaches the upstream whatever its
        size (a megabyte in a query string is a 414 there and a 502 here); with a maximum it is a
        422 naming the field, and the specs document the bound as maxLength. Choices count as
        bounded (by their longest option); a pattern alone does not (see connector.fields.max_length)."""
        problems = []
        for op in (*self.operations, *self.triggers):
            name = getattr(op, "operation_id", op.__name__)
            for path in unbounded_strings(op.Input()):
                problems.append(
                    f"{self.name}: {name}: input field {path} is a string without a maximum length "
                    "(give it max_length=..., or choices)"
                )
        return problems


def validate_catalogs(catalogs: Iterable[Catalog]) -> None:
    """Declaration mistakes, then broken certification rules, of every catalog at once, at start-up."""
    from connector.spec.certification import check_catalog  # it reads these classes: imported late

    problems = []
    for catalog in catalogs:
        declared = catalog.check()
        # certification reads the declarations as the specs would: only once they are well formed
        problems += declared or check_catalog(catalog)
    if problems:
        raise ValueError("invalid declarations:\n  " + "\n  ".join(problems))
