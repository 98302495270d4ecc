"""Automations (Marketing API v3): list and delete them."""

from __future__ import annotations

OPERATIONS: tuple = ()
