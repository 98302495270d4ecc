"""A second, independent MCP client: the MCP Inspector's CLI (npm ``@modelcontextprotocol/inspector``,
``mcp-inspector --cli``, on the TypeScript SDK), installed by .ci/run from tests/mcp/package.json
and its lock, lists and calls tools of ``connector serve --sandbox`` over real HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serving import Served, connector_serve

HARNESS = Path(__file__).resolve().parent
INSPECTOR = HARNESS / "node_modules" / ".bin" / "mcp-inspector"
KEY = "inspector-key-51c2"


@pytest.fixture(scope="module")
def inspector() -> Path:
    if not INSPECTOR.exists() or shutil.which("node") is None:
        message = f"the MCP Inspector is not installed: run `npm ci --prefix {HARNESS}` (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return INSPECTOR


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    with connector_serve(tmp_path_factory.mktemp("inspector")) as served:
        yield served


TOOL_IS_ERROR = 5  # the CLI's exit status when a tool result has isError


def inspect(inspector: Path, served: Served, *args: str, status: int = 0) -> Any:
    """One ``mcp-inspector --cli`` run against the E-goi endpoint; its JSON output."""
    argv = [str(inspector), "--cli", f"{served.url}/egoi/mcp", "--transport", "http", "--header", f"Apikey: {KEY}"]
    done = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=60, cwd=HARNESS)
    assert done.returncode == status, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_inspector_lists_the_tools(inspector, served):
    tools = {tool["name"]: tool for tool in inspect(inspector, served, "--method", "tools/list")["tools"]}
    assert {"create_contact", "send_sms", "lookup_lists", "list_subscriptions"} <= set(tools)
    assert tools["lookup_lists"]["annotations"]["readOnlyHint"] is True
    assert "cellphone" in tools["create_contact"]["inputSchema"]["properties"]


def test_inspector_calls_create_contact(inspector, served):
    email = f"inspector-{uuid.uuid4().hex[:8]}@example.com"
    result = inspect(
        inspector, served, "--method", "tools/call", "--tool-name", "create_contact",
        "--tool-arg", "list_id=1", f"email={email}",
    )  # fmt: skip
    assert not result.get("isError"), result
    assert result["structuredContent"]["result"] == "created" and result["structuredContent"]["contact_id"]


def test_inspector_sees_the_field_error(inspector, served):
    result = inspect(
        inspector, served, "--method", "tools/call", "--tool-name", "create_contact",
        "--tool-arg", "list_id=1", "cellphone=+351 912345678", status=TOOL_IS_ERROR,
    )  # fmt: skip
    assert result["isError"] is True
    assert "cellphone" in result["content"][0]["text"] and "ccc-xxxxxxxxx" in result["content"][0]["text"]
    assert KEY not in served.logs()
