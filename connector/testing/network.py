"""Loopback ports for servers a test or a benchmark starts itself."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now: the system picks it, so parallel runs do not collide
    (another process may still take it before it is used; servers that can bind port 0 should)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
