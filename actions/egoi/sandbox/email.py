"""Transactional API v2: email senders, email sending and the sandbox-only email outbox."""

from __future__ import annotations
