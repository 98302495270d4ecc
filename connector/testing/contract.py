"""The contract every catalog keeps, as one pytest class: ``TestMine = contract_tests(catalog)``.

One call gives a catalog the standard suite, as singer-sdk's ``get_tap_test_class`` does for a tap
(https://sdk.meltano.com/en/latest/testing.html). The class checks:

- the start-up checks: well-formed declarations and Power Automate's certification rules;
- every Swagger 2.0 and OpenAPI 3 document valid (openapi-spec-validator), and Power Automate's
  files valid against Microsoft's JSON schemas, given the directory that holds them;
- every operation's example (``example``, or no input) accepted by its input schema and, when the
  catalog has a sandbox, performed against it through the service: the declared status, and a body
  that its output schema loads;
- every polling trigger's contract: the first call is 202 with a ``Location`` carrying
  ``triggerState`` and a ``Retry-After``, that ``Location`` answers, and ``/recent`` is a list of
  items that have an ``id``;
- every webhook trigger's contract, against the sandbox: subscribing is 201 with a ``Location``,
  and a ``DELETE`` of it without a key is 204;
- the credential never appears in the log output or in an answer, errors included.

pytest is imported only when the class is built, so the framework does not need it to serve.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import orjson

from connector.declarations import Catalog, Operation, validate_catalogs
from connector.triggers import STATE, PollingTrigger, Trigger, WebhookTrigger
from connector.upstream import SplitCredential

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

PUBLIC_URL = "http://localhost:8000"
SECRET = "contract-secret-7d41c9e0"  # the credential, or its last part when a vendor splits it
UNKNOWN_FIELD = "contract_test_unknown_field"
CALLBACK = "http://127.0.0.1:9/contract-test-hook"  # never called: subscribing does not deliver
UNREACHABLE = "http://127.0.0.1:9"  # where a catalog without a sandbox points: nothing leaves the machine
# Microsoft's schema for each Power Automate file (PowerPlatformConnectors' schemas directory).
MICROSOFT_SCHEMAS = {
    "apiDefinition.swagger.json": "apiDefinition.swagger.schema.json",
    "apiProperties.json": "paconn-apiProperties.schema.json",
}

# Examples by operation key replacing the declared ones, for examples that name records a fresh
# sandbox does not have: called once with the service's test client and the credential's headers.
Prepare = Callable[["FlaskClient", dict[str, str]], Mapping[str, dict[str, Any]]]


def default_credential(catalog: Catalog) -> str:
    """A credential the catalog's services accept the shape of: ``SECRET``, or, for a service that
    splits the credential into several headers, that many parts ending with ``SECRET``."""
    for service in catalog.services:
        split = service.auth_header
        if isinstance(split, SplitCredential):
            parts = [f"contract{i}" for i in range(len(split.headers) - 1)]
            return split.separator.join([*parts, SECRET])
    return SECRET


@dataclass
class Harness:
    """The service in sandbox mode for one catalog, with everything it logged and answered."""

    catalog: Catalog
    app: Flask
    credential: str
    log: io.StringIO
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: list[tuple[str, int, str]] = field(default_factory=list)  # (request, status, body)

    @property
    def headers(self) -> dict[str, str]:
        return {self.catalog.credential.header: self.credential}

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> TestResponse:
        """``path`` is under the catalog's prefix, with or without it; the credential is sent
        unless ``headers`` are given."""
        if not path.startswith(f"/{self.catalog.name}/"):
            path = f"/{self.catalog.name}{path}"
        response = self.app.test_client().open(
            path,
            method=method,
            json=body,
            query_string=None if query is None else dict(query),
            headers=dict(self.headers if headers is None else headers),
        )
        self.answers.append((f"{method} {path}", response.status_code, response.get_data(as_text=True)))
        return response

    def perform(self, operation: Operation, example: Mapping[str, Any]) -> TestResponse:
        if operation.method == "GET":
            return self.call("GET", operation.path, query=example)
        return self.call(operation.method, operation.path, body=dict(example))


@contextmanager
def serve(catalog: Catalog, credential: str, data_dir: Path, prepare: Prepare | None = None) -> Iterator[Harness]:
    """``create_app`` for this catalog alone, in sandbox mode when it has one, with every log record
    (DEBUG and up, through the service's redaction filter) written to the harness's log."""
    from connector.accesslog import FILTER
    from connector.app import create_app
    from connector.wiring import runtime_of

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(FILTER)  # as configure_logging does to the service's handlers
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    settings: dict[str, Any] = {
        "PUBLIC_URL": PUBLIC_URL,
        "SANDBOX": catalog.sandbox is not None,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'connector.db'}",
        "RATE_LIMIT": "100000 per 60 seconds",
        "RATELIMIT_STORAGE_URL": "memory://",
        "UPSTREAM_BACKOFF": 0.0,
        "UPSTREAM_RETRY_AFTER_CAP": 0.0,
        "ALLOW_PRIVATE_CALLBACKS": True,
        "WORKER": "off",
    }
    if catalog.sandbox is None:
        settings.update({service.setting: UNREACHABLE for service in catalog.services})
    app = None
    try:
        app = create_app(settings, catalogs=[catalog])
        harness = Harness(catalog, app, credential, stream)
        harness.examples = {op.key: example_of(op) for op in catalog.instances}
        if prepare is not None and catalog.sandbox is not None:
            harness.examples.update(prepare(app.test_client(), harness.headers))
        yield harness
    finally:
        if app is not None:
            runtime = runtime_of(app)
            for sandbox in runtime.sandboxes.values():
                sandbox.stop()
            runtime.close()
        root.removeHandler(handler)
        root.setLevel(level)


# --- the checks, as plain functions returning what is wrong --------------------------------------


def example_of(operation: Operation) -> dict[str, Any]:
    """The declared example (none: no input); a webhook trigger's gets a ``callback_url`` unless it
    has one, as the platform fills that in, not the person."""
    example = dict(operation.example or {})
    if isinstance(operation, WebhookTrigger) and "target_url" not in example:
        example.setdefault("callback_url", CALLBACK)
    return example


def start_up_problems(catalog: Catalog) -> list[str]:
    """What the start-up check refuses: declaration mistakes, then certification rules."""
    try:
        validate_catalogs([catalog])
    except ValueError as exc:
        return str(exc).splitlines()[1:]
    return []


def openapi_documents(files: Mapping[str, bytes]) -> dict[str, dict[str, Any]]:
    """The Swagger 2.0 and OpenAPI 3 documents among a catalog's files, by file name."""
    documents = {}
    for name, content in files.items():
        if name.endswith(".json"):
            document = orjson.loads(content)
            if isinstance(document, dict) and ("swagger" in document or "openapi" in document):
                documents[name] = document
    return documents


def microsoft_validator(schema_path: Path) -> Any:
    """A validator for one of Microsoft's schemas (JSON with comments), of the draft its ``$schema``
    names (draft-04 for apiDefinition, draft-07 for apiProperties); its ``$ref``s to the draft
    meta-schemas resolve from those bundled with jsonschema, offline."""
    import jsonschema
    import jsonschema_specifications

    from connector.testing.jsonc import load_jsonc

    schema = load_jsonc(schema_path)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, registry=jsonschema_specifications.REGISTRY)


