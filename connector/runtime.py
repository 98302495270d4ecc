"""Serving declared operations over HTTP: read the input, validate, perform, dump the output.

Everything per operation (schema instances, bound service, rate limit) is prepared once when the
blueprint is built; a request only parses, validates, calls upstream and encodes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from io import BytesIO
from typing import TYPE_CHECKING, Any

import orjson
from flask import Blueprint, Response, request
from marshmallow import Schema, ValidationError, fields

from connector import metrics
from connector.declarations import Catalog, Operation
from connector.errors import Problem, validation_problem
from connector.idempotency import HEADER, REPLAYED_HEADER, StoredResponse, check_key, fingerprint, scope_of
from connector.jsonio import json_response
from connector.ratelimit import CredentialLimit
from connector.triggers import Trigger
from connector.upstream import UpstreamService

if TYPE_CHECKING:
    from connector.idempotency_store import IdempotencyStore

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
TRUE = frozenset({"true", "1", "on", "yes"})
FALSE = frozenset({"false", "0", "off", "no"})


def _from_text(field: fields.Field) -> Callable[[str], Any]:
    """How a text value of a form or query string becomes the JSON type the field expects.
    Text that does not convert is passed on as it is, so validation names the field."""
    if isinstance(field, fields.Integer):
        return lambda text: int(text) if INTEGER.fullmatch(text) else text
    if isinstance(field, fields.Boolean):
        return lambda text: True if text.lower() in TRUE else False if text.lower() in FALSE else text
    return lambda text: text


class TextInput:
    """Reads forms and query strings, which carry only text, into the shape of a JSON body."""

    def __init__(self, schema: Schema) -> None:
        self.converters: dict[str, Callable[[str], Any]] = {}
        self.lists: set[str] = set()
        for name, field in schema.fields.items():
            key = field.data_key or name
            if isinstance(field, fields.List):
                self.lists.add(key)
                field = field.inner
            self.converters[key] = _from_text(field)

    def read(self, values: Any, blank_is_unset: bool = False) -> dict[str, Any]:
        """Lists repeat a key (``contacts=a&contacts=b``). In a form an empty value means "not given"
        (an HTML form's blank input, a sender's unset field), list items included; in a query string
        empty values are passed on, and the input schema counts an optional field's as not sent."""
        data: dict[str, Any] = {}
        for key in values.keys():
            convert = self.converters.get(key, str)
            if key in self.lists:
                items = [convert(v) for v in values.getlist(key) if not (blank_is_unset and v == "")]
                if items:
                    data[key] = items
            else:
                value = values.get(key)
                if not (blank_is_unset and value == ""):
                    data[key] = convert(value)
        return data


READ_SIZE = 64 * 1024


def body_too_large(limit: int) -> Problem:
    return Problem(413, f"The request body is larger than the limit of {limit} bytes.")


def read_body() -> bytes:
    """The whole request body, or a 413 Problem once it passes ``MAX_CONTENT_LENGTH``.

    Werkzeug's own readers stop silently at the limit when a body has no Content-Length (chunked
    transfer coding): ``LimitedStream.readall`` returns the first ``limit`` bytes as if they were
    the whole body. So the body is read here, counting every byte, and one byte past the limit
    is an error, whether the length was announced or not. A body that ends early or has broken
    chunks is the client's fault (400), never a 500.
    """
    limit = request.max_content_length
    length = request.content_length
    if length is not None and limit is not None and length > limit:
        raise body_too_large(limit)
    environ = request.environ
    if environ.get("wsgi.input_terminated"):
        stream = environ["wsgi.input"]  # the server ends it: at Content-Length or the last chunk
    elif length is not None:
        stream = request.stream  # bounded by Content-Length
    elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        # A WSGI server that passes a chunked body on without ending it (some uWSGI and mod_wsgi
        # set-ups): reading it could block or stop anywhere, and acting on nothing is not an option.
        raise Problem(411, "Send the body with a Content-Length header: this server cannot read chunked bodies.")
    else:
        return b""  # no body at all
    chunks: list[bytes] = []
    size = 0
    while length is None or size < length:  # never past an announced length, whatever the server
        try:
            chunk = stream.read(READ_SIZE if length is None else min(READ_SIZE, length - size))
        except Exception:  # the client went away or sent malformed chunks
            raise Problem(400, "The request body could not be read completely.") from None
        if not chunk:
            break
        size += len(chunk)
        if limit is not None and size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
    if length is not None and size < length:
        raise Problem(400, f"The request body ended after {size} of the {length} bytes announced.")
    return b"".join(chunks)


