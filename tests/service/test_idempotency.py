"""Idempotency-Key on POST actions, on SQLite and on a real PostgreSQL (the `database_url` fixture)."""

from __future__ import annotations

import threading

import pytest
import requests
import responses
import sqlalchemy as sa
from conftest import KEY, TEST_SETTINGS, TX

from connector import sandbox as sandboxes
from connector.app import create_app
from connector.database import create_engine, migrate
from connector.errors import Problem
from connector.idempotency import Claim, StoredResponse, fingerprint, scope_of
from connector.idempotency_store import IdempotencyStore
from connector.tables import idempotency_keys
from connector.wiring import runtime_of

SMS = {"to": "351-912345678", "from": "1", "textBody": "Your code is 1234"}
SEND_SMS = "/egoi/actions/send_sms"


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine):
    return IdempotencyStore(engine, ttl=3600, lease=60)


@pytest.fixture
def sandboxed(egoi_catalog, egoi_sandbox, database_url):
    """The service over the E-goi sandbox, storing keys in the database under test."""
    urls = sandboxes.service_urls(egoi_catalog, egoi_sandbox)
    app = create_app({**TEST_SETTINGS, **urls, "DATABASE_URL": database_url})
    yield app.test_client()
    runtime_of(app).engine.dispose()


def sandbox_sms(egoi_sandbox) -> list[dict]:
    return requests.get(egoi_sandbox.url + "/_sandbox/sms", timeout=5).json()


# --- the store -----------------------------------------------------------------------------------


def test_first_request_claims_then_replays_what_it_stored(store):
    claim = store.begin("scope", "key-1", "print-a")
    assert claim == Claim("scope", "key-1")
    store.finish(claim, 201, "application/json", b'{"messageId": "7"}')
    assert store.begin("scope", "key-1", "print-a") == StoredResponse(201, "application/json", b'{"messageId": "7"}')


def test_a_key_in_flight_is_409_and_another_body_is_422(store):
    store.begin("scope", "key-1", "print-a")
    with pytest.raises(Problem) as running:
        store.begin("scope", "key-1", "print-a")
    assert running.value.status == 409 and running.value.headers["Retry-After"] == "1"
    with pytest.raises(Problem) as reused:
        store.begin("scope", "key-1", "print-b")
    assert reused.value.status == 422 and "different request body" in reused.value.detail


def test_keys_are_scoped(store):
    store.begin("scope-a", "key-1", "print-a")
    assert isinstance(store.begin("scope-b", "key-1", "print-a"), Claim)


def test_a_released_key_can_be_claimed_again(store):
    claim = store.begin("scope", "key-1", "print-a")
    store.release(claim)
    assert isinstance(store.begin("scope", "key-1", "print-b"), Claim)


def test_expired_keys_and_dead_claims_are_taken_over(store, monkeypatch):
    import connector.idempotency_store as module

    now = [1_000_000.0]
    monkeypatch.setattr(module.time, "time", lambda: now[0])
    done = store.begin("scope", "done", "print-a")
    store.finish(done, 200, "application/json", b"{}")
    store.begin("scope", "stuck", "print-a")  # its process died: never finished nor released
    now[0] += 61  # past the lease, within the TTL
    assert isinstance(store.begin("scope", "stuck", "print-a"), Claim)
    assert isinstance(store.begin("scope", "done", "print-a"), StoredResponse)
    now[0] += 3600  # past the TTL: a new request, even with another body
    assert isinstance(store.begin("scope", "done", "print-b"), Claim)


def test_expired_keys_are_purged(store, engine, monkeypatch):
    import connector.idempotency_store as module

    now = [1_000_000.0]
    monkeypatch.setattr(module.time, "time", lambda: now[0])
    store.finish(store.begin("scope", "old", "p"), 200, "application/json", b"{}")
    now[0] += 3601 + module.PURGE_EVERY
    store.begin("scope", "new", "p")
    with engine.connect() as connection:
        keys = connection.execute(sa.select(idempotency_keys.c.key)).scalars().all()
    assert keys == ["new"]


def test_the_scope_is_a_digest_not_the_credential():
    scope = scope_of("secret-api-key", "egoi", "send_sms")
    assert "secret" not in scope and len(scope) == 64
    assert scope != scope_of("secret-api-key", "egoi", "send_email")


def test_fingerprint_ignores_key_order():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


# --- over HTTP, against the sandbox ----------------------------------------------------------


