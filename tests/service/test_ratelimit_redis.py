"""Rate limits shared across processes through a real Redis.

Two independently built apps stand for two gunicorn workers or two machines: with
CONNECTOR_RATELIMIT_STORAGE_URL pointing at one Redis, a credential's budget is shared.
.ci/run installs redis-server; locally the test is skipped when the binary is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

from connector import sandbox as sandboxes
from connector.app import create_app
from connector.testing.network import free_port
from tests.conftest import TEST_SETTINGS


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing: .ci/run must install it")
        pytest.skip("redis-server not installed")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path_factory.mktemp("redis")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


def test_two_processes_share_one_budget_per_credential(redis_url, egoi_catalog, egoi_sandbox):
    settings = {
        **TEST_SETTINGS,
        **sandboxes.service_urls(egoi_catalog, egoi_sandbox),
        "RATE_LIMIT": "4 per 60 seconds",
        "RATELIMIT_STORAGE_URL": redis_url,
    }
    first, second = create_app(settings).test_client(), create_app(settings).test_client()
    key = {"Apikey": f"shared-{time.time_ns()}"}
    statuses = [client.get("/egoi/lookups/tags", headers=key).status_code for client in (first, second) * 3]
    assert statuses == [200, 200, 200, 200, 429, 429]
    limited = second.get("/egoi/lookups/tags", headers=key)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert first.get("/egoi/lookups/tags", headers={"Apikey": f"other-{time.time_ns()}"}).status_code == 200


def test_redis_holds_digests_not_api_keys(redis_url, egoi_catalog, egoi_sandbox):
    import redis

    settings = {
        **TEST_SETTINGS,
        **sandboxes.service_urls(egoi_catalog, egoi_sandbox),
        "RATELIMIT_STORAGE_URL": redis_url,
    }
    secret = f"secret-key-{time.time_ns()}"
    create_app(settings).test_client().get("/egoi/lookups/tags", headers={"Apikey": secret})
    keys = [k.decode() for k in redis.Redis.from_url(redis_url).keys("*")]
    assert keys, "the limiter wrote nothing to Redis"
    assert not any(secret in k for k in keys)
