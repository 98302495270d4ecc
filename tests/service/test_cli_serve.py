"""The README's first command for real: `connector serve --sandbox` under gunicorn, over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from connector.testing.network import free_port
from connector.wiring import runtime_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "serve", "--sandbox", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("service did not start: " + process.stderr.read().decode()[-2000:])
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=15)


def test_quick_start_flow(served):
    headers = {"Apikey": "anything"}
    body = {"list_id": 1, "email": "ana@example.com", "cellphone": "351-912345678", "birth_date": "1990-01-31"}
    created = requests.post(f"{served}/egoi/actions/create_contact", json=body, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    contact_id = created.json()["contact_id"]

    for field, value, expected_format in [
        ("cellphone", "+351 912345678", "ccc-xxxxxxxxx"),
        ("birth_date", "1990-02-30", "yyyy-mm-dd"),
    ]:
        bad = requests.post(
            f"{served}/egoi/actions/create_contact", json={**body, field: value}, headers=headers, timeout=10
        )
        assert bad.status_code == 422
        assert bad.headers["Content-Type"] == "application/problem+json"
        assert expected_format in bad.json()["errors"][field][0]

    duplicate = requests.post(f"{served}/egoi/actions/create_contact", json=body, headers=headers, timeout=10)
    assert duplicate.status_code == 409
    assert duplicate.json()["contact_id"] == contact_id

    # nothing was created by the rejected calls, whichever gunicorn worker served them
    contacts = requests.get(
        f"{served}/egoi/lookups/contacts", params={"list_id": 1}, headers=headers, timeout=10
    ).json()
    assert [c["contact_id"] for c in contacts["items"]] == [contact_id]


def test_specs_name_the_served_address(served):
    swagger = requests.get(f"{served}/egoi/swagger.json", timeout=5).json()
    assert swagger["host"].endswith(served.rsplit(":", 1)[1])
    assert {"CreateContact", "UpdateContact", "AddTag", "SendSMS"} <= {
        op["operationId"] for path in swagger["paths"].values() for op in path.values() if "operationId" in op
    }


def test_readyz_reports_the_embedded_worker_of_each_serving_process(served):
    delivery = requests.get(f"{served}/readyz", timeout=5).json()["delivery"]
    assert delivery["mode"] == "embedded" and delivery["running"] is True


def test_readyz_with_the_worker_off_names_connector_worker(tmp_path):
    from connector.app import create_app

    app = create_app({"WORKER": "off", "DATA_DIR": str(tmp_path), "CATALOGS": "egoi"})
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 200
    assert answer.get_json()["delivery"] == {
        "mode": "off",
        "detail": "deliveries are left to `connector worker` processes",
    }
    assert runtime_of(app).worker is None


def test_an_embedded_worker_starts_once_on_the_first_request_and_again_if_it_died(tmp_path):
    from connector.app import create_app

    app = create_app({"WORKER": "embedded", "DATA_DIR": str(tmp_path), "CATALOGS": "egoi"})
    assert runtime_of(app).worker is None  # building the app starts nothing
    client = app.test_client()
    client.get("/healthz")  # starts it in a thread of its own: the request does not wait for it
    deadline = time.monotonic() + 10
    while runtime_of(app).worker is None and time.monotonic() < deadline:
        time.sleep(0.01)
    worker = runtime_of(app).worker
    assert worker is not None
    try:
        assert client.get("/readyz").get_json()["delivery"]["running"] is True
        assert runtime_of(app).worker is worker
        worker.stop()
        assert client.get("/readyz").get_json()["delivery"] == {
            "mode": "embedded",
            "running": True,
            "process": os.getpid(),
        }
        assert runtime_of(app).worker is not worker
    finally:
        runtime_of(app).worker.stop()


def test_the_access_log_hides_capability_urls():
    from connector.accesslog import redact

    line = "DELETE /egoi/subscriptions/AbCdEfGhIjKlMnOp HTTP/1.1 POST /egoi/hooks/Zx9_y8-w7v6u5t4s?x=1"
    assert redact(line) == "DELETE /egoi/subscriptions/AbCd… HTTP/1.1 POST /egoi/hooks/Zx9_…?x=1"
    assert redact("GET /egoi/subscriptions HTTP/1.1") == "GET /egoi/subscriptions HTTP/1.1"


def test_migrate_creates_the_schema(tmp_path, monkeypatch):
    import sqlalchemy as sa
    from click.testing import CliRunner

    from connector.cli import main
    from connector.database import HEAD

    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CONNECTOR_DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'connector.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD
        tables = set(sa.inspect(connection).get_table_names())
    assert {"idempotency_keys", "subscriptions", "events"} <= tables


@pytest.mark.parametrize("command", [["migrate"], ["worker", "--help"], ["export", "--help"]])
def test_python_dash_m_reaches_every_command(command, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env["CONNECTOR_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "connector.cli", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "No such command" not in done.stderr


def test_each_instance_has_its_own_control_socket(tmp_path):
    """Two services on one host keep their own gunicorn control socket (``gunicornc -s``) in their
    data directories, not one shared path that the second would take over. The second runs the
    sync worker (``--threads 1``), whose own errors are problem+json too."""
    from gunicorn.ctl.client import ControlClient
    from serving import connector_serve, exchange

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    env = {"CONNECTOR_WORKER": "off"}
    with (
        connector_serve(tmp_path / "a", env) as first,
        connector_serve(tmp_path / "b", env, ("--threads", "1")) as second,
    ):
        for served in (first, second):
            path = served.data_dir / f"gunicorn-{served.port}.ctl"
            deadline = time.monotonic() + 10  # the master opens it once its workers are up
            while not path.is_socket() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert path.is_socket()
            with ControlClient(str(path), timeout=10) as client:
                listeners = client.send_command("show listeners")["listeners"]
            assert [f"127.0.0.1:{served.port}" in listener["address"] for listener in listeners] == [True]
            assert requests.get(f"{served.url}/readyz", timeout=5).status_code == 200
        assert not (tmp_path / "a" / ".gunicorn").exists()
        assert not (tmp_path / "b" / ".gunicorn").exists()

        answer = exchange(second.port, b"GET /healthz?" + b"q" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 414 ")
        assert b"Content-Type: application/problem+json\r\n" in answer


def test_a_database_that_cannot_open_fails_only_the_requests_that_need_it_with_503(tmp_path):
    from connector.app import create_app

    app = create_app(
        {
            "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/nothing",  # refused at once
            "WORKER": "off",
            "CATALOGS": "egoi",
            "DATA_DIR": str(tmp_path),
        }
    )
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # building and serving the app open nothing
    answer = client.post(
        "/egoi/actions/create_contact",
        json={"list_id": 1, "email": "ana@example.com"},
        headers={"Apikey": "key-1234567890", "Idempotency-Key": "first"},
    )
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.get_json()["detail"] == "The service's database is unavailable; retry later."
    assert "nobody" not in answer.get_data(as_text=True)


def test_two_databases_migrated_at_once_in_one_process_both_reach_the_newest_schema(tmp_path):
    """Databases open on first use, from any thread: Alembic's module state must not be shared."""
    import threading

    from connector.config import Settings
    from connector.database import HEAD, current_revision, open_database

    engines, errors = [], []

    def open_one(directory: str) -> None:
        try:
            engines.append(open_database(Settings.load({"DATA_DIR": directory})))
        except Exception as exc:  # pragma: no cover - what the test is about
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(str(tmp_path / f"db{n}"),)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert [current_revision(engine) for engine in engines] == [HEAD] * 4