def read_form(raw: bytes) -> Any:
    """Form fields parsed from a body already read (and so already bounded) by ``read_body``."""
    parser = request.make_form_data_parser()
    _, form, _ = parser.parse(BytesIO(raw), request.mimetype, len(raw), request.mimetype_params)
    return form


def read_payload(method: str, text_input: TextInput) -> Any:
    """The caller's input: query string for GET, else a JSON or form body."""
    if method == "GET":
        return text_input.read(request.args)
    raw = read_body()
    if request.mimetype in FORM_TYPES:
        return text_input.read(read_form(raw), blank_is_unset=True)
    if not raw:
        return {}  # no body: an action without required input needs none (white space alone is not JSON)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, f"The body is not valid JSON ({exc.msg} at position {exc.pos}).") from None


def load_input(load: Callable[[Any], Any], raw: Any) -> Any:
    """``load(raw)`` (a schema's load), its ValidationError turned into the 422 that names each field."""
    try:
        return load(raw)
    except ValidationError as exc:
        raise validation_problem(exc.messages) from None


def credential_of(catalog: Catalog) -> str:
    value = request.headers.get(catalog.credential.header, "").strip()
    if not value:
        raise Problem(
            401,
            f"Missing {catalog.credential.display_name}: send it in the {catalog.credential.header} header.",
        )
    return value


# Answers that say "try again later" are never replayed from an idempotency key (5xx release it too).
NOT_STORED = frozenset({408, 425, 429})


def make_view(
    catalog: Catalog,
    operation: Operation,
    service: UpstreamService,
    limit: CredentialLimit | None = None,
    idempotency: Callable[[], IdempotencyStore] | None = None,
) -> Callable[[], Response]:
    """The Flask view of one operation, with everything it needs bound in its closure.
    ``idempotency`` gives the store on the first request that carries a key (it opens the database)."""
    load = operation.input_schema.load
    dump = operation.output_schema.dump
    perform = operation.perform
    bind = service.bind
    method = operation.method
    status = operation.status_code
    text_input = TextInput(operation.input_schema)

    hit = limit.hit if limit is not None else None
    store_of = idempotency if method == "POST" else None

    def run(data: dict[str, Any], credential: str) -> Response:
        return json_response(dump(perform(data, bind(credential))), status)

    def run_once(data: dict[str, Any], credential: str, key: str) -> Response:
        """``run`` under an Idempotency-Key: the first call's answer is stored and replayed."""
        assert store_of is not None
        store = store_of()
        scope = scope_of(credential, catalog.name, operation.key)
        outcome = store.begin(scope, key, fingerprint(data))
        if isinstance(outcome, StoredResponse):
            replay = Response(outcome.body, status=outcome.status, mimetype=outcome.content_type)
            replay.headers[REPLAYED_HEADER] = "true"
            metrics.idempotent_replay(catalog.name, operation.key)
            return replay
        try:
            response = run(data, credential)
        except Problem as problem:
            response = problem.response()
        except BaseException:
            store.release(outcome)
            raise
        if response.status_code >= 500 or response.status_code in NOT_STORED:
            store.release(outcome)
        else:
            store.finish(outcome, response.status_code, response.mimetype, response.get_data())
        return response

    def view() -> Response:
        credential = credential_of(catalog)
        if hit is not None:
            hit(credential)
        key = request.headers.get(HEADER) if store_of is not None else None
        if key is not None:
            check_key(key)
        data = load_input(load, read_payload(method, text_input))
        if key is None:
            return run(data, credential)
        return run_once(data, credential, key)

    view.__name__ = view.__qualname__ = operation.key
    view.__doc__ = operation.description
    return view


def build_blueprint(
    catalog: Catalog,
    services: dict[str, UpstreamService],
    limit: CredentialLimit | None = None,
    idempotency: Callable[[], IdempotencyStore] | None = None,
) -> Blueprint:
    """One blueprint per catalog at ``/<catalog.name>``; ``limit`` counts every call per credential;
    ``idempotency`` stores the answers of POST actions sent with an Idempotency-Key."""
    blueprint = Blueprint(catalog.name, __name__, url_prefix=f"/{catalog.name}")
    for operation in catalog.instances:
        if isinstance(operation, Trigger):
            continue  # served by connector.trigger_views
        service = services[catalog.service(operation.upstream).name]
        view = make_view(catalog, operation, service, limit, idempotency)
        blueprint.add_url_rule(operation.path, endpoint=operation.key, view_func=view, methods=[operation.method])
    return blueprint
