"""E-goi's bulk import: the ImportContacts and GetImportStatus actions (exact upstream calls, rules,
the sandbox's asynchronous import), and `connector import` end to end against a real
`connector serve --sandbox` over real HTTP: the rejects file, each good row in the sandbox once,
and an import interrupted (Ctrl+C, then SIGKILL) and run again without sending anything twice."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import responses
from click.testing import CliRunner
from conftest import API, KEY
from serving import ROOT, connector_serve

from connector.cli import main

# --- the actions, in process --------------------------------------------------------------------


@responses.activate
def test_import_contacts_sends_e_gois_bulk_body(mocked):
    call = responses.post(f"{API}/lists/1/contacts/actions/import-bulk", json={"result": "success"}, status=202)
    answer = mocked.post(
        "/egoi/actions/import_contacts",
        json={
            "list_id": 1,
            "mode": "update",
            "notify": [3],
            "contacts": [
                {"email": "ana@example.com", "first_name": "Ana", "extra": [{"field_id": 1, "value": "Acme"}]},
                {"email": "rui@example.com", "cellphone": "351-912345678", "status": "inactive"},
            ],
        },
        headers=KEY,
    )
    assert (answer.status_code, answer.get_json()) == (202, {"result": "accepted", "contacts": 2})
    assert json.loads(call.calls[0].request.body) == {
        "mode": "update",
        "compare_field": "email",
        "force_empty": False,
        "contacts": [
            {"base": {"email": "ana@example.com", "first_name": "Ana"}, "extra": [{"field_id": 1, "value": "Acme"}]},
            {"base": {"email": "rui@example.com", "cellphone": "351-912345678", "status": "inactive"}},
        ],
        "notify": [3],
    }
    assert call.calls[0].request.headers["Apikey"] == KEY["Apikey"]


@responses.activate
def test_import_status_reads_the_operations_queue(mocked):
    queue = responses.get(
        f"{API}/operations",
        json={
            "total_items": 1,
            "items": [
                {
                    "operation_id": 7,
                    "type": "import_contacts",
                    "status": "processing",
                    "created": "2026-01-02 10:00:00",
                    "start_date": "2026-01-02 10:00:05",
                    "created_by": 1,
                    "operation_data": {"internal_name": "Demo list"},
                }
            ],
        },
    )
    answer = mocked.post("/egoi/actions/get_import_status", headers=KEY)
    assert answer.get_json() == {
        "finished": False,
        "pending": 1,
        "imports": [
            {
                "operation_id": 7,
                "status": "processing",
                "created": "2026-01-02 10:00:00",
                "start_date": "2026-01-02 10:00:05",
            }
        ],
    }
    assert queue.calls[0].request.params == {"type": "import_contacts", "limit": "1000"}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"list_id": 1, "contacts": [{"email": "a@example.com"}]}, {"contacts"}),
        (
            {"list_id": 1, "contacts": [{"email": "a@example.com"}, {"cellphone": "351-912345678"}]},
            {"contacts.1.email"},
        ),
        (
            {"list_id": 1, "compare_field": "cellphone", "contacts": [{"email": "a@b.pt"}, {"cellphone": "351-9123"}]},
            {"contacts.0.cellphone"},
        ),
        (
            {
                "list_id": 1,
                "contacts": [{"email": "a@example.com"}, {"email": "b@example.com", "birth_date": "2023-02-30"}],
            },
            {"contacts.1.birth_date"},
        ),
        (
            {"list_id": 1, "mode": "replace", "contacts": [{"email": "a@example.com"}, {"email": "b@example.com"}]},
            {"mode"},
        ),
    ],
)
def test_import_contacts_refuses_before_calling_e_goi(client, body, errors):
    answer = client.post("/egoi/actions/import_contacts", json=body, headers=KEY)
    assert answer.status_code == 422
    assert set(answer.get_json()["errors"]) == errors


def test_the_sandbox_imports_in_the_background_and_the_status_says_when_done(client, egoi_sandbox):
    pages = f"{egoi_sandbox.url}/_sandbox/imports"
    requests.post(f"{pages}/hold", timeout=5)
    contacts = [{"email": "one@example.com", "first_name": "One"}, {"email": "two@example.com"}]
    assert (
        client.post("/egoi/actions/import_contacts", json={"list_id": 1, "contacts": contacts}, headers=KEY).status_code
        == 202
    )
    pending = client.post("/egoi/actions/get_import_status", headers=KEY).get_json()
    assert (pending["finished"], pending["pending"], pending["imports"][0]["status"]) == (False, 1, "queued")
    requests.post(f"{pages}/release", timeout=5)
    deadline = time.monotonic() + 5
    while not client.post("/egoi/actions/get_import_status", headers=KEY).get_json()["finished"]:
        assert time.monotonic() < deadline, "the sandbox never finished the import"
        time.sleep(0.02)
    # mode add: the second import of one@ ignores it, and adds three@
    again = [{"email": "ONE@example.com", "first_name": "Changed"}, {"email": "three@example.com"}]
    client.post("/egoi/actions/import_contacts", json={"list_id": 1, "contacts": again}, headers=KEY)
    imports = _wait_for_imports(lambda: requests.get(pages, timeout=5).json(), 2)
    assert [item["report"] for item in imports] == [
        {"imported": 1, "updated": 0, "ignored": 1, "invalid": 0},
        {"imported": 2, "updated": 0, "ignored": 0, "invalid": 0},
    ]
    listed = client.get("/egoi/lookups/contacts?list_id=1&limit=100", headers=KEY).get_json()["items"]
    assert sorted((c["email"], c.get("first_name")) for c in listed) == [
        ("one@example.com", "One"),
        ("three@example.com", None),
        ("two@example.com", None),
    ]


def _wait_for_imports(read, count: int) -> list[dict]:
    deadline = time.monotonic() + 5
    while True:
        imports = read()
        if len(imports) >= count and all(item["status"] == "finished" for item in imports):
            return imports
        assert time.monotonic() < deadline, imports
        time.sleep(0.02)


# --- connector import, end to end ---------------------------------------------------------------

REJECTS = """\
row,column,field,value,error
3,Cellphone,cellphone,+351 912345678,"Not a valid phone number: expected the format ccc-xxxxxxxxx, a country code of 1 to 3 digits, a hyphen, then 4 to 20 digits (for example 351-912345678)."
4,Birth Date,birth_date,2023-02-30,Not a valid date: expected the format yyyy-mm-dd and a real calendar date (for example 1990-01-31).
5,E-mail,email,,Missing data: the import matches contacts on email (compare_field).
7,E-mail,email,,"Provide at least one of email, cellphone or phone."
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """One `connector serve --sandbox` for the module, with a rate limit an import runs into."""
    with connector_serve(tmp_path_factory.mktemp("import"), env={"CONNECTOR_RATE_LIMIT": "5 per 1 second"}) as served:
        yield served


