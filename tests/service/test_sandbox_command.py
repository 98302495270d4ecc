"""`connector sandbox`: the vendor emulators standalone on one port, shared by separate services."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import requests
from serving import running_server, stop

from connector.registry import discover
from connector.testing.network import free_port

ROOT = Path(__file__).resolve().parents[2]
KEY = {"Apikey": "shared-sandbox-key"}


def clean_environment(**extra: str) -> dict[str, str]:
    """This environment without any CONNECTOR_* variable of the test run, plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}, **extra}


@contextmanager
def sandbox_command(*catalogs: str, log: IO[Any] | int = subprocess.DEVNULL) -> Iterator[dict[str, str]]:
    """``connector sandbox --port 0 [--catalog …]`` in a subprocess; yields the settings it printed
    (``CONNECTOR_…_URL`` → URL)."""
    expected = sum(len(c.services) for c in discover(list(catalogs)) if c.sandbox is not None)
    args = [arg for name in catalogs for arg in ("--catalog", name)]
    process = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "sandbox", "--port", "0", *args],
        cwd=ROOT,
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,
    )
    try:
        settings: dict[str, str] = {}
        assert process.stdout is not None
        while len(settings) < expected:
            line = process.stdout.readline()
            assert line, f"connector sandbox exited with {process.wait()} before printing its settings"
            if line.startswith("CONNECTOR_"):
                key, _, value = line.strip().partition("=")
                settings[key] = value
        yield settings
    finally:
        stop(process)


def test_it_prints_a_setting_per_service_and_serves_each_emulator_under_its_name():
    with sandbox_command() as settings:
        assert set(settings) == {
            "CONNECTOR_EGOI_API_URL",
            "CONNECTOR_EGOI_TRANSACTIONAL_URL",
            "CONNECTOR_ONGAGE_API_URL",
        }
        base = settings["CONNECTOR_EGOI_API_URL"].removesuffix("/egoi/api")
        assert settings["CONNECTOR_EGOI_TRANSACTIONAL_URL"] == f"{base}/egoi/slingshot/api/v2"
        assert settings["CONNECTOR_ONGAGE_API_URL"] == f"{base}/ongage"
        contacts = requests.get(f"{settings['CONNECTOR_EGOI_API_URL']}/lists/1/contacts", headers=KEY, timeout=5)
        assert contacts.status_code == 200 and "total_items" in contacts.json()
        assert requests.get(f"{base}/elsewhere", timeout=5).status_code == 404


def test_catalog_chooses_the_emulators_and_an_unknown_one_is_a_usage_error():
    with sandbox_command("egoi") as settings:
        assert set(settings) == {"CONNECTOR_EGOI_API_URL", "CONNECTOR_EGOI_TRANSACTIONAL_URL"}
    wrong = subprocess.run(
        [sys.executable, "-m", "connector.cli", "sandbox", "--catalog", "nope"],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 2 and "unknown catalog(s): nope" in wrong.stderr


@contextmanager
def serve_without_sandbox(directory: Path, settings: dict[str, str]) -> Iterator[str]:
    """``connector serve`` (no ``--sandbox``) configured by ``settings``; yields its URL once ready."""
    port = free_port()
    env = clean_environment(CONNECTOR_DATA_DIR=str(directory / "data"), HOME=str(directory), **settings)
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "connector.cli", "serve", "--port", str(port)]
    with running_server(argv, env, f"{url}/readyz", directory / "serve.log"):
        yield url


def test_two_services_share_one_emulator(tmp_path):
    """What one service does upstream, another service (its own process) sees: the emulator is shared."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        sandbox_command("egoi") as settings,
        serve_without_sandbox(tmp_path / "a", {**settings, "CONNECTOR_CATALOGS": "egoi"}) as first,
        serve_without_sandbox(tmp_path / "b", {**settings, "CONNECTOR_CATALOGS": "egoi"}) as second,
    ):
        body = {"list_id": 1, "email": "shared@example.com"}
        created = requests.post(f"{first}/egoi/actions/create_contact", json=body, headers=KEY, timeout=10)
        assert created.status_code == 201, created.text
        again = requests.post(f"{second}/egoi/actions/create_contact", json=body, headers=KEY, timeout=10)
        assert again.status_code == 409 and again.json()["contact_id"] == created.json()["contact_id"], again.text
        upstream = requests.get(f"{settings['CONNECTOR_EGOI_API_URL']}/lists/1/contacts", headers=KEY, timeout=5)
        assert [c["base"]["email"] for c in upstream.json()["items"]] == ["shared@example.com"]
