"""Finding the installed catalogs. The framework never imports a vendor package by name: catalogs
register under the ``connector.catalogs`` entry-point group, and their triggers, if any, under
``connector.triggers`` with the same name (see pyproject.toml). The triggers' package depends on
the catalog's, never the reverse; the registry puts the two together."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from connector.declarations import Catalog, validate_catalogs

GROUP = "connector.catalogs"
TRIGGERS_GROUP = "connector.triggers"


def discover(names: str | list[str] | None = None) -> list[Catalog]:
    """Installed catalogs with their triggers attached, optionally only those named
    (comma-separated string or list)."""
    wanted = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names or [])
    wanted = [n for n in wanted if n]
    installed = entry_points()  # one scan of the installed distributions for both groups
    found = {ep.name: ep for ep in installed.select(group=GROUP)}
    triggers = {ep.name: ep for ep in installed.select(group=TRIGGERS_GROUP)}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise LookupError(f"unknown catalog(s): {', '.join(missing)}; installed: {', '.join(sorted(found))}")
    orphans = sorted(set(triggers) - set(found))
    if orphans:
        raise LookupError(f"triggers registered for no installed catalog: {', '.join(orphans)}")
    catalogs = [_load(found[name], triggers.get(name)) for name in (wanted or sorted(found))]
    validate_catalogs(catalogs)
    return catalogs


def _load(catalog: EntryPoint, triggers: EntryPoint | None) -> Catalog:
    loaded: Catalog = catalog.load()
    return loaded if triggers is None else loaded.with_triggers(triggers.load())
