"""Every document of a catalog, built once at start-up and kept as encoded bytes.

The service serves these bytes as they are and ``connector export`` writes the same bytes, so
what users import is byte for byte what the running service describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from connector.declarations import Catalog
from connector.spec.openapi import OPENAPI, SWAGGER, build_spec
from connector.spec.powerautomate import api_properties

FILES = {
    "swagger": "apiDefinition.swagger.json",
    "properties": "apiProperties.json",
    "openapi": "openapi.json",
}


def encode(document: object) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


@dataclass(frozen=True)
class Documents:
    swagger: bytes
    openapi: bytes
    properties: bytes

    @classmethod
    def build(cls, catalog: Catalog, public_url: str) -> Documents:
        return cls(
            swagger=encode(build_spec(catalog, SWAGGER, public_url)),
            openapi=encode(build_spec(catalog, OPENAPI, public_url)),
            properties=encode(api_properties(catalog)),
        )

    def files(self) -> dict[str, bytes]:
        return {FILES[name]: getattr(self, name) for name in FILES}

    def write(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for filename, content in self.files().items():
            path = directory / filename
            path.write_bytes(content)
            written.append(path)
        return written
