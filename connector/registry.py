"""Finding the installed catalogs. The framework never imports a vendor package by name: catalogs
register under the ``connector.catalogs`` entry-point group (see pyproject.toml)."""

from __future__ import annotations

from importlib.metadata import entry_points

from connector.declarations import Catalog, validate_catalogs

GROUP = "connector.catalogs"


def discover(names: str | list[str] | None = None) -> list[Catalog]:
    """Installed catalogs, optionally only those named (comma-separated string or list)."""
    wanted = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names or [])
    wanted = [n for n in wanted if n]
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise LookupError(f"unknown catalog(s): {', '.join(missing)}; installed: {', '.join(sorted(found))}")
    catalogs = [found[name].load() for name in (wanted or sorted(found))]
    validate_catalogs(catalogs)
    return catalogs
