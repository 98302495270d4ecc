"""The generated Zapier apps (openapi/<connector>/zapier/), run the way Zapier runs them.

Offline: zapier-platform-core's `validate` command, zapier-platform-schema and the CLI's
`zapier-platform validate --without-style` find no error. Online, against `connector serve
--sandbox` over real HTTP: every trigger, search and create through zapier-platform-core's
createAppTester with NODE_ENV=test (core's output checks throw): the connection test, a burst of 60
contacts between two polls, a REST hook that subscribes, gets a real event and unsubscribes,
searches that find what a create made and give [] on a miss, every create with its optional fields
as "", and the error mapping (problem detail and fields, 401, 429).

Node 22 and the Zapier packages come from tests/zapier/package.json (`npm ci`, done by .ci/run);
without them these tests fail under CI=1 and are skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from serving import ROOT, running_server
from zapier_node import CLI, MODULES, NODE, node, node_env, node_harness  # noqa: F401 - a fixture

import tests.egoi.test_egoi_contract as egoi_contract
from connector.platforms.zapier import App
from connector.registry import discover
from connector.spec.description import Description
from connector.testing.network import free_port
from connector.testing.subscriber import running_subscriber

CATALOGS = ("egoi", "ongage")
KEYS = {"egoi": "zapier-test-key", "ongage": "acme:ana:s3cret"}
REJECTED = {"egoi": "sandbox-invalid-key", "ongage": "acme:ana:sandbox-invalid-password"}
pytestmark = pytest.mark.usefixtures("node_harness")


@pytest.fixture(scope="module")
def apps(tmp_path_factory) -> dict[str, Path]:
    """Each committed app in a folder of its own whose node_modules are the harness's."""
    folders = {}
    for name in CATALOGS:
        folder = tmp_path_factory.mktemp(f"zapier-{name}")
        for path in (ROOT / "openapi" / name / "zapier").iterdir():
            shutil.copy(path, folder / path.name)
        (folder / "node_modules").symlink_to(MODULES)
        folders[name] = folder
    return folders


@pytest.fixture(scope="module")
def definitions(apps) -> dict[str, dict[str, Any]]:
    return {name: node("definition", str(folder)) for name, folder in apps.items()}


# --- offline ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CATALOGS)
def test_core_and_schema_validate_the_app(apps, name):
    assert node("validate", str(apps[name])) == {"core": [], "schema": []}


def test_validation_finds_a_broken_app(tmp_path, apps):
    """The validation above can fail: an app whose create lost its perform is refused by both."""
    broken = tmp_path / "broken"
    shutil.copytree(apps["egoi"], broken, symlinks=True)
    index = broken / "index.js"
    index.write_text(
        index.read_text() + "\ndelete module.exports.creates.create_contact.operation.perform;\n"
        "module.exports.creates.send_sms.display.label = 'x';\n"
    )
    result = node("validate", str(broken))
    assert result["core"] and result["schema"]


