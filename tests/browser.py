"""A real headless Chromium for the browser tests: Debian's ``chromium`` driven by Playwright
(no browser download). Missing browser or Playwright: the test fails under ``CI=1``, else skips."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from serving import ROOT, running_server

from connector.testing.network import free_port

CHROMIUM = os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI needs it: .ci/run installs it)")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched browser; fails under CI, else skips, when Chromium or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def screenshot_dir() -> Path:
    """Where the tests leave their screenshots: TEST_SCREENSHOTS, else a new temporary folder."""
    named = os.environ.get("TEST_SCREENSHOTS")
    directory = Path(named) if named else Path(tempfile.mkdtemp(prefix="connector-screenshots-"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@contextmanager
def sandbox_service(directory: Path, **settings: str) -> Iterator[str]:
    """``connector serve --sandbox`` (gunicorn, embedded delivery worker) on a free port; yields its
    URL. ``settings`` are CONNECTOR_* variables (``public_url="..."``); the value "self" stands for
    the service's own URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    environ.update({"HOME": str(directory), "CONNECTOR_DATA_DIR": str(directory / "data")})
    environ.update({f"CONNECTOR_{k.upper()}": (url if v == "self" else v) for k, v in settings.items()})
    argv = [sys.executable, "-m", "connector.cli", "serve", "--sandbox", "--port", str(port), "--workers", "1"]
    with running_server(argv, environ, f"{url}/readyz", directory / "stdout.log", directory / "stderr.log"):
        yield url


__all__ = ["ROOT", "chromium", "sandbox_service", "screenshot_dir"]
