"""Every document of a catalog, built once at start-up and kept as encoded bytes.

The service serves these bytes as they are and ``connector export`` writes the same bytes, so
what users import is byte for byte what the running service describes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from connector.declarations import Catalog


def encode(document: object) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


@dataclass(frozen=True)
class Documents:
    """One catalog's files for the chosen platforms (file name → bytes), the ones the service
    serves (URL under ``/<catalog>/`` → bytes), and each platform's own files (platform name →
    file name → bytes: the packages the landing page offers for download)."""

    files: dict[str, bytes]
    routes: dict[str, bytes]
    by_platform: dict[str, dict[str, bytes]] = field(default_factory=dict)

    @classmethod
    def build(cls, catalog: Catalog, public_url: str, platforms: Iterable[str] | None = None) -> Documents:
        """The files of the named platforms (default: every one), from one neutral description."""
        from connector.platforms import select
        from connector.spec.description import Description

        description = Description.build(catalog, public_url)
        files: dict[str, bytes] = {}
        routes: dict[str, bytes] = {}
        by_platform: dict[str, dict[str, bytes]] = {}
        for platform in select(platforms):
            rendered = by_platform[platform.name] = platform.render(description)
            files.update(rendered)
            routes.update({url: rendered[name] for url, name in platform.routes.items()})
        return cls(files, routes, by_platform)

    def write(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for filename, content in self.files.items():
            path = directory / filename
            path.parent.mkdir(parents=True, exist_ok=True)  # a platform may write a folder (zapier/)
            path.write_bytes(content)
            written.append(path)
        return written
