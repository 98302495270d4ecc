"""The README documents every configuration variable and command, and nothing that does not exist."""

from __future__ import annotations

import re
from importlib.metadata import distribution
from pathlib import Path

from click.testing import CliRunner

from connector.cli import main
from connector.config import PREFIX, SETTINGS
from connector.registry import GROUP, discover

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
ROWS = dict(re.findall(r"^\| `(CONNECTOR_[A-Z0-9_]+)` \| (.*?) \|", README, flags=re.M))


def _own_catalogs():
    """The catalogs this repository ships (its own distribution's entry points): a catalog installed
    from another package documents its settings in its own README."""
    names = [ep.name for ep in distribution("connector").entry_points.select(group=GROUP)]
    return discover(names)


def _upstream_urls() -> dict[str, str]:
    """Each service's URL variable and declared default, read from the catalogs' declarations."""
    return {PREFIX + s.setting: s.default_url for catalog in _own_catalogs() for s in catalog.services}


def test_every_setting_is_in_the_readme_table():
    assert set(ROWS) == {PREFIX + s.name for s in SETTINGS} | set(_upstream_urls())


def test_the_readme_shows_each_upstream_url_default_as_declared():
    assert {name: ROWS[name] for name in _upstream_urls()} == {
        name: f"`{default}`" for name, default in _upstream_urls().items()
    }


# Read by the test suite only (tests/postgres.py), not by the service.
TEST_VARIABLES = {"CONNECTOR_TEST_POSTGRES_URL"}


def test_every_variable_the_readme_names_exists():
    named = set(re.findall(r"CONNECTOR_[A-Z0-9_]+", README))
    assert named <= {PREFIX + s.name for s in SETTINGS} | set(_upstream_urls()) | TEST_VARIABLES


def test_every_command_is_in_the_readme():
    for command in main.commands:
        assert f"`connector {command}" in README, command
        assert CliRunner().invoke(main, [command, "--help"]).exit_code == 0


def test_quick_start_is_two_commands():
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(commands) == 2
    assert "connector serve --sandbox" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    test_command = next(line for line in block.splitlines() if "pytest" in line).strip()
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert test_command in ci
