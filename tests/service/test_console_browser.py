"""The delivery console in a real headless Chromium, against `connector serve --sandbox` whose
sandbox calls the service's webhook receiver for real: a person pastes their key, sees the failed
attempts of a subscriber that fails then recovers, retries and sees the event delivered, replays
since a time (same webhook-id), disables and enables; another key's subscriptions never appear."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import requests
from browser import chromium, sandbox_service, screenshot_dir

from connector.testing.subscriber import running_subscriber

MINE, THEIRS = "console-key-ana", "console-key-bob"
WAIT = 20_000  # ms: deliveries run in the service's own worker, the page refreshes every 5 s


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with sandbox_service(
        tmp_path_factory.mktemp("console"),
        public_url="self",  # the sandbox calls the receiver on the service's real port
        allow_private_callbacks="true",
        delivery_schedule="0.3,0.3",  # three attempts within a second, then failed
    ) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def api(service: str, key: str, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{service}/egoi{path}", headers={"Apikey": key}, timeout=10, **kwargs)


def subscribe(service: str, key: str, url: str) -> str:
    answer = api(
        service,
        key,
        "POST",
        "/triggers/when_contact_event",
        json={"callback_url": url, "list_id": 1, "actions": ["subscription"]},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def new_contact(service: str, key: str, email: str) -> None:
    answer = api(service, key, "POST", "/actions/create_contact", json={"list_id": 1, "email": email})
    assert answer.status_code == 201, answer.text


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def webhook_ids(subscriber) -> list[str]:
    return [d["headers"]["Webhook-Id"] for d in subscriber.delivered()]


def test_a_person_follows_retries_and_replays_their_deliveries(service, browser):
    shots = screenshot_dir()
    with (
        running_subscriber(answers=[(500, {})] * 3) as subscriber,  # fails three times, then recovers
        running_subscriber() as other,
    ):
        mine = subscribe(service, MINE, subscriber.url + "?sig=a-capability")
        theirs = subscribe(service, THEIRS, other.url)
        new_contact(service, MINE, "first@example.com")
        wait_until(lambda: len(subscriber.received) == 3)

        context = browser.new_context(viewport={"width": 1280, "height": 1000}, timezone_id="UTC")
        page = context.new_page()
        errors = []  # the page's errors, a refused Content-Security-Policy among them
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{service}/egoi/console")
        page.fill("#api-key", MINE)
        page.get_by_role("button", name="Show my deliveries").click()
        row = page.locator(f'tr[data-subscription="{mine}"]')
        row.wait_for(timeout=WAIT)
        assert page.locator(f'tr[data-subscription="{theirs}"]').count() == 0
        assert row.locator("td.url").inner_text() == subscriber.url  # host and path, never the query
        assert "a-capability" not in page.content()
        assert MINE not in page.url and page.evaluate("Object.values(sessionStorage)") == [MINE]

        row.get_by_role("button", name="Events").click()
        failed = page.locator('#event-list tr[data-status="failed"]')
        failed.wait_for(timeout=WAIT)
        webhook_id = failed.get_attribute("data-webhook-id")
        assert [li.inner_text().split(" · ")[1] for li in failed.locator("ol.attempts li").all()] == ["500"] * 3
        assert "subscriber answered 500" in failed.inner_text()
        page.wait_for_function("() => document.getElementById('count-failed').textContent === '1'", timeout=WAIT)
        page.screenshot(path=shots / "console-failed.png", full_page=True)

        failed.get_by_role("button", name="Retry now").click()
        page.locator(f'#event-list tr[data-webhook-id="{webhook_id}"][data-status="delivered"]').wait_for(timeout=WAIT)
        assert webhook_ids(subscriber) == [webhook_id]
        delivered = page.locator(f'tr[data-webhook-id="{webhook_id}"] ol.attempts li')
        assert delivered.count() == 4 and " · 200 · " in delivered.nth(3).inner_text()
        page.wait_for_function("() => document.getElementById('count-delivered').textContent === '1'", timeout=WAIT)
        assert row.locator("td").nth(4).inner_text() != "—"  # its last delivery

        time.sleep(1.1)  # the replay's "since" (to the second) falls between the two events
        since = datetime.now(tz=UTC)
        new_contact(service, MINE, "second@example.com")
        wait_until(lambda: len(subscriber.delivered()) == 2)
        page.fill("#replay-since", since.strftime("%Y-%m-%dT%H:%M:%S"))
        page.get_by_role("button", name="Replay").click()
        wait_until(lambda: len(subscriber.delivered()) == 3)
        first, second, replayed = webhook_ids(subscriber)
        assert first == webhook_id and replayed == second != first  # only the newer one, with its own id
        page.wait_for_function("() => document.getElementById('status').textContent.includes('1 queued')", timeout=WAIT)
        page.locator(f'tr[data-webhook-id="{second}"] ol.attempts li:nth-child(2)').wait_for(timeout=WAIT)
        page.wait_for_function("() => document.getElementById('count-pending').textContent === '0'", timeout=WAIT)
        page.evaluate("document.querySelectorAll('.scroll').forEach((box) => { box.scrollLeft = 0; })")
        assert page.locator("#older").is_hidden()  # two events: one page
        page.screenshot(path=shots / "console.png", full_page=True)

        page.select_option("#status-filter", "failed")
        page.wait_for_selector("#no-events:not([hidden])", timeout=WAIT)
        page.select_option("#status-filter", "")

        row.get_by_role("button", name="Disable").click()
        page.locator(f'tr[data-subscription="{mine}"] .badge.disabled').wait_for(timeout=WAIT)
        row.get_by_role("button", name="Enable").click()
        page.locator(f'tr[data-subscription="{mine}"] .badge.active').wait_for(timeout=WAIT)

        page.get_by_role("button", name="Forget key").click()
        assert page.evaluate("sessionStorage.length") == 0
        page.fill("#api-key", THEIRS)
        page.get_by_role("button", name="Show my deliveries").click()
        page.locator(f'tr[data-subscription="{theirs}"]').wait_for(timeout=WAIT)
        assert page.locator(f'tr[data-subscription="{mine}"]').count() == 0
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator(f'tr[data-subscription="{theirs}"]').get_by_role("button", name="Unsubscribe").click()
        page.locator(f'tr[data-subscription="{theirs}"] .badge.ended').wait_for(timeout=WAIT)
        assert errors == []
        context.close()
    assert api(service, MINE, "GET", "/subscriptions").json()["items"][0]["status"] == "active"


def test_the_console_reads_on_a_phone(service, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{service}/egoi/console")
    page.fill("#api-key", MINE)
    page.get_by_role("button", name="Show my deliveries").click()
    page.locator("#overview:not([hidden])").wait_for(timeout=WAIT)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone (tables scroll inside their box)"
    page.screenshot(path=screenshot_dir() / "console-phone.png", full_page=False)
    context.close()
