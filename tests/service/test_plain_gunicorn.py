"""Plain `gunicorn 'connector.app:create_app()'` (not `connector serve`) delivers webhook events: the
embedded worker starts in each serving process, with or without ``--preload``, sync or gthread."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
import requests
from cryptography.fernet import Fernet
from serving import running_server, stop
from standardwebhooks import Webhook
from test_sandbox_command import KEY, ROOT, clean_environment, sandbox_command

from connector.testing.network import free_port
from connector.testing.subscriber import running_subscriber

SECRET_KEY = Fernet.generate_key().decode()


def environment(directory: Path, port: int, **extra: str) -> dict[str, str]:
    return clean_environment(
        **{
            "HOME": str(directory),
            "CONNECTOR_DATA_DIR": str(directory / "data"),
            "CONNECTOR_DATABASE_URL": f"sqlite:///{directory / 'connector.db'}",
            "CONNECTOR_SECRET_KEY": SECRET_KEY,
            "CONNECTOR_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "CONNECTOR_ALLOW_PRIVATE_CALLBACKS": "true",
            "CONNECTOR_CATALOGS": "egoi",
            "CONNECTOR_DELIVERY_SCHEDULE": "0.1,0.1,0.1",
            **extra,
        }
    )


@contextmanager
def plain_gunicorn(directory: Path, args: list[str], env: dict[str, str], port: int) -> Iterator[tuple[str, int]]:
    """``python -m gunicorn 'connector.app:create_app()' ARGS``; yields its URL and its master's pid
    once it answers /healthz."""
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "gunicorn", "connector.app:create_app()", "-b", f"127.0.0.1:{port}", *args]
    with running_server(argv, env, f"{url}/healthz", directory / "gunicorn.log") as process:
        yield url, process.pid


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def subscribe_create_and_receive(url: str) -> None:
    """Subscribe a callback, create a contact through the service: the subscriber gets it, signed."""
    with running_subscriber() as subscriber:
        subscribed = requests.post(
            f"{url}/egoi/triggers/when_contact_event",
            json={"callback_url": subscriber.url, "list_id": 1, "actions": ["subscription"]},
            headers=KEY,
            timeout=10,
        )
        assert subscribed.status_code == 201, subscribed.text
        created = requests.post(
            f"{url}/egoi/actions/create_contact",
            json={"list_id": 1, "email": "ana@example.com"},
            headers=KEY,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        wait_for(lambda: len(subscriber.delivered()) >= 1)
        delivered = subscriber.delivered()
    assert len(delivered) == 1
    event = orjson.loads(delivered[0]["body"])
    assert (event["action"], event["email"]) == ("subscription", "ana@example.com")
    Webhook(subscribed.json()["secret"]).verify(delivered[0]["body"], delivered[0]["headers"])


def ready(url: str) -> dict:
    answer = requests.get(f"{url}/readyz", timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_two_gthread_workers_without_preload_deliver(tmp_path):
    """Without --preload each worker process builds the app itself; they share one emulator
    (`connector sandbox`), as a real vendor would be shared."""
    port = free_port()
    with sandbox_command("egoi") as urls:
        env = environment(tmp_path, port, **urls)
        with plain_gunicorn(tmp_path, ["-w", "2", "-k", "gthread", "--threads", "4"], env, port) as (url, _):
            subscribe_create_and_receive(url)
            delivery = ready(url)["delivery"]
            assert delivery["mode"] == "embedded" and delivery["running"] is True


@pytest.mark.parametrize("worker_class", ["sync", "connector.gunicorn_workers.ProblemThreadWorker"])
def test_preload_with_the_sandbox_in_the_master_delivers(tmp_path, worker_class):
    """With --preload the app (and its sandbox) is built in gunicorn's master, then forked: each
    worker starts its own delivery worker on its own database connections."""
    port = free_port()
    env = environment(tmp_path, port, CONNECTOR_SANDBOX="true")
    args = ["--preload", "-w", "2", "-k", worker_class]
    with plain_gunicorn(tmp_path, args, env, port) as (url, master):
        subscribe_create_and_receive(url)
        delivering = {ready(url)["delivery"]["process"] for _ in range(6)}
    assert delivering and master not in delivering  # never in the process that forks


def test_a_post_worker_init_hook_delivers_pending_events_before_any_request(tmp_path):
    """The README's gunicorn.conf.py: events waiting from before a restart go out with no request."""
    from test_delivery_processes import SECRET_KEY as FILLED_WITH
    from test_delivery_processes import fill_outbox

    port = free_port()
    env = environment(tmp_path, port, CONNECTOR_SANDBOX="true", CONNECTOR_SECRET_KEY=FILLED_WITH)
    config = tmp_path / "gunicorn.conf.py"
    config.write_text(
        "from connector.app import start_embedded_worker\n\n\n"
        "def post_worker_init(worker):\n"
        "    start_embedded_worker(worker.wsgi)\n"
    )
    with running_subscriber() as subscriber:
        (order,) = fill_outbox(env["CONNECTOR_DATABASE_URL"], subscriber.url, 1, 5)
        log_path, bind = tmp_path / "gunicorn.log", f"127.0.0.1:{port}"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(config), "connector.app:create_app()", "-b", bind],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            wait_for(lambda: len(subscriber.delivered()) >= 5 or process.poll() is not None, 30)
        finally:
            stop(process)
        received = [d["headers"]["Webhook-Id"] for d in subscriber.delivered()]
    assert received == order, log_path.read_text()[-3000:]
