"""Platforms: each module of this package turns a catalog's neutral description into one
platform's files (Power Automate's package, an OpenAPI 3 document, ...).

A platform module defines ``platform = Platform(...)`` and nothing else has to change: the
registry finds every module here, and ``connector export --platform NAME`` and the service's
document routes follow.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

from connector.spec.description import Description


@dataclass(frozen=True)
class Platform:
    """One platform: how to render a description into its files, and which of them the service
    serves (URL under ``/<catalog>/`` → file name)."""

    name: str
    title: str
    render: Callable[[Description], dict[str, bytes]]
    routes: Mapping[str, str] = field(default_factory=dict)


@cache
def platforms() -> dict[str, Platform]:
    """Every platform of this package, by name, in name order."""
    found: dict[str, Platform] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("_"):
            continue
        platform = getattr(importlib.import_module(f"{__name__}.{module.name}"), "platform", None)
        if isinstance(platform, Platform):
            found[platform.name] = platform
    return dict(sorted(found.items()))


def select(names: Iterable[str] | None = None) -> list[Platform]:
    """The named platforms (all of them when ``names`` is None); a LookupError names unknown ones."""
    known = platforms()
    if names is None:
        return list(known.values())
    names = list(names)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise LookupError(f"unknown platform(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]
