"""The landing page and the API explorer in a real headless Chromium, against `connector serve
--sandbox`: both connectors listed, the Power Automate zip downloads and unzips to the exported
files, the pages read without JavaScript and on a phone, and the explorer creates a contact."""

from __future__ import annotations

import json
import zipfile

import pytest
import requests
from browser import ROOT, chromium, sandbox_service, screenshot_dir

CONNECTORS = {"egoi": "E-goi", "ongage": "Ongage"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    # The PUBLIC_URL `connector export` writes into the committed files (serve's default is its own port).
    with sandbox_service(tmp_path_factory.mktemp("landing"), public_url="http://localhost:8000") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def shots():
    return screenshot_dir()


def test_landing_lists_both_connectors_and_the_zip_is_the_exported_package(service, browser, shots, tmp_path):
    page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 900})
    elsewhere = []
    page.on("request", lambda r: None if r.url.startswith(service) else elsewhere.append(r.url))
    page.goto(service + "/")
    assert page.title().startswith("Connectors")
    page.screenshot(path=shots / "landing.png", full_page=False)
    for name in CONNECTORS:
        section = page.locator(f"section#{name}")
        assert section.get_by_role("link", name="API explorer").get_attribute("href") == f"/{name}/explorer"
        assert section.locator("h2").inner_text().startswith(CONNECTORS[name])
        assert "Sandbox:" in section.inner_text()  # serve --sandbox: each connector's notes on its emulator
        with page.expect_download() as download:
            section.get_by_role("link", name="Power Automate package (zip)").click()
        saved = tmp_path / f"{name}.zip"
        download.value.save_as(saved)
        with zipfile.ZipFile(saved) as archive:
            names = set(archive.namelist())
            assert {"apiDefinition.swagger.json", "apiProperties.json"} <= names
            for member in names:
                assert archive.read(member) == (ROOT / "openapi" / name / member).read_bytes(), member
    assert elsewhere == []
    page.close()


def test_landing_and_docs_read_without_javascript_on_a_phone(service, browser, shots):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(service + "/")
    assert page.get_by_role("heading", name="Connectors", exact=True).is_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone"
    page.screenshot(path=shots / "landing-phone.png", full_page=False)
    page.goto(service + "/egoi/docs")
    assert page.locator("h2").count() > 5  # one per operation, rendered on the server
    page.goto(service + "/egoi/explorer")
    assert "needs JavaScript" in page.locator("main").inner_text()
    context.close()


def test_the_keyboard_reaches_the_skip_link_then_the_links(service, browser):
    page = browser.new_page()
    page.goto(service + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    for _ in range(4):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "A"
    page.close()


def test_the_explorer_creates_a_contact_in_the_sandbox_with_the_key(service, browser, shots):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    elsewhere = []  # requests to any other host: the explorer must work without internet
    page.on("request", lambda r: None if r.url.startswith(service) else elsewhere.append(r.url))
    errors = []  # the console's errors, a refused Content-Security-Policy among them
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(service + "/egoi/explorer")
    page.locator("button.authorize").first.click()
    page.locator(".modal-ux input").first.fill("explorer-key")
    page.locator(".modal-ux button.authorize").first.click()
    page.locator(".modal-ux button.btn-done").first.click()
    operation = page.locator("#operations-Actions-CreateContact")
    operation.locator(".opblock-summary").first.click()
    operation.get_by_role("button", name="Try it out").click()
    body = {"list_id": 1, "email": "explorer@example.com", "first_name": "Explorer"}
    operation.locator("textarea.body-param__text").fill(json.dumps(body))
    with page.expect_response(lambda r: r.url.endswith("/egoi/actions/create_contact")) as answered:
        operation.get_by_role("button", name="Execute").click()
    response = answered.value
    assert response.status == 201, response.text()
    assert response.request.headers["apikey"] == "explorer-key"
    assert response.url.startswith(service)  # this service, not the PUBLIC_URL the document names
    contact_id = response.json()["contact_id"]
    live = operation.locator(".live-responses-table tbody tr.response").first
    live.wait_for()
    assert live.locator(".response-col_status").inner_text().strip() == "201"
    assert json.dumps({"contact_id": contact_id})[1:-1] in live.locator(".microlight").first.inner_text()
    page.evaluate("document.querySelector('#operations-Actions-CreateContact .curl-command').scrollIntoView()")
    page.mouse.click(5, 5)  # no selection left in the picture
    page.screenshot(path=shots / "explorer.png", full_page=False)
    assert elsewhere == [] and errors == []
    page.close()


def test_programs_still_get_json_at_the_root_with_the_pages_links(service):
    listed = requests.get(service + "/", timeout=10)
    assert listed.headers["Content-Type"].startswith("application/json") and "Accept" in listed.headers["Vary"]
    connectors = {c["name"]: c for c in listed.json()["connectors"]}
    assert set(connectors) == set(CONNECTORS)
    assert connectors["egoi"]["console"] == "/egoi/console" and "console" not in connectors["ongage"]
    assert connectors["ongage"]["mcp"] == "/ongage/mcp"
    keyless = requests.post(
        service + connectors["ongage"]["mcp"], json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=10
    )
    assert keyless.status_code == 401  # the index names an endpoint that exists, behind the credential
    archive = requests.get(service + connectors["ongage"]["downloads"]["powerautomate"], timeout=10)
    assert archive.headers["Content-Disposition"] == 'attachment; filename="ongage-powerautomate.zip"'
    page = requests.get(service + "/", headers={"Accept": "text/html,*/*;q=0.8"}, timeout=10)
    assert page.headers["Content-Type"].startswith("text/html") and "<h1>Connectors</h1>" in page.text
    assert "<code>/egoi/mcp</code>" in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert requests.get(service + "/ongage/console", timeout=10).status_code == 404  # no webhook trigger
