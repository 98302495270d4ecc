"""A human documentation page per catalog, rendered once from the declarations.

Plain HTML with inline CSS and no scripts, so it works on machines without internet access.
"""

from __future__ import annotations

import html
import json

from marshmallow import fields

from connector.declarations import Catalog, Operation
from connector.fields import Choice, Patterned

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font:13px ui-monospace,monospace;background:#f4f4f4;padding:.1rem .3rem}
pre{padding:.6rem;overflow:auto}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;text-align:left;padding:.3rem;vertical-align:top}
h2{margin-top:2.5rem;border-top:1px solid #ccc;padding-top:1rem}.m{font-weight:bold;color:#06c}
"""


# The label of a field's type, by the first base it derives from (specific bases first).
_TYPES: tuple[tuple[type[fields.Field], str], ...] = (
    (fields.Email, "email"),
    (fields.String, "string"),
    (fields.Integer, "integer"),
    (fields.Number, "number"),
    (fields.Boolean, "boolean"),
    (fields.Nested, "object"),
    (fields.Dict, "object"),
)


def _type_of(field: fields.Field) -> str:
    if isinstance(field, Choice):
        return "one of " + ", ".join(field.choices)
    if isinstance(field, fields.List):
        return "list of " + _type_of(field.inner)
    if isinstance(field, Patterned) and field.hint:  # the format the field declares (a date, a phone)
        return field.hint
    return next((label for base, label in _TYPES if isinstance(field, base)), type(field).__name__.lower())


def _fields_table(operation: Operation) -> str:
    rows = []
    for name, field in operation.input_schema.fields.items():
        md = field.metadata
        rows.append(
            "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>".format(
                html.escape(name),
                " <b>required</b>" if field.required else "",
                html.escape(_type_of(field)),
                html.escape(md.get("description", "")),
            )
        )
    if not rows:
        return "<p>No parameters.</p>"
    return "<table><tr><th>Field</th><th>Type</th><th>Description</th></tr>" + "".join(rows) + "</table>"


def _curl(catalog: Catalog, operation: Operation, public_url: str) -> str:
    url = f"{public_url.rstrip('/')}/{catalog.name}{operation.path}"
    header = f"-H '{catalog.credential.header}: YOUR_API_KEY'"
    if operation.method == "GET":
        query = "&".join(f"{k}={v}" for k, v in (operation.example or {}).items())
        return f"curl {header} '{url}{'?' + query if query else ''}'"
    body = json.dumps(operation.example or {})
    return f"curl -X POST {header} -H 'Content-Type: application/json' \\\n  -d '{body}' \\\n  {url}"


def render_docs(catalog: Catalog, public_url: str) -> str:
    parts = [
        f"<!doctype html><meta charset=utf-8><title>{html.escape(catalog.title)} connector</title>",
        f"<style>{STYLE}</style>",
        f"<h1>{html.escape(catalog.title)} connector</h1><p>{html.escape(catalog.description)}</p>",
        f"<p>Specs: <a href=swagger.json>Swagger 2.0 (Power Automate)</a> · <a href=openapi.json>OpenAPI 3</a> · "
        f"<a href=apiProperties.json>apiProperties.json</a>. Authenticate with the "
        f"<code>{html.escape(catalog.credential.header)}</code> header.</p>",
    ]
    if catalog.sandbox_notes:
        parts.append(f"<p><b>Sandbox:</b> {html.escape(catalog.sandbox_notes)}</p>")
    for op in catalog.instances:
        parts.append(
            f"<h2 id={op.key}>{html.escape(op.summary)}</h2>"
            f"<p><span class=m>{op.method}</span> <code>/{catalog.name}{op.path}</code> · operationId "
            f"<code>{op.operation_id}</code></p><p>{html.escape(op.description)}</p>"
            + _fields_table(op)
            + f"<pre>{html.escape(_curl(catalog, op, public_url))}</pre>"
        )
    return "\n".join(parts)
