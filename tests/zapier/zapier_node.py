"""Node 22 and the Zapier packages of tests/zapier (`npm ci --prefix tests/zapier`, done by .ci/run),
and harness.js run with them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

HARNESS = Path(__file__).resolve().parent
MODULES = HARNESS / "node_modules"
NODE = MODULES / ".bin" / "node"
CLI = MODULES / ".bin" / "zapier-platform"


def require_node() -> None:
    """Fail under CI, skip elsewhere, when Node 22 or zapier-platform-core/-schema/-cli is missing."""
    needed = (NODE, CLI, MODULES / "zapier-platform-core", MODULES / "zapier-platform-schema")
    missing = [str(p.relative_to(HARNESS.parent.parent)) for p in needed if not p.exists()]
    if missing:
        message = f"missing {', '.join(missing)}: run `npm ci --prefix tests/zapier` (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v22."), f"tests/zapier needs Node 22 (Zapier's runtime), found {version}"


def node_env(cwd: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The harness's Node first on PATH; NODE_ENV=test makes core's output checks throw."""
    return {"PATH": f"{NODE.parent}:{os.environ['PATH']}", "HOME": str(cwd), "NODE_ENV": "test", **(extra or {})}


def node(*args: str, stdin: Any = None, env: dict[str, str] | None = None, cwd: Path = HARNESS) -> Any:
    """``node harness.js ARGS`` with ``stdin`` as JSON; its JSON answer."""
    done = subprocess.run(
        [str(NODE), str(HARNESS / "harness.js"), *args],
        input=None if stdin is None else json.dumps(stdin),
        capture_output=True,
        text=True,
        env=node_env(cwd, env),
        cwd=cwd,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="session")
def node_harness() -> None:
    """Node 22 and the Zapier packages, or a failure under CI (a skip elsewhere). Imported by the
    test modules that use it: a conftest.py here would shadow ``tests/conftest.py``, which other
    test modules import as ``conftest``."""
    require_node()