IMPORT_KEY = "import-test-key"
ENV = {**os.environ, "EGOI_API_KEY": IMPORT_KEY}


def import_args(service, path: Path, *args: str) -> list[str]:
    return ["import", str(path), "--connector", "egoi", "--list", "1", "--url", service.url, *args]


def run_import(service, path: Path, *args: str):
    """`connector import` in this process (its calls still go over HTTP to the service)."""
    return CliRunner().invoke(main, import_args(service, path, *args), env={"EGOI_API_KEY": IMPORT_KEY})


HEADERS = {"Apikey": "checking-key"}  # the test's own reads: rate limits are per key, the sandbox's data is shared


def sandbox_imports(service) -> list[dict]:
    return requests.get(f"{service.url}/egoi/_sandbox/imports", timeout=5).json()


def call(service, action: str, body: dict) -> dict:
    """An action of the service, waiting out its rate limit (which the imports run into)."""
    while True:
        answer = requests.post(f"{service.url}/egoi/actions/{action}", json=body, headers=HEADERS, timeout=5)
        if answer.status_code != 429:
            assert answer.status_code == 200, answer.text
            return answer.json()
        time.sleep(float(answer.headers["Retry-After"]))


def contacts_in_list(service) -> list[dict]:
    while True:
        answer = requests.get(
            f"{service.url}/egoi/lookups/contacts", params={"list_id": 1, "limit": 100}, headers=HEADERS, timeout=5
        )
        if answer.status_code != 429:
            return answer.json()["items"]
        time.sleep(float(answer.headers["Retry-After"]))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    return path


def test_import_rejects_bad_rows_exactly_and_sends_the_good_ones_once(service, tmp_path):
    path = write_csv(
        tmp_path / "people.csv",
        [
            ["E-mail", "First Name", "Cellphone", "Birth Date", "Notes"],
            ["good-ana@example.com", "Ana", "351-912345678", "1990-01-31", "met at the fair"],
            ["bad-phone@example.com", "Rui", "+351 912345678", "", ""],
            ["bad-date@example.com", "Eva", "", "2023-02-30", ""],
            ["", "No Email", "351-912000002", "", ""],
            ["", "", "", "", ""],
            ["", "Nobody", "", "", ""],
            ["good-joao@example.com", "João", "", "", ""],
            ["good-mia@example.com", "", "351-912000003", "1985-12-01", ""],
        ],
    )
    before = len(sandbox_imports(service))
    done = run_import(service, path, "--map", "E-mail=email", "--map", "Notes=")
    assert done.exit_code == 0, done.output
    assert "7 rows read: 3 valid, 4 rejected" in done.stdout
    assert "3 rows sent in 1 call (1 bulk, 0 single" in done.stdout
    assert "E-goi finished importing" in done.stdout
    assert (tmp_path / "people.rejects.csv").read_text(encoding="utf-8").replace("\r\n", "\n") == REJECTS

    imports = sandbox_imports(service)[: len(sandbox_imports(service)) - before]
    assert [(i["contacts"], i["report"]) for i in imports] == [
        (3, {"imported": 3, "updated": 0, "ignored": 0, "invalid": 0})
    ]
    listed = {c["email"]: c for c in contacts_in_list(service) if c["email"].startswith("good-")}
    assert sorted(listed) == ["good-ana@example.com", "good-joao@example.com", "good-mia@example.com"]
    ana = call(service, "get_contact", {"list_id": 1, "contact_id": listed["good-ana@example.com"]["contact_id"]})
    assert (ana["first_name"], ana["cellphone"], ana["birth_date"]) == ("Ana", "351-912345678", "1990-01-31")
    assert listed["good-joao@example.com"]["first_name"] == "João"