@pytest.mark.parametrize("name", CATALOGS)
def test_the_zapier_cli_validates_the_app(apps, name):
    done = subprocess.run(
        [str(CLI), "validate", "--without-style"],
        capture_output=True,
        text=True,
        cwd=apps[name],
        env={**node_env(apps[name]), "DISABLE_ZAPIER_ANALYTICS": "1"},
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "structurally sound" in done.stdout


@pytest.mark.parametrize("name", CATALOGS)
def test_the_app_has_every_declared_operation(definitions, name):
    """Every action is a create or a search, every trigger a trigger; dropdowns point at hidden triggers."""
    catalog = next(c for c in discover() if c.name == name)
    app = definitions[name]
    assert app["platformVersion"] == "19.1.0"
    package = json.loads((ROOT / "openapi" / name / "zapier" / "package.json").read_text())
    assert package["dependencies"] == {"zapier-platform-core": app["platformVersion"]}
    actions = {op.key for op in catalog.instances if op.path_prefix == "actions"}
    triggers = {op.key for op in catalog.instances if op.path_prefix == "triggers"}
    assert set(app["creates"]) | set(app["searches"]) == actions
    assert not set(app["creates"]) & set(app["searches"])
    visible = {k for k, t in app["triggers"].items() if not t["display"].get("hidden")}
    assert visible == triggers
    for group in ("creates", "searches", "triggers"):
        for key, item in app[group].items():
            for field in (f for top in item["operation"]["inputFields"] for f in (top, *top.get("children", []))):
                if "dynamic" in field:
                    source = field["dynamic"].split(".")[0]
                    assert app["triggers"][source]["display"]["hidden"], (key, field)


def test_fields_say_what_the_declarations_say(definitions):
    app = definitions["egoi"]
    fields = {f["key"]: f for f in app["creates"]["create_contact"]["operation"]["inputFields"]}
    assert fields["list_id"] == {**fields["list_id"], "type": "integer", "required": True}
    assert fields["list_id"]["dynamic"].startswith("dropdown_lists.")
    assert fields["birth_date"]["type"] == "string" and "yyyy-mm-dd" in fields["birth_date"]["helpText"]
    assert fields["language"]["choices"] and fields["upsert"]["type"] == "boolean"
    assert {c["key"] for c in fields["extra"]["children"]} >= {"extra.field_id", "extra.value"}
    sms = {f["key"]: f for f in app["creates"]["send_sms"]["operation"]["inputFields"]}
    assert sms["scheduleTo"]["type"] == "datetime"
    assert app["searchOrCreates"]["find_contact"] == {
        **app["searchOrCreates"]["find_contact"],
        "search": "find_contact",
        "create": "create_contact",
    }
    assert app["triggers"]["when_contact_event"]["operation"]["type"] == "hook"
    assert "callback_url" not in {f["key"] for f in app["triggers"]["when_contact_event"]["operation"]["inputFields"]}


# --- against the sandbox ---------------------------------------------------------------------------


@contextmanager
def serve(directory: Path, rate_limit: str) -> Iterator[str]:
    """`connector serve --sandbox` on a real port, its public URL that port (the emulators call its
    receiver there), callbacks to loopback allowed, failed deliveries retried quickly."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    environ.update(
        {
            "HOME": str(directory),
            "CONNECTOR_DATA_DIR": str(directory / "data"),
            "CONNECTOR_PUBLIC_URL": url,
            "CONNECTOR_ALLOW_PRIVATE_CALLBACKS": "true",
            "CONNECTOR_DELIVERY_SCHEDULE": "0.2,0.2",
            "CONNECTOR_RATE_LIMIT": rate_limit,
        }
    )
    argv = [sys.executable, "-m", "connector.cli", "serve", "--sandbox", "--port", str(port)]
    with running_server(argv, environ, f"{url}/readyz", directory / "stdout.log", directory / "stderr.log"):
        yield url


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("served"), "1000 per 60 seconds") as url:
        yield url


class Zapier:
    """One app run by createAppTester against the served sandbox."""

    def __init__(self, folder: Path, url: str, name: str) -> None:
        self.folder, self.url, self.name = folder, url, name
        self.auth = {"api_key": KEYS[name]}

    def run(self, *calls: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
        stdin = [{"method": m, "bundle": {"authData": self.auth, **b}} for m, b in calls]
        return node("run", str(self.folder), stdin=stdin, env={"CONNECTOR_PUBLIC_URL": self.url})

    def result(self, method: str, bundle: dict[str, Any] | None = None) -> Any:
        (answer,) = self.run((method, bundle or {}))
        assert "error" not in answer, (method, answer)
        return answer["result"]

    def error(self, method: str, bundle: dict[str, Any] | None = None) -> dict[str, Any]:
        (answer,) = self.run((method, bundle or {}))
        assert "error" in answer, (method, answer)
        return answer["error"]

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        header = next(c for c in discover() if c.name == self.name).credential.header
        return requests.request(
            method, f"{self.url}/{self.name}{path}", headers={header: KEYS[self.name]}, timeout=10, **kwargs
        )


@pytest.fixture(scope="module")
def zapier(apps, served) -> dict[str, Zapier]:
    return {name: Zapier(folder, served, name) for name, folder in apps.items()}


def input_data(fields: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    """A request body as Zapier hands it to the app: line items keyed by their field's key, JSON
    fields as text, lists inside line items as comma-separated text."""
    by_key = {f["key"]: f for f in fields}
    data: dict[str, Any] = {}
    for key, value in body.items():
        field = by_key[key]
        if "children" in field:
            data[key] = [
                {f"{key}.{k}": ",".join(map(str, v)) if isinstance(v, list) and not (v and isinstance(v[0], dict))
                 else json.dumps(v) if isinstance(v, dict | list) else v for k, v in item.items()}
                for item in value
            ]  # fmt: skip
        elif field.get("type") == "text" and isinstance(value, dict | list):
            data[key] = json.dumps(value)
        else:
            data[key] = value
    return data


def as_text(value: Any) -> Any:
    """Mapped values as Zapier often passes them: numbers and booleans as text ("12", "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [as_text(item) for item in value]
    if isinstance(value, dict):
        return {key: as_text(item) for key, item in value.items()}
    return value


def with_blank_optionals(fields: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
    """Every optional field the input leaves out arrives as "", as Zapier sends an unmapped field,
    in line items too."""
    blank = {**{f["key"]: "" for f in fields if not f.get("required")}, **data}
    for field in fields:
        if "children" in field and isinstance(blank[field["key"]], list):
            optional = {c["key"]: "" for c in field["children"] if not c.get("required")}
            blank[field["key"]] = [{**optional, **item} for item in blank[field["key"]]]
    return blank


@pytest.mark.parametrize("name", CATALOGS)
def test_the_connection_test_accepts_a_key_and_shows_why_one_is_rejected(zapier, name):
    app = zapier[name]
    assert app.result("authentication.test") is not None
    label = app.result("authentication.connectionLabel", {"authData": {**app.auth, "connection_name": "Shop"}})
    assert label == "Shop"
    assert app.result("authentication.connectionLabel") == next(c for c in discover() if c.name == name).title
    app.auth = {"api_key": REJECTED[name]}
    try:
        error = app.error("authentication.test")
    finally:
        app.auth = {"api_key": KEYS[name]}
    catalog = next(c for c in discover() if c.name == name)
    test = App(Description.build(catalog, app.url)).build()["test"]
    header = {catalog.credential.header: REJECTED[name]}
    url = f"{app.url}/{name}{test['path']}"
    if test["method"] == "GET":
        problem = requests.get(url, params=test["body"], headers=header, timeout=10).json()
    else:
        problem = requests.post(url, json=test["body"], headers=header, timeout=10).json()
    shown = json.loads(error["message"])
    assert shown["status"] == 401 and shown["message"] == problem["detail"]
    assert REJECTED[name] not in error["message"]


class Client:
    """The few calls of a Flask test client that the catalogs' contract ``prepare`` hooks make, over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url

    def post(self, path: str, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        answer = requests.post(f"{self.url}{path}", json=json, headers=headers, timeout=10)
        answer.get_json = answer.json
        return answer


def examples(app: Zapier) -> dict[str, dict[str, Any]]:
    """Each operation's declared example, with what the catalog's contract tests prepare in a fresh
    sandbox (a contact for the examples that name one)."""
    catalog = next(c for c in discover() if c.name == app.name)
    found = {op.key: dict(op.example or {}) for op in catalog.instances}
    if app.name == "egoi":
        header = {catalog.credential.header: KEYS[app.name]}
        found.update(egoi_contract.with_a_contact(Client(app.url), header))
    return found


@pytest.mark.parametrize("name", CATALOGS)
def test_every_create_works_with_its_optional_fields_as_empty_strings(zapier, definitions, name):
    """Each create once, with its declared example as Zapier passes mapped values (numbers and
    booleans as text) and every other optional field "": the answer is an object (core's check) and
    matches the declared output fields."""
    app = zapier[name]
    example = examples(app)
    creates = definitions[name]["creates"]
    calls = []
    for key, create in creates.items():
        fields = create["operation"]["inputFields"]
        body = with_blank_optionals(fields, as_text(input_data(fields, example[key])))
        calls.append((f"creates.{key}.operation.perform", {"inputData": body}))
    answers = app.run(*calls)
    failed = {key: a["error"] for key, a in zip(creates, answers, strict=True) if "error" in a}
    assert failed == {}
    for key, answer in zip(creates, answers, strict=True):
        declared = {f["key"].split("__")[0].split("[]")[0] for f in creates[key]["operation"]["outputFields"]}
        assert set(answer["result"]) <= declared, key


def test_a_replayed_create_does_not_act_twice(zapier):
    """A replay of one run (the same Run ID) sends the same Idempotency-Key: one contact, one answer."""
    app = zapier["egoi"]
    email = f"replay-{uuid.uuid4().hex[:8]}@example.com"
    bundle = {"inputData": {"list_id": 1, "email": email, "first_name": "", "_run_id": "trigger-item-41"}}
    first, again = app.run(
        ("creates.create_contact.operation.perform", bundle), ("creates.create_contact.operation.perform", bundle)
    )
    assert first == again and "error" not in first
    found = app.result("searches.find_contact.operation.perform", {"inputData": {"email": email}})
    assert [c["contact_id"] for c in found] == [first["result"]["contact_id"]]


def test_runs_with_the_same_input_and_no_run_id_each_act(zapier):
    """Without a Run ID no key is sent: a later run with the same input is not answered from the
    first (here it reaches E-goi, which refuses the duplicate contact), so no run's work is lost."""
    app = zapier["egoi"]
    email = f"twice-{uuid.uuid4().hex[:8]}@example.com"
    bundle = {"inputData": {"list_id": 1, "email": email, "_run_id": ""}}
    first, again = app.run(
        ("creates.create_contact.operation.perform", bundle), ("creates.create_contact.operation.perform", bundle)
    )
    assert "error" not in first
    assert "error" in again and "already" in again["error"]["message"].lower(), again


def test_a_search_finds_what_a_create_made_and_nothing_on_a_miss(zapier):
    app = zapier["egoi"]
    email = f"found-{uuid.uuid4().hex[:8]}@example.com"
    made = app.result("creates.create_contact.operation.perform", {"inputData": {"list_id": 1, "email": email}})
    found = app.result("searches.find_contact.operation.perform", {"inputData": {"email": email, "phone": ""}})
    assert [c["contact_id"] for c in found] == [made["contact_id"]]
    assert found[0]["email"] == email and found[0]["list_id"] == 1  # the whole contact, as GetContact gives it
    got = app.result(
        "searches.get_contact.operation.perform", {"inputData": {"list_id": 1, "contact_id": made["contact_id"]}}
    )
    assert got[0]["contact_id"] == made["contact_id"] and got[0]["email"] == email
    assert app.result("searches.find_contact.operation.perform", {"inputData": {"email": "nobody@example.com"}}) == []
    assert (
        app.result("searches.get_contact.operation.perform", {"inputData": {"list_id": 1, "contact_id": "ffffffffff"}})
        == []
    )


@pytest.mark.parametrize("name", CATALOGS)
def test_every_search_runs_with_its_example(zapier, definitions, name):
    example = examples(zapier[name])
    searches = definitions[name]["searches"]
    calls = [
        (f"searches.{key}.operation.perform", {"inputData": input_data(s["operation"]["inputFields"], example[key])})
        for key, s in searches.items()
    ]  # fmt: skip
    answers = zapier[name].run(*calls)
    assert {k: a for k, a in zip(searches, answers, strict=True) if "error" in a} == {}
    assert all(isinstance(a["result"], list) for a in answers)


def test_dropdowns_list_their_choices(zapier, definitions):
    app = zapier["egoi"]
    dropdowns = {k: t for k, t in definitions["egoi"]["triggers"].items() if t["display"].get("hidden")}
    assert dropdowns
    app.call(
        "POST", "/actions/create_contact", json={"list_id": 1, "email": f"pick-{uuid.uuid4().hex[:8]}@example.com"}
    )
    answers = app.run(*((f"triggers.{key}.operation.perform", {"inputData": {"list_id": 1}}) for key in dropdowns))
    for key, answer in zip(dropdowns, answers, strict=True):
        assert answer.get("result") and all("id" in item for item in answer["result"]), (key, answer)


def test_a_burst_of_60_contacts_between_two_polls_all_surface(zapier):
    app = zapier["egoi"]
    poll = ("triggers.when_contact_created.operation.perform", {"inputData": {"list_id": 1}, "meta": {"limit": -1}})
    seen = {item["id"] for item in app.result(*poll)}
    made = set()
    for n in range(60):
        answer = app.call(
            "POST",
            "/actions/create_contact",
            json={"list_id": 1, "email": f"burst{n}-{uuid.uuid4().hex[:6]}@example.com"},
        )
        assert answer.status_code == 201 or answer.status_code == 200, answer.text
        made.add(answer.json()["contact_id"])
    items = app.result(*poll)
    new = [item for item in items if item["id"] not in seen]
    assert {item["contact_id"] for item in new} == made
    assert app.result("triggers.when_campaign_sent.operation.perform", {"inputData": {}}) is not None


def _wait(predicate, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def _a_contact(app: Zapier) -> dict[str, Any]:
    made = app.call(
        "POST", "/actions/create_contact", json={"list_id": 1, "email": f"hook-{uuid.uuid4().hex[:8]}@example.com"}
    )
    return {"contact_id": made.json()["contact_id"]}


def _an_sms(app: Zapier) -> dict[str, Any]:
    sent = app.call("POST", "/actions/send_sms", json={"to": "351-912345678", "from": "1", "textBody": "Hello!"})
    return {"message_id": sent.json()["messageId"]}


HOOKS = {
    "when_contact_event": ({"list_id": 1, "actions": ["subscription"]}, _a_contact),
    "when_message_status_changes": ({"channels": ["sms"], "actions": ["delivered"]}, _an_sms),
}


@pytest.mark.parametrize("key", HOOKS)
def test_a_rest_hook_subscribes_gets_a_real_event_and_unsubscribes(zapier, key):
    """Subscribe with Zapier's target URL; an event made through the service reaches it; perform
    gives it as one item, performList gives the same item; unsubscribe ends the subscription."""
    app = zapier["egoi"]
    trigger = f"triggers.{key}.operation"
    inputs, make_event = HOOKS[key]
    with running_subscriber() as listener:
        subscription = app.result(f"{trigger}.performSubscribe", {"inputData": inputs, "targetUrl": listener.url})
        listed = app.call("GET", "/subscriptions").json()["items"]
        assert [s["status"] for s in listed if s["id"] == subscription["id"]] == ["active"]
        expected = make_event(app)
        event = json.loads(_wait(listener.delivered)[0]["body"])
        (performed,) = app.result(f"{trigger}.perform", {"inputData": inputs, "cleanedRequest": event})
        assert performed["id"] and performed == {**performed, **expected}
        recent = app.result(f"{trigger}.performList", {"inputData": inputs, "meta": {"limit": 10}})
        assert [item for item in recent if item["id"] == performed["id"]] == [performed]
        app.result(f"{trigger}.performUnsubscribe", {"inputData": inputs, "subscribeData": subscription})
        listed = app.call("GET", "/subscriptions").json()["items"]
        assert [s["status"] for s in listed if s["id"] == subscription["id"]] in ([], ["ended"])


def test_problems_become_zapier_errors(zapier):
    app = zapier["egoi"]
    error = app.error(
        "creates.create_contact.operation.perform", {"inputData": {"list_id": 1, "email": "not-an-email"}}
    )
    assert error["name"] == "AppError"
    shown = json.loads(error["message"])
    assert shown["status"] == 422 and "email" in shown["message"] and "name@example.com" in shown["message"]
    app.auth = {"api_key": REJECTED["egoi"]}
    try:
        error = app.error(
            "creates.create_contact.operation.perform", {"inputData": {"list_id": 1, "email": "a@example.com"}}
        )
    finally:
        app.auth = {"api_key": KEYS["egoi"]}
    assert error["name"] == "ExpiredAuthError" and error["message"]


def test_a_throttled_call_waits_for_retry_after_and_says_why(apps, tmp_path):
    with serve(tmp_path, "2 per 60 seconds") as url:
        app = Zapier(apps["egoi"], url, "egoi")
        calls = [("triggers.dropdown_lists.operation.perform", {"inputData": {}})] * 3
        *passed, throttled = app.run(*calls)
    assert all("result" in answer for answer in passed)
    assert throttled["error"]["name"] == "ThrottledError"
    shown = json.loads(throttled["error"]["message"])
    assert 0 < shown["delay"] <= 60 and "Too many" in shown["message"]


def test_the_runtime_gives_the_body_its_shape(apps):
    """Line items lose their parent's prefix; JSON text becomes objects; lists in line items are
    split on commas (numbers where the list holds numbers) unless written as a JSON list."""
    shape = {
        "fields": {
            "meta": "json",
            "items": {"prefix": "items.", "fields": {"ids": "csv-integer", "tags": "csv", "rule": "json"}},
        }
    }
    data = {
        "name": "",
        "meta": '{"a": 1}',
        "items": [{"items.ids": "1, 2", "items.tags": '["a,b", "c"]', "items.rule": "", "items.note": "x"}],
    }
    script = (
        f"const {{ shapeObject }} = require({json.dumps(str(apps['egoi'] / 'runtime.js'))});"
        f"process.stdout.write(JSON.stringify(shapeObject({json.dumps(data)}, {json.dumps(shape)})));"
    )
    done = subprocess.run([str(NODE), "-e", script], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(done.stdout) == {
        "name": "",
        "meta": {"a": 1},
        "items": [{"ids": [1, 2], "tags": ["a,b", "c"], "rule": "", "note": "x"}],
    }
