"""In-memory emulator of the parts of E-goi's APIs that the E-goi connector calls.

Why it exists: ``serve --sandbox`` and the end-to-end tests need an upstream that answers like
E-goi (paths, status codes, bodies, validation) on a machine with no account and no internet.
Shapes follow E-goi's published specs (``reference/egoi/apiv3-openapi.yaml`` and
``transactional-v2-openapi.yaml``); where they are silent, the choice is noted next to the code.

Served paths (every one needs the key header, ``Apikey`` / ``ApiKey``; header names are
case-insensitive). Any non-empty key is accepted except ``SANDBOX_INVALID_KEY``, which gets 401:

- Marketing API v3 under ``MARKETING_PREFIX`` (``/api``): ``GET /lists``, ``GET /lists/{id}``,
  ``GET|POST /lists/{id}/contacts``, ``GET|PATCH /lists/{id}/contacts/{contact_id}``,
  ``POST /lists/{id}/contacts/actions/attach-tag``, ``GET|POST /tags``.
- Transactional API v2 under ``TRANSACTIONAL_PREFIX`` (``/slingshot/api/v2``):
  ``GET /sms/senders``, ``POST /sms/messages/action/send``.
- Sandbox only, no prefix and no key: ``GET /_sandbox/sms`` returns a JSON array of the SMS
  messages "sent" so far, newest first, each with its ``messageId`` and ``createDate``, so a
  user can see what would have reached a phone.

The vocabularies below (languages, consents, patterns) are E-goi's, copied from its spec on
purpose rather than imported from the catalog: the emulator is the oracle the connector is tested
against, so a mistake in the catalog's copy must not be mirrored here.

Seed state of every ``create_app()``: list 1 "Demo list", tag 1 "Demo tag", SMS sender "1"
"Demo sender" (active), no contacts. One state per app, guarded by a lock (threaded servers).
"""

from __future__ import annotations

from flask import Flask

# Each module adds its routes to the blueprints of core when imported.
from actions.egoi.sandbox import campaigns, contacts, email, sms, verify  # noqa: F401
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
