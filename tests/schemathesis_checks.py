"""A schemathesis check shared by the catalogs' property-based tests: negative data must be rejected,
except where the framework reads inputs leniently on purpose (connector.fields.LENIENCY).

Schemathesis builds negative cases by breaking the documents' types and enums; some of what it
builds is exactly what no-code tools send and the service accepts by design: ``""`` for an optional
field (not sent), a numeral as text for an integer, ``"true"``/``"false"`` for a boolean. A case that
carries such a value is not held to "must be rejected"; every other negative case still is."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from schemathesis import checks

from connector.fields import BOOLEAN_TEXT, NUMERAL


def read_leniently(value: Any) -> bool:
    """Whether ``value`` (a request's query, body, or a part of one) holds a value the leniency accepts."""
    if isinstance(value, str):
        return value == "" or NUMERAL.fullmatch(value) is not None or value.lower() in BOOLEAN_TEXT
    if isinstance(value, dict):
        return any(read_leniently(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(read_leniently(v) for v in value)
    return False


def sent_leniently(response: Any, case: Any) -> bool:
    """Whether the request as sent holds such a value: in its JSON body, or in its query string as
    written (schemathesis writes an empty list or object there as ``name=``)."""
    query = parse_qsl(urlsplit(response.request.url).query, keep_blank_values=True)
    return read_leniently(case.body) or read_leniently([value for _, value in query])


def negative_data_rejected_unless_lenient(ctx: Any, response: Any, case: Any) -> bool | None:
    """``negative_data_rejection``, skipped for a case holding a value the framework reads leniently."""
    if sent_leniently(response, case):
        return None
    return checks.negative_data_rejection(ctx, response, case)


def holds_an_empty_string(case: Any) -> bool:
    """Whether a case's body holds ``""`` somewhere: read as "not sent" when its field is optional, so
    data the documents call valid (``{"value": ""}`` as the one value of an either-or pair) can be
    incomplete once read, and its 422 is by design."""

    def walk(value: Any) -> bool:
        if isinstance(value, dict):
            return any(walk(v) for v in value.values())
        if isinstance(value, list):
            return any(walk(v) for v in value)
        return value == ""

    return walk(case.body)
