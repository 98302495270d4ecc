"""Verification tokens (Transactional API v2 "Verify"): request a code, validate, resend or cancel it."""

from __future__ import annotations

OPERATIONS: tuple = ()
