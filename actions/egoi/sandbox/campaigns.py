"""Marketing API v3: campaigns and automations."""

from __future__ import annotations
