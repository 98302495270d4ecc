"""Transactional email (Transactional API v2): single and batch sends, and the email senders lookup."""

from __future__ import annotations

OPERATIONS: tuple = ()
