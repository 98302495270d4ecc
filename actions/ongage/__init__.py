"""The Ongage events connector: create, read, list, update, toggle and delete the events of a list
(Ongage's Events & Trigger API,
https://ongage.atlassian.net/wiki/spaces/HELP/pages/947553199/Events+Trigger+API+Methods), each with
its triggers and ESP distribution."""

from __future__ import annotations

from actions.ongage import events
from actions.ongage.responses import ongage_response
from connector.declarations import Catalog, Credential, Service
from connector.upstream import SplitCredential

CREDENTIAL_FORMAT = "account_code:username:password"
# Ongage authenticates every call with three headers (Ongage's API FAQ, "API Authentication Credentials").
UPSTREAM_HEADERS = ("X_ACCOUNT_CODE", "X_USERNAME", "X_PASSWORD")


def _sandbox():
    from actions.ongage import sandbox

    return sandbox.create_app()


catalog = Catalog(
    name="ongage",
    title="Ongage Events",
    description=(
        "Ongage is an email marketing platform that sends through your own ESPs. This connector manages "
        "the automated events of a list: their triggers, ESP distribution and status."
    ),
    version="1.0.0",
    credential=Credential(
        header="X-Ongage-Credentials",
        parameter="api_key",
        display_name="Ongage Credentials",
        description=(
            f"Your Ongage account code, API username and password, as {CREDENTIAL_FORMAT} "
            "(the account code is on the Account Profile page; it is not the numeric account id)."
        ),
        tooltip=f"Provide {CREDENTIAL_FORMAT}",
    ),
    services=(
        Service(
            "events",
            "Ongage Events API",
            "ONGAGE_API_URL",
            SplitCredential(headers=UPSTREAM_HEADERS, format=CREDENTIAL_FORMAT),
            default_url="https://api.ongage.net",  # the list id follows it in each path
            on_response=ongage_response,
        ),
    ),
    operations=events.OPERATIONS,
    publisher="Connector",
    brand_color="#2B3990",
    contact={"name": "Ongage Support", "url": "https://ongage.atlassian.net/wiki/spaces/HELP/overview"},
    metadata={
        "Website": "https://www.ongage.com/",
        "Privacy policy": "https://www.ongage.com/privacy-policy/",
        "Categories": "Marketing",
    },
    sandbox=_sandbox,
    sandbox_notes=(
        "any non-empty account_code:username:password works except the password sandbox-invalid-password, "
        "which gets 401. List 1 is the default list (used when no list_id is given), with events 1 and 2; list 2 "
        "is empty; every event is listed at /_sandbox/events."
    ),
)