def schema_errors(validator: Any, document: Any) -> list[str]:
    """Each error as ``<json pointer>: <keyword>: <message>``, the best match inside combinators."""
    from jsonschema.exceptions import best_match

    errors = []
    for error in validator.iter_errors(document):
        cause = best_match(error.context) if error.context else error
        pointer = "/" + "/".join(str(p) for p in error.absolute_path)
        errors.append(f"{pointer}: {cause.validator}: {cause.message[:240]}")
    return errors


def output_problems(operation: Operation, response: TestResponse) -> list[str]:
    """Whether an answer is what the operation documents: its status, and a body its output loads."""
    from marshmallow import ValidationError

    body = response.get_json(silent=True)
    if response.status_code != operation.status_code:
        return [f"answered {response.status_code}, documents {operation.status_code}: {body}"]
    if response.status_code == 204:
        return []
    try:
        operation.output_schema.load(body)
    except ValidationError as exc:
        return [f"the answer does not load with its output schema: {exc.messages}"]
    return []


def event_problems(trigger: Trigger, items: Any) -> list[str]:
    """A trigger's items: a list, each with an ``id``, that the Event schema loads."""
    from marshmallow import ValidationError

    if not isinstance(items, list):
        return [f"not a list: {items!r}"]
    problems = [f"item {i} has no id: {item!r}" for i, item in enumerate(items) if "id" not in item]
    try:
        trigger.Event(many=True).load(items)
    except ValidationError as exc:
        problems.append(f"the items do not load with the Event schema: {exc.messages}")
    return problems


