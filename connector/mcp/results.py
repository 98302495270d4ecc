"""A tool call's answer from the HTTP action's answer: ``structuredContent`` and a short text for
success, ``isError`` with every field and the format it expects when the call was refused."""

from __future__ import annotations

from typing import Any

import orjson

from connector.mcp.tools import Tool, expected_format

MAX_TEXT = 2000
PROBLEM_MEMBERS = ("type", "title", "status", "detail", "errors")


def short_text(body: bytes) -> str:
    """The JSON answer as text (it is compact JSON already), cut when long."""
    if len(body) <= MAX_TEXT:
        return body.decode()
    text = body.decode()
    return f"{text[:MAX_TEXT]}... ({len(text)} characters; the whole result is in structuredContent)"


def success(body: bytes, replayed: bool) -> dict[str, Any]:
    """``body`` is the action's JSON answer, passed on as it is (no decoding and encoding again)."""
    result: dict[str, Any] = {
        "content": [{"type": "text", "text": short_text(body)}],
        "structuredContent": orjson.Fragment(body),
    }
    if replayed:
        result["_meta"] = {"idempotentReplayed": True}
    return result


def failure(tool: Tool, status: int, problem: Any, retry_after: str | None = None) -> dict[str, Any]:
    """The problem the HTTP action answered, as text a model can act on."""
    if not isinstance(problem, dict):
        problem = {"status": status, "detail": "The service answered without details."}
    lines = [f"{problem.get('title') or 'Error'} ({status}): {problem.get('detail', '')}".strip()]
    properties = tool.input_schema.get("properties", {})
    for field, messages in (problem.get("errors") or {}).items():
        hint = expected_format(properties.get(str(field).split(".", 1)[0], {}))
        message = " ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
        lines.append(f"- {field}: {message}" + (f" Expected: {hint}." if hint else ""))
    extensions = {k: v for k, v in problem.items() if k not in PROBLEM_MEMBERS}
    if extensions:
        lines.append(f"Details: {orjson.dumps(extensions).decode()}")
    if retry_after:
        lines.append(f"Retry after {retry_after} seconds.")
    return {"content": [{"type": "text", "text": "\n".join(lines)}], "isError": True}
