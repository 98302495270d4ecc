"""The E-goi connector: contacts and tags (Marketing API v3) and SMS (Transactional API v2)."""

from __future__ import annotations

from actions.egoi import automations, campaigns, contacts, email, lookups, messages, sms, tags, verify
from connector.declarations import Catalog, Credential, Service


def _sandbox():
    from actions.egoi import sandbox

    return sandbox.create_app()


catalog = Catalog(
    name="egoi",
    title="E-goi",
    description=(
        "E-goi is a multichannel marketing automation platform: email, SMS, voice, push and forms. "
        "This connector creates and updates contacts, attaches tags and sends transactional SMS."
    ),
    version="1.0.0",
    credential=Credential(
        header="Apikey",
        parameter="api_key",
        display_name="API Key",
        description="The API key of your E-goi account (Integrations, in your account menu).",
        tooltip="Provide your E-goi API key",
    ),
    services=(
        Service("marketing", "E-goi Marketing API", "EGOI_API_URL", "Apikey", sandbox_path="/api"),
        Service(
            "transactional",
            "E-goi Transactional API",
            "EGOI_TRANSACTIONAL_URL",
            "ApiKey",
            sandbox_path="/slingshot/api/v2",
        ),
    ),
    # Each module lists its operations; this order is the order of the specs and the docs.
    operations=(
        *contacts.OPERATIONS,
        *tags.OPERATIONS,
        *campaigns.OPERATIONS,
        *automations.OPERATIONS,
        *sms.OPERATIONS,
        *email.OPERATIONS,
        *messages.OPERATIONS,
        *verify.OPERATIONS,
        *lookups.OPERATIONS,
    ),
    publisher="Connector",
    brand_color="#00AEDA",
    contact={"name": "E-goi Support", "url": "https://helpdesk.e-goi.com/"},
    metadata={
        "Website": "https://www.e-goi.com/",
        "Privacy policy": "https://www.e-goi.com/pt/rgpd-tudo-o-que-precisa-saber/",
        "Categories": "Marketing",
    },
    sandbox=_sandbox,
    sandbox_notes=(
        "any API key works except sandbox-invalid-key, which gets 401. List 1, tag 1 and SMS sender 1 exist; "
        "sent SMS are listed at /_sandbox/sms on the sandbox."
    ),
)
