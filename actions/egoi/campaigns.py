"""Campaigns (Marketing API v3): list them with the filters of E-goi's campaign search."""

from __future__ import annotations

OPERATIONS: tuple = ()
