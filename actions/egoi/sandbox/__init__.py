"""In-memory emulator of the parts of E-goi's APIs that the E-goi connector calls.

Why it exists: ``serve --sandbox`` and the end-to-end tests need an upstream that answers like
E-goi (paths, status codes, bodies, validation) on a machine with no account and no internet.
Shapes follow E-goi's published specs (Marketing API v3, https://developers.e-goi.com/api/v3/, and
Transactional API v2, https://developers.e-goi.com/api/transactional/); where they are silent, the choice is noted next to the code.

Served paths (every one needs the key header, ``Apikey`` / ``ApiKey``; header names are
case-insensitive). Any non-empty key is accepted except ``SANDBOX_INVALID_KEY``, which gets 401:

- Marketing API v3 under ``MARKETING_PREFIX`` (``/api``), module ``contacts``: ``GET /lists``,
  ``GET /lists/{id}``, ``GET /lists/{id}/fields``, ``GET|POST /lists/{id}/contacts``,
  ``GET|PATCH /lists/{id}/contacts/{contact_id}``, ``GET /contacts/search``,
  ``POST /lists/{id}/contacts/actions/attach-tag`` and ``.../detach-tag``, ``GET|POST /tags``;
  module ``campaigns``: ``GET /campaigns``, ``GET /automations``, ``DELETE /automations/{id}``;
  module ``webhooks``: ``GET|POST /webhooks``, ``DELETE /webhooks/{id}``; module ``imports``:
  ``POST /lists/{id}/contacts/actions/import-bulk`` (run in the background) and ``GET /operations``.
- Transactional API v2 under ``TRANSACTIONAL_PREFIX`` (``/slingshot/api/v2``): module ``sms``:
  ``GET /sms/senders``, ``POST /sms/messages/action/send``, ``GET /validate-phone/{number}``,
  ``DELETE /messages/{id}/action/cancel`` (and the 2020 spec's ``POST /messages/{id}/action/send``);
  module ``email``: ``GET /email/senders``, ``POST /email/messages/action/send``; module ``verify``:
  ``POST /verify/request`` (and ``/email``, ``/push``), ``GET /verify/{id}``,
  ``POST /verify/{id}/validate|cancel|resend``; module ``webhooks``: ``GET|POST|DELETE /webhooks``.
- Sandbox only, under ``/_sandbox`` and without a key: ``GET /_sandbox/sms`` and
  ``GET /_sandbox/email`` list the messages "sent" so far, newest first, with their status;
  ``GET /_sandbox/verify`` the verification codes sent; ``POST /_sandbox/verify/clock``
  (``{"advance": seconds}``) moves the verification clock, so expiry can be tried without waiting;
  ``POST /_sandbox/messages/{id}/events``, ``GET|DELETE /_sandbox/webhooks/log`` and
  ``POST /_sandbox/webhooks/hold|flush|wait`` drive the webhooks, which the sandbox fires over real HTTP
  when contacts and messages change (callback bodies and test recipients: ``sandbox.webhooks``);
  ``GET /_sandbox/imports`` and ``POST /_sandbox/imports/hold|release`` show and pace the bulk
  imports, and ``GET /_sandbox/requests`` counts the calls each API answered.

The vocabularies below (languages, consents, patterns) are E-goi's, copied from its spec on
purpose rather than imported from the catalog: the emulator is the oracle the connector is tested
against, so a mistake in the catalog's copy must not be mirrored here.

Seed state of every ``create_app()``: list 1 "Demo list" with extra fields 1-7, tag 1 "Demo tag",
SMS sender "1" and email sender 1, a demo email (message 1) scheduled for 2099, campaigns
c0ffee0001-c0ffee0007, automations 1-3, verification requests 1001-1003, no contacts. One state
per app, guarded by a lock (threaded servers).
"""

from __future__ import annotations

from flask import Flask

# Each module adds its routes to the blueprints of core when imported.
from actions.egoi.sandbox import campaigns, contacts, email, imports, sms, verify, webhooks  # noqa: F401
from actions.egoi.sandbox.core import (
    MARKETING_PREFIX,
    SANDBOX_INVALID_KEY,
    TRANSACTIONAL_PREFIX,
    configure,
    inspect,
    marketing,
    transactional,
)

__all__ = ["MARKETING_PREFIX", "SANDBOX_INVALID_KEY", "TRANSACTIONAL_PREFIX", "create_app"]


def create_app() -> Flask:
    """A fresh emulator with freshly seeded state, so tests never share data."""
    app = Flask(__name__)
    configure(app)
    app.register_blueprint(marketing, url_prefix=MARKETING_PREFIX)
    app.register_blueprint(transactional, url_prefix=TRANSACTIONAL_PREFIX)
    app.register_blueprint(inspect, url_prefix="/_sandbox")
    return app