def test_two_posts_with_one_key_send_one_sms(sandboxed, egoi_sandbox):
    headers = {**KEY, "Idempotency-Key": "order-42-sms"}
    first = sandboxed.post(SEND_SMS, json=SMS, headers=headers)
    second = sandboxed.post(SEND_SMS, json=SMS, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(sandbox_sms(egoi_sandbox)) == 1


def test_the_same_values_as_a_form_replay_the_json_request(sandboxed, egoi_sandbox):
    headers = {**KEY, "Idempotency-Key": "k"}
    first = sandboxed.post(SEND_SMS, json=SMS, headers=headers)
    second = sandboxed.post(SEND_SMS, data=SMS, headers=headers)
    assert second.get_json() == first.get_json() and len(sandbox_sms(egoi_sandbox)) == 1


def test_the_same_key_with_another_body_is_422_and_sends_nothing(sandboxed, egoi_sandbox):
    headers = {**KEY, "Idempotency-Key": "k"}
    sandboxed.post(SEND_SMS, json=SMS, headers=headers)
    other = sandboxed.post(SEND_SMS, json={**SMS, "textBody": "Another text"}, headers=headers)
    assert other.status_code == 422
    assert other.get_json()["type"] == "urn:connector:problem:idempotency-key-reused"
    assert len(sandbox_sms(egoi_sandbox)) == 1


def test_keys_are_per_credential(sandboxed, egoi_sandbox):
    sandboxed.post(SEND_SMS, json=SMS, headers={"Apikey": "key-one", "Idempotency-Key": "k"})
    sandboxed.post(SEND_SMS, json=SMS, headers={"Apikey": "key-two", "Idempotency-Key": "k"})
    assert len(sandbox_sms(egoi_sandbox)) == 2


def test_an_input_we_refuse_does_not_use_up_the_key(sandboxed, egoi_sandbox):
    headers = {**KEY, "Idempotency-Key": "k"}
    bad = sandboxed.post(SEND_SMS, json={**SMS, "to": "+351 912345678"}, headers=headers)
    assert bad.status_code == 422
    good = sandboxed.post(SEND_SMS, json=SMS, headers=headers)
    assert good.status_code == 201 and len(sandbox_sms(egoi_sandbox)) == 1


def test_an_upstream_refusal_is_replayed(sandboxed):
    contact = {"list_id": 1, "email": "ana@example.com"}
    assert sandboxed.post("/egoi/actions/create_contact", json=contact, headers=KEY).status_code == 201
    headers = {**KEY, "Idempotency-Key": "dup"}
    first = sandboxed.post("/egoi/actions/create_contact", json=contact, headers=headers)
    second = sandboxed.post("/egoi/actions/create_contact", json=contact, headers=headers)
    assert first.status_code == second.status_code == 409
    assert second.get_json() == first.get_json() and second.headers["Idempotent-Replayed"] == "true"
    assert second.mimetype == "application/problem+json"


@pytest.mark.parametrize("key", ["", "x" * 256, "clé", "tab\tkey"], ids=["empty", "too-long", "non-ascii", "control"])
def test_a_malformed_key_is_422_naming_the_header(sandboxed, egoi_sandbox, key):
    response = sandboxed.post(SEND_SMS, json=SMS, headers={**KEY, "Idempotency-Key": key})
    assert response.status_code == 422
    assert "Idempotency-Key" in response.get_json()["errors"]
    assert sandbox_sms(egoi_sandbox) == []


# --- exact upstream behaviour with `responses` -----------------------------------------------------


@pytest.fixture
def mocked_db(database_url):
    app = create_app(
        {
            **TEST_SETTINGS,
            "EGOI_API_URL": "https://api.egoi.test",
            "EGOI_TRANSACTIONAL_URL": TX,
            "DATABASE_URL": database_url,
        }
    )
    yield app
    runtime_of(app).engine.dispose()


@responses.activate
def test_an_upstream_failure_releases_the_key_for_a_retry(mocked_db):
    send = responses.post(f"{TX}/sms/messages/action/send", status=503, json={"detail": "down"})
    client = mocked_db.test_client()
    headers = {**KEY, "Idempotency-Key": "k"}
    first = client.post(SEND_SMS, json=SMS, headers=headers)
    assert first.status_code == 502  # E-goi unavailable
    send.status, send.body = 201, b'[{"messageId": "9"}]'
    retry = client.post(SEND_SMS, json=SMS, headers=headers)
    assert retry.status_code == 201 and retry.get_json() == {"messageId": "9"}
    assert "Idempotent-Replayed" not in retry.headers


def test_a_retry_while_the_first_is_running_is_409_with_one_upstream_call(mocked_db):
    entered, release = threading.Event(), threading.Event()
    calls = []

    def slow_upstream(request):
        calls.append(request)
        entered.set()
        release.wait(10)
        return 201, {}, '[{"messageId": "1"}]'

    headers = {**KEY, "Idempotency-Key": "k"}
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, f"{TX}/sms/messages/action/send", callback=slow_upstream)
        results = {}
        first = threading.Thread(
            target=lambda: results.update(first=mocked_db.test_client().post(SEND_SMS, json=SMS, headers=headers))
        )
        first.start()
        assert entered.wait(10)
        second = mocked_db.test_client().post(SEND_SMS, json=SMS, headers=headers)
        release.set()
        first.join(10)
        third = mocked_db.test_client().post(SEND_SMS, json=SMS, headers=headers)
    assert second.status_code == 409 and second.headers["Retry-After"] == "1"
    assert second.get_json()["type"] == "urn:connector:problem:idempotency-key-in-use"
    assert results["first"].status_code == 201
    assert third.status_code == 201 and third.headers["Idempotent-Replayed"] == "true"
    assert len(calls) == 1


@responses.activate
def test_without_a_key_every_post_goes_upstream(mocked_db):
    send = responses.post(f"{TX}/sms/messages/action/send", status=201, json=[{"messageId": "1"}])
    client = mocked_db.test_client()
    client.post(SEND_SMS, json=SMS, headers=KEY)
    client.post(SEND_SMS, json=SMS, headers=KEY)
    assert send.call_count == 2


def test_head_names_the_newest_migration(engine):
    """connector.database.HEAD lets a migrated database start without Alembic: it must be current."""
    from alembic.script import ScriptDirectory

    from connector.database import HEAD, alembic_config, current_revision

    assert ScriptDirectory.from_config(alembic_config(engine)).get_current_head() == HEAD
    assert current_revision(engine) == HEAD