def location_path(location: str) -> str:
    """The path and query of an absolute ``Location``, for the test client."""
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


# --- the pytest class ----------------------------------------------------------------------------


def contract_tests(
    catalog: Catalog,
    *,
    credential: str | None = None,
    microsoft_schemas: str | Path | None = None,
    prepare: Prepare | None = None,
) -> type:
    """A class of tests for pytest to collect: ``TestMine = contract_tests(catalog)`` in a test module.

    ``credential``: the key sent to the sandbox (default: :func:`default_credential`); it must not
    show in any log or answer. ``microsoft_schemas``: the directory of Microsoft's connector schemas
    (``apiDefinition.swagger.schema.json``, ``paconn-apiProperties.schema.json``); without it that
    test is skipped. ``prepare``: see :data:`Prepare`.
    """
    import pytest

    key = credential or default_credential(catalog)
    secrets = {key} if credential else {key, SECRET}
    split = any(isinstance(service.auth_header, SplitCredential) for service in catalog.services)
    instances = catalog.instances
    operations = [op for op in instances if not isinstance(op, Trigger)]
    polling = [op for op in instances if isinstance(op, PollingTrigger)]
    webhooks = [op for op in instances if isinstance(op, WebhookTrigger)]
    ids = {"ids": lambda op: op.key}
    needs_sandbox = pytest.mark.skipif(catalog.sandbox is None, reason=f"{catalog.name} has no sandbox")

    class ContractTests:
        @pytest.fixture(scope="class")
        def harness(self, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
            with serve(catalog, key, tmp_path_factory.mktemp(f"contract-{catalog.name}"), prepare) as running:
                yield running

        @pytest.fixture(scope="class")
        def files(self) -> dict[str, bytes]:
            from connector.spec.documents import Documents

            return Documents.build(catalog, PUBLIC_URL).files

        def test_declarations_pass_the_start_up_checks(self) -> None:
            problems = start_up_problems(catalog)
            assert problems == [], "\n".join(problems)

        @pytest.mark.parametrize("version", ["swagger", "openapi"])
        def test_openapi_documents_are_valid(self, files: dict[str, bytes], version: str) -> None:
            from openapi_spec_validator import validate

            documents = {n: d for n, d in openapi_documents(files).items() if version in d}
            assert documents, f"no {version} document among {sorted(files)}"
            for document in documents.values():
                validate(document)

        @pytest.mark.parametrize(("filename", "schema"), MICROSOFT_SCHEMAS.items())
        def test_power_automate_files_match_microsoft_schemas(
            self, files: dict[str, bytes], filename: str, schema: str
        ) -> None:
            if microsoft_schemas is None:
                pytest.skip("pass microsoft_schemas=<directory of Microsoft's connector schemas>")
            validator = microsoft_validator(Path(microsoft_schemas) / schema)
            errors = schema_errors(validator, orjson.loads(files[filename]))
            assert errors == [], f"{catalog.name}/{filename} fails {schema}:\n" + "\n".join(errors)

        @pytest.mark.parametrize("operation", instances, **ids)
        def test_example_is_accepted_by_its_input(self, operation: Operation) -> None:
            from marshmallow import ValidationError

            try:
                operation.input_schema.load(example_of(operation))
            except ValidationError as exc:
                pytest.fail(f"{operation.key}: example {operation.example!r} is refused: {exc.messages}")

        @needs_sandbox
        @pytest.mark.parametrize("operation", operations, **ids)
        def test_example_works_in_the_sandbox(self, harness: Harness, operation: Operation) -> None:
            answer = harness.perform(operation, harness.examples[operation.key])
            problems = output_problems(operation, answer)
            assert problems == [], f"{operation.key}: " + "; ".join(problems)

        @needs_sandbox
        @pytest.mark.parametrize("trigger", polling, **ids)
        def test_polling_trigger_contract(self, harness: Harness, trigger: PollingTrigger) -> None:
            example = harness.examples[trigger.key]
            first = harness.perform(trigger, example)
            assert first.status_code == 202, (
                f"{trigger.key}: first call {first.status_code}: {first.get_data(as_text=True)}"
            )
            location = first.headers.get("Location", "")
            assert STATE in parse_qs(urlsplit(location).query), f"no {STATE} in Location {location!r}"
            assert first.headers.get("Retry-After", "").isdigit(), f"{trigger.key}: no Retry-After in seconds"
            again = harness.call("GET", location_path(location))
            assert again.status_code in (200, 202), f"{location}: {again.status_code}: {again.get_data(as_text=True)}"
            if again.status_code == 200:
                problems = event_problems(trigger, again.get_json())
                assert problems == [], f"{trigger.key} after {STATE}: " + "; ".join(problems)
            recent = harness.call("GET", f"{trigger.path}/recent", query=example)
            assert recent.status_code == 200, (
                f"{trigger.key}/recent: {recent.status_code}: {recent.get_data(as_text=True)}"
            )
            problems = event_problems(trigger, recent.get_json())
            assert problems == [], f"{trigger.key}/recent: " + "; ".join(problems)

        @needs_sandbox
        @pytest.mark.parametrize("trigger", webhooks, **ids)
        def test_webhook_trigger_contract(self, harness: Harness, trigger: WebhookTrigger) -> None:
            example = {k: v for k, v in harness.examples[trigger.key].items() if k != "target_url"}
            created = harness.perform(trigger, {**example, "callback_url": CALLBACK})
            assert created.status_code == 201, f"{trigger.key}: {created.status_code}: {created.get_data(as_text=True)}"
            location = created.headers.get("Location", "")
            assert location and created.get_json()["url"] == location, f"{trigger.key}: Location {location!r}"
            gone = harness.call("DELETE", location_path(location), headers={})
            assert gone.status_code == 204, (
                f"DELETE {location} without a key: {gone.status_code}: {gone.get_data(as_text=True)}"
            )

        def test_the_credential_never_shows_in_logs_or_answers(self, harness: Harness) -> None:
            """Last, so that it also reads what the tests above logged and were answered."""
            for operation in instances:  # an input refused (422) on every path
                if operation.method == "GET":
                    harness.call("GET", operation.path, query={UNKNOWN_FIELD: "x"})
                else:
                    harness.call(operation.method, operation.path, body={UNKNOWN_FIELD: "x"})
            if split and instances:  # a malformed credential, only its secret part: a 401 that must not echo it
                harness.call(instances[0].method, instances[0].path, headers={catalog.credential.header: SECRET})
            leaks = [f"{where} answered {status}" for where, status, text in harness.answers if _shows(text, secrets)]
            logged = [line for line in harness.log.getvalue().splitlines() if _shows(line, secrets)]
            assert leaks == [], "the credential is in answers: " + "; ".join(leaks)
            assert logged == [], "the credential is in the log:\n" + "\n".join(logged)

    ContractTests.__name__ = ContractTests.__qualname__ = f"ContractTests[{catalog.name}]"
    return ContractTests


def _shows(text: str, secrets: set[str]) -> bool:
    return any(secret in text for secret in secrets)
