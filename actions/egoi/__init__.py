"""The E-goi connector: contacts with their extra fields, tags, campaigns and automations (Marketing
API v3, https://developers.e-goi.com/api/v3/), transactional SMS and email, one or in batches, message
status and cancellation, and verification codes (Transactional API v2,
https://developers.e-goi.com/api/transactional/). Its triggers are in ``triggers.egoi``, registered
under the ``connector.triggers`` entry-point group and attached to this catalog by name."""

from __future__ import annotations

from actions.egoi import automations, campaigns, contacts, email, imports, lookups, messages, sms, tags, verify
from actions.egoi.responses import marketing_response, transactional_response
from connector.declarations import Catalog, Credential, Service


def _sandbox():
    from actions.egoi import sandbox

    return sandbox.create_app()


catalog = Catalog(
    name="egoi",
    title="E-goi",
    description=(
        "E-goi is a multichannel marketing automation platform: email, SMS, voice, push and forms. "
        "This connector finds, creates, updates and bulk-imports contacts with their extra fields, attaches and detaches "
        "tags, lists campaigns and automations, sends transactional SMS and email (one or in batches, with "
        "merge tags and scheduling) and sends and checks verification codes."
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
        Service(
            "marketing",
            "E-goi Marketing API",
            "EGOI_API_URL",
            "Apikey",
            sandbox_path="/api",
            default_url="https://api.egoiapp.com",
            on_response=marketing_response,
        ),
        Service(
            "transactional",
            "E-goi Transactional API",
            "EGOI_TRANSACTIONAL_URL",
            "ApiKey",
            sandbox_path="/slingshot/api/v2",
            default_url="https://slingshot.egoiapp.com/api/v2",
            on_response=transactional_response,
        ),
    ),
    # Each module lists its operations; this order is the order of the specs and the docs.
    operations=(
        *contacts.OPERATIONS,
        *imports.OPERATIONS,
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
        "any API key works except sandbox-invalid-key, which gets 401. List 1 (with extra fields 1-7), tag 1, "
        "SMS sender 1, email sender 1, a scheduled demo email (message 1), campaigns and automations exist. "
        "On the sandbox, sent SMS and email are listed at /_sandbox/sms and /_sandbox/email, verification "
        'codes at /_sandbox/verify, and POST /_sandbox/verify/clock {"advance": seconds} moves its clock. '
        "Webhooks registered with it are called over real HTTP when contacts change and messages move through "
        "their statuses (SMS to 351-910000999 fail, email to bounce@example.com bounces); "
        "GET /_sandbox/webhooks/log lists the callbacks made. Bulk imports run in the background, in order; "
        "GET /_sandbox/imports lists them with their reports, and GET /_sandbox/requests counts the calls answered."
    ),
)
