"""Scheduled transactional messages (Transactional API v2): cancel one before it is sent."""

from __future__ import annotations

OPERATIONS: tuple = ()
