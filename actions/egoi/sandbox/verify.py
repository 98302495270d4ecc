"""Transactional API v2 "Verify": verification requests, with a sandbox-only outbox of the codes sent."""

from __future__ import annotations
