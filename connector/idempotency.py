"""``Idempotency-Key`` on POST actions: a retried request is answered from the first one's result.

Semantics (after the IETF httpapi Idempotency-Key draft and Stripe's API):

- The first request with a key claims it (state "running") and performs the action; its answer,
  success or a 4xx that says the request itself was wrong, is stored with a fingerprint of the
  validated input. The same key with the same input replays that answer (``Idempotent-Replayed:
  true``) without calling upstream again.
- The same key with another input is 422; a retry while the first request is still running is 409.
- Requests our own validation refuses never claim a key (nothing was done), and a 5xx or an
  unexpected error releases the claim, so the caller can retry once the upstream is back.
- Keys are scoped per credential, catalog and operation (a digest, never the credential) and kept
  ``IDEMPOTENCY_TTL`` seconds. A claim whose process died is taken over after ``lease`` seconds.

This module is the protocol (header, key, fingerprint, scope); the table is kept by
:mod:`connector.idempotency_store`, which only requests that carry a key load.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

from connector.errors import Problem
from connector.vault import credential_digest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Printable ASCII without leading or trailing spaces (HTTP strips those, so they could not match).
KEY_PATTERN = re.compile(r"^[!-~](?:[ -~]{0,253}[!-~])?$")


def fingerprint(data: Any) -> str:
    """Digest of the validated input, so a JSON body and a form with the same values match."""
    canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.sha256(canonical).hexdigest()


def scope_of(credential: str, catalog: str, operation: str) -> str:
    return credential_digest(credential, "idempotency", catalog, operation)


def check_key(key: str) -> str:
    """A key is 1-255 printable ASCII characters (a UUID is typical)."""
    if not KEY_PATTERN.fullmatch(key):
        raise Problem(
            422,
            f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters (a UUID, for example).",
            errors={HEADER: [f"Use 1 to {MAX_KEY_LENGTH} printable ASCII characters."]},
        )
    return key


@dataclass(frozen=True)
class StoredResponse:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Claim:
    scope: str
    key: str