def test_a_lone_row_goes_through_create_contact(service, tmp_path):
    path = write_csv(tmp_path / "one.csv", [["email", "first_name"], ["lone@example.com", "Lone"], ["", ""]])
    before = len(sandbox_imports(service))
    done = run_import(service, path)
    assert done.exit_code == 0, done.output
    assert "1 row sent in 1 call (0 bulk, 1 single" in done.stdout
    assert len(sandbox_imports(service)) == before
    assert [c["first_name"] for c in contacts_in_list(service) if c["email"] == "lone@example.com"] == ["Lone"]


def _state_lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def _run_until(argv: list[str], state: Path, lines: int, sig: int) -> subprocess.CompletedProcess:
    """Start the importer, and send it ``sig`` once its state file records ``lines`` calls done."""
    process = subprocess.Popen(argv, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while _state_lines(state) < lines and process.poll() is None:
        assert time.monotonic() < deadline, "the importer made no progress"
        time.sleep(0.005)
    process.send_signal(sig)
    out, err = process.communicate(timeout=30)
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def test_an_interrupted_import_run_again_sends_nothing_twice(service, tmp_path):
    rows = 16
    path = write_csv(
        tmp_path / "many.csv", [["email", "first_name"], *([f"resume{i}@example.com", f"R{i}"] for i in range(rows))]
    )
    state = tmp_path / "many.import-state.jsonl"
    argv = [sys.executable, "-m", "connector.cli", *import_args(service, path, "--batch-size", "2")]
    before = len(sandbox_imports(service))

    stopped = _run_until(argv, state, 2, signal.SIGINT)  # Ctrl+C
    assert stopped.returncode == 130, stopped.stdout + stopped.stderr
    assert "interrupted: run the same command again to resume" in stopped.stderr
    killed = _run_until(argv, state, 5, signal.SIGKILL)  # a crash, whatever was in flight
    assert killed.returncode == -signal.SIGKILL
    assert 5 <= _state_lines(state) < rows // 2

    done = subprocess.run(argv, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "done by an earlier run" in done.stdout and "E-goi finished importing" in done.stdout

    imports = sandbox_imports(service)[: len(sandbox_imports(service)) - before]
    # every batch of 2 reached E-goi exactly once, and every contact was new when it did
    assert len(imports) == rows // 2
    assert all(i["contacts"] == 2 and i["report"]["imported"] == 2 for i in imports), imports
    listed = [c["email"] for c in contacts_in_list(service) if c["email"].startswith("resume")]
    assert sorted(listed) == sorted(f"resume{i}@example.com" for i in range(rows))


def test_an_import_over_the_rate_limit_waits_for_its_budget(service, tmp_path):
    """Another client of the same key uses up its budget until the import has met a 429 (seen in the
    service's access log); the import waits for Retry-After, and every row arrives once."""
    path = write_csv(tmp_path / "busy.csv", [["email"], *([f"busy{i}@example.com"] for i in range(6))])
    before, limited = len(sandbox_imports(service)), _rate_limited(service)
    busy, stop = threading.Event(), threading.Event()

    def use_up_the_budget() -> None:
        with requests.Session() as session:
            while not stop.is_set() and _rate_limited(service) == limited:
                answer = session.get(f"{service.url}/egoi/lookups/tags", headers={"Apikey": IMPORT_KEY}, timeout=5)
                if answer.status_code == 429:
                    busy.set()

    other = threading.Thread(target=use_up_the_budget)
    other.start()
    try:
        assert busy.wait(10), "the other client never used up the budget"
        done = run_import(service, path, "--batch-size", "2")
    finally:
        stop.set()
        other.join()
    assert done.exit_code == 0, done.output
    assert _rate_limited(service) > limited
    imports = sandbox_imports(service)[: len(sandbox_imports(service)) - before]
    assert [(i["contacts"], i["report"]["imported"]) for i in imports] == [(2, 2)] * 3


def _rate_limited(service) -> int:
    """Import calls the service answered 429 so far (its access log)."""
    return len(re.findall(r'"POST /egoi/actions/import_contacts HTTP/1.1" 429 ', service.logs()))
