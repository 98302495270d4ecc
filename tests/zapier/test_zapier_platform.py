"""The Zapier platform module on a catalog defined here: an action added to a catalog becomes a
create (and a Find action a search) with no Zapier-specific code, and the app still validates."""

from __future__ import annotations

import dataclasses
import json
import shutil
from typing import Any

import demo_catalog
import pytest
from click.testing import CliRunner
from serving import ROOT
from zapier_node import node, node_harness  # noqa: F401 - a fixture

from connector import fields as f
from connector.cli import main
from connector.declarations import Action, InputSchema, OutputSchema
from connector.platforms import platforms
from connector.spec.documents import Documents


class GreetInput(InputSchema):
    name = f.String(required=True, max_length=100, summary="Name", description="Who to greet.", example="Ana")
    times = f.Integer(summary="Times", description="How many times.", example=2)
    when = f.DateTime(summary="When", description="When to greet.")
    born = f.Date(summary="Born", description="Birthday.")
    tone = f.Choice(("warm", "dry"), summary="Tone", description="How it sounds.")
    tags = f.List(f.String(max_length=20), summary="Tags", description="Labels.")


class GreetOutput(OutputSchema):
    id = f.Integer(required=True, summary="Id", description="The greeting's id.")
    greeting = f.String(required=True, summary="Greeting", description="What was said.")


class SendGreeting(Action):
    key = "send_greeting"
    operation_id = "SendGreeting"
    summary = "Send a greeting"
    description = "Greets someone by name."
    Input = GreetInput
    Output = GreetOutput
    example = {"name": "Ana"}
    response_example = {"id": 1, "greeting": "Olá, Ana!"}


class FindGreetingInput(InputSchema):
    name = f.String(max_length=100, summary="Name", description="Who was greeted.")


class GreetingPage(OutputSchema):
    total_items = f.Integer(required=True, summary="Total", description="How many.")
    items = f.List(f.Nested(GreetOutput), required=True, summary="Greetings", description="The greetings.")


class FindGreeting(Action):
    key = "find_greeting"
    operation_id = "FindGreeting"
    summary = "Find greetings"
    description = "Finds the greetings of a name."
    Input = FindGreetingInput
    Output = GreetingPage
    example = {"name": "Ana"}


@pytest.fixture(scope="module")
def app(node_harness, tmp_path_factory) -> dict[str, Any]:  # noqa: F811 - the fixture imported above
    catalog = dataclasses.replace(demo_catalog.catalog, operations=(SendGreeting, FindGreeting))
    files = Documents.build(catalog, "https://connector.example.com", ["zapier"]).files
    folder = tmp_path_factory.mktemp("greeting")
    for name, content in files.items():
        (folder / name.removeprefix("zapier/")).write_bytes(content)
    assert node("validate", str(folder)) == {"core": [], "schema": []}
    return node("definition", str(folder))


def test_zapier_is_a_platform():
    assert "zapier" in platforms() and platforms()["zapier"].routes == {}


def test_an_action_becomes_a_create_with_typed_fields(app):
    create = app["creates"]["send_greeting"]
    assert create["display"] == {"label": "Send a greeting", "description": "Greets someone by name."}
    fields = {field["key"]: field for field in create["operation"]["inputFields"]}
    assert fields["name"] == {**fields["name"], "type": "string", "required": True, "placeholder": "Ana"}
    assert fields["times"]["type"] == "integer" and not fields["times"]["required"]
    assert fields["when"]["type"] == "datetime"
    assert fields["born"]["type"] == "string" and "yyyy-mm-dd" in fields["born"]["helpText"]
    assert fields["tone"]["choices"] == ["warm", "dry"]
    assert fields["tags"]["list"] is True
    assert create["operation"]["sample"] == {"id": 1, "greeting": "Olá, Ana!"}
    assert [o["key"] for o in create["operation"]["outputFields"]] == ["id", "greeting"]


def test_a_find_action_becomes_a_search_of_the_page_items(app):
    search = app["searches"]["find_greeting"]
    assert [o["key"] for o in search["operation"]["outputFields"]] == ["id", "greeting"]
    assert "find_greeting" not in app["creates"]


def test_triggers_of_both_kinds(app):
    polling, hook = app["triggers"]["when_item_created"], app["triggers"]["when_item_event"]
    assert polling["operation"].get("type", "polling") == "polling"
    assert hook["operation"]["type"] == "hook"
    assert {"performSubscribe", "performUnsubscribe", "performList"} <= set(hook["operation"])
    assert [f["key"] for f in hook["operation"]["inputFields"]] == ["kinds"]


def test_the_app_reads_the_public_url_it_was_generated_for():
    catalog = dataclasses.replace(demo_catalog.catalog, operations=(SendGreeting,))
    index = Documents.build(catalog, "https://connector.example.com", ["zapier"]).files["zapier/index.js"]
    assert b'"baseUrl": "https://connector.example.com/demo"' in index
    package = json.loads(Documents.build(catalog, "https://x.example", ["zapier"]).files["zapier/package.json"])
    assert package["version"] == catalog.version and package["dependencies"] == {"zapier-platform-core": "19.1.0"}


def test_the_drift_check_covers_the_app(monkeypatch, tmp_path):
    """`connector export --check` passes on the committed apps and names an edited one."""
    monkeypatch.delenv("CONNECTOR_PUBLIC_URL", raising=False)
    shutil.copytree(ROOT / "openapi", tmp_path / "openapi")
    runner = CliRunner()
    check = ["export", "--check", "--platform", "zapier", "--out", str(tmp_path / "openapi")]
    assert runner.invoke(main, check).exit_code == 0
    edited = tmp_path / "openapi" / "egoi" / "zapier" / "index.js"
    edited.write_text(edited.read_text().replace("Create a contact", "Create a kontact"))
    result = runner.invoke(main, check)
    assert result.exit_code == 1 and "zapier/index.js" in result.output
