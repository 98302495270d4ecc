"""connector.testing's contract tests, run for the catalogs defined in the tests: the demo catalog
(one trigger of each kind) and the third-party catalog of test_third_party_catalog.py."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import demo_catalog
import pytest
from flask import Flask, jsonify, request
from test_third_party_catalog import catalog as acme

from connector import testing
from connector.testing.contract import default_credential, serve

MICROSOFT_SCHEMAS = Path(__file__).resolve().parents[1] / "reference" / "powerautomate" / "schemas"

TestDemoContract = testing.contract_tests(demo_catalog.catalog, microsoft_schemas=MICROSOFT_SCHEMAS)
TestAcmeContract = testing.contract_tests(acme, microsoft_schemas=MICROSOFT_SCHEMAS)


# --- the kit fails a catalog that breaks the contract ----------------------------------------------


def variant(answer: Callable[[Any], Any]) -> Any:
    """Acme with a sandbox whose ``POST /greetings`` answers ``answer(request)``."""

    def create_sandbox() -> Flask:
        app = Flask(__name__)
        app.post("/greetings")(lambda: answer(request))
        return app

    return dataclasses.replace(acme, sandbox=create_sandbox)


def run(catalog: Any, test: str, tmp_path: Path, **arguments: Any) -> None:
    """One test of the catalog's contract class, on a harness of its own."""
    tests = testing.contract_tests(catalog)()
    with serve(catalog, default_credential(catalog), tmp_path) as harness:
        getattr(tests, test)(harness, **arguments)


def test_an_answer_the_output_schema_refuses_fails(tmp_path):
    refused = variant(lambda request: jsonify({"salutation": "Hello"}))
    with pytest.raises(AssertionError, match="does not load with its output schema"):
        run(refused, "test_example_works_in_the_sandbox", tmp_path, operation=refused.instances[0])


def test_a_credential_in_the_log_fails(tmp_path):
    def logs_the_key(request: Any) -> Any:
        logging.getLogger("acme.sandbox").info("greeting for key %s", request.headers.get("X-Acme-Key"))
        return jsonify({"greeting": "Hello"})

    leaky = variant(logs_the_key)
    with pytest.raises(AssertionError, match="the credential is in the log"):
        tests = testing.contract_tests(leaky)()
        with serve(leaky, default_credential(leaky), tmp_path) as harness:
            tests.test_example_works_in_the_sandbox(harness, leaky.instances[0])
            tests.test_the_credential_never_shows_in_logs_or_answers(harness)


def test_a_broken_certification_rule_fails():
    class Shout(acme.operations[0]):
        summary = "Greet someone!"

    shouting = dataclasses.replace(acme, operations=(Shout,))
    with pytest.raises(AssertionError, match="summary must not end in punctuation"):
        testing.contract_tests(shouting)().test_declarations_pass_the_start_up_checks()
