"""The in-memory rate-limit store: the same verdicts as limits' own, without a thread per call."""

from __future__ import annotations

import threading
import time

import pytest

from connector.errors import Problem
from connector.ratelimit import CredentialLimit, Storage, SweptMemoryStorage


def test_the_default_store_is_the_swept_one():
    assert isinstance(Storage("memory://").strategy.storage, SweptMemoryStorage)


def test_calls_start_no_thread_and_the_limit_holds(monkeypatch):
    limit = CredentialLimit("5 per 1 second", Storage("memory://"), scope="connector:demo")
    time.sleep(0.05)  # the library's constructor starts one 10 ms timer: let it end
    started = []
    original = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: (started.append(self), original(self)))
    for _ in range(5):
        limit.hit("key-a")
        time.sleep(0.012)  # longer than the library's 10 ms timer: it would start one per call
    with pytest.raises(Problem) as refused:
        limit.hit("key-a")
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "1"
    limit.hit("key-b")  # another credential has its own window
    assert started == []


def test_expired_entries_are_swept(monkeypatch):
    storage = Storage("memory://")
    limit = CredentialLimit("3 per 1 second", storage, scope="connector:demo")
    limit.hit("key-a")
    backend = storage.strategy.storage
    (key_a,) = backend.events
    assert len(backend.events[key_a]) == 1
    clock = [time.monotonic() + 5]
    monkeypatch.setattr("connector.ratelimit.time.monotonic", lambda: clock[0])
    real_time = time.time
    monkeypatch.setattr("limits.storage.memory.time.time", lambda: real_time() + 5)
    limit.hit("key-b")  # a sweep is due: key-a's entry has expired
    assert backend.events[key_a] == []
