"""A connector is its own package plus one entry-point line: a catalog defined only here, installed
the way a third-party package is (a ``*.dist-info`` with ``entry_points.txt`` on ``sys.path``, found
by ``importlib.metadata``), is discovered, served and exported with no file under connector/ naming
it, and without setting its URL variable (the default its service declares applies).

``catalog`` and ``create_sandbox`` are importable from this module for other tests of the catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner
from flask import Flask, jsonify, request

from connector import fields as f
from connector import sandbox as sandboxes
from connector.app import create_app
from connector.cli import main
from connector.declarations import Action, Catalog, Credential, InputSchema, OutputSchema, Service
from connector.registry import discover
from tests.conftest import TEST_SETTINGS

NAME = "acme"
DEFAULT_URL = "https://api.acme.test/v1"
HEADER = "X-Acme-Key"
FRAMEWORK = Path(__file__).resolve().parents[2] / "connector"


class GreetInput(InputSchema):
    name = f.String(required=True, max_length=100, summary="Name", description="Who to greet.", visibility="important")


class GreetOutput(OutputSchema):
    greeting = f.String(required=True, summary="Greeting", description="The greeting the upstream made.")


class Greet(Action):
    key = "greet"
    operation_id = "Greet"
    summary = "Greet someone"
    description = "Asks the Acme API for a greeting addressed to the given name."
    visibility = "important"
    Input = GreetInput
    Output = GreetOutput
    example = {"name": "Ana"}
    response_example = {"greeting": "Hello, Ana!"}

    def perform(self, data: dict[str, Any], upstream: Any) -> Any:
        return upstream.post("/greetings", json={"to": data["name"]})


def create_sandbox() -> Flask:
    """Acme's emulator: any key but an empty one; ``POST /greetings`` greets ``to``."""
    app = Flask(__name__)

    @app.post("/greetings")
    def greet() -> Any:
        if not request.headers.get(HEADER):
            return jsonify({"error": "unauthorized"}), 401
        return jsonify({"greeting": f"Hello, {request.get_json()['to']}!"})

    return app


catalog = Catalog(
    name=NAME,
    title="Acme",
    description="Acme is a greeting service. This connector asks it for greetings.",
    version="1.0.0",
    credential=Credential(header=HEADER, description="The API key of your Acme account."),
    services=(Service("greetings", "Acme API", "ACME_API_URL", HEADER, default_url=DEFAULT_URL),),
    operations=(Greet,),
    publisher="Acme",
    brand_color="#AA3300",
    contact={"name": "Acme Support", "url": "https://acme.example.com/support"},
    metadata={
        "Website": "https://acme.example.com/",
        "Privacy policy": "https://acme.example.com/privacy",
        "Categories": "IT Operations",
    },
    sandbox=create_sandbox,
)


def install(directory: Path, distribution: str, entry_points: str) -> None:
    """What ``pip install`` leaves behind for a package's entry points: a dist-info directory."""
    info = directory / f"{distribution}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """The catalog installed as a third-party distribution, for this test only."""
    install(tmp_path, "acme_connector", f"[connector.catalogs]\n{NAME} = {__name__}:catalog\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # also invalidates the import caches
    monkeypatch.delenv("CONNECTOR_ACME_API_URL", raising=False)
    return tmp_path


def test_no_framework_file_names_the_catalog():
    naming = [str(p) for p in FRAMEWORK.rglob("*.py") if NAME in p.read_text().lower()]
    assert naming == []


def test_it_is_discovered_by_its_entry_point(installed):
    (found,) = discover(NAME)
    assert found is catalog  # the entry point loads this module's object
    assert NAME in [c.name for c in discover()]  # next to whatever else is installed


def test_it_is_served_and_an_action_call_reaches_its_sandbox(installed):
    running = sandboxes.start(catalog)  # over real HTTP on loopback
    try:
        urls = sandboxes.service_urls(catalog, running)
        assert urls == {"ACME_API_URL": running.url}  # the variable the declaration names
        client = create_app({**TEST_SETTINGS, **urls, "CATALOGS": NAME}).test_client()
        answer = client.post(f"/{NAME}/actions/greet", json={"name": "Ana"}, headers={HEADER: "k"})
        assert (answer.status_code, answer.json) == (200, {"greeting": "Hello, Ana!"})
        assert client.post(f"/{NAME}/actions/greet", json={"name": "Ana"}).status_code == 401
        assert client.get(f"/{NAME}/docs").status_code == 200
    finally:
        running.stop()


@responses.activate
def test_its_declared_default_url_applies_when_its_variable_is_unset(installed):
    responses.post(f"{DEFAULT_URL}/greetings", json={"greeting": "Hello, Ana!"})
    client = create_app({**TEST_SETTINGS, "CATALOGS": NAME}).test_client()
    answer = client.post(f"/{NAME}/actions/greet", json={"name": "Ana"}, headers={HEADER: "k"})
    assert answer.status_code == 200, answer.json
    assert json.loads(responses.calls[0].request.body) == {"to": "Ana"}
    assert responses.calls[0].request.headers[HEADER] == "k"


def test_it_is_exported(installed, tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_CATALOGS", NAME)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = {p.name for p in (out / NAME).iterdir()}
    assert {"apiDefinition.swagger.json", "apiProperties.json", "openapi.json"} <= written
    swagger = json.loads((out / NAME / "apiDefinition.swagger.json").read_text())
    assert [op["operationId"] for path in swagger["paths"].values() for op in path.values()] == ["Greet"]


def test_triggers_for_no_installed_catalog_are_refused(installed, monkeypatch):
    """A typo in a triggers entry point's name must not drop the triggers silently."""
    install(installed / "more", "orphan_triggers", f"[connector.triggers]\nnobody = {__name__}:catalog\n")
    monkeypatch.syspath_prepend(str(installed / "more"))
    with pytest.raises(LookupError, match="nobody"):
        discover(NAME)
