"""The downloads of the landing page: each platform's files, one by one and as one zip.

The bytes are those of :class:`~connector.spec.documents.Documents`, which ``connector export``
writes too, so a package downloaded from the service is the package on disk. The zip is
reproducible (fixed dates, names in order): the same files always give the same archive.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from functools import cached_property

from connector.platforms import platforms
from connector.spec.documents import Documents

_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold


def zip_files(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


@dataclass(frozen=True)
class Download:
    """One platform's files for one connector, and its zip."""

    platform: str
    title: str
    files: dict[str, bytes]

    @cached_property
    def archive(self) -> bytes:
        """Zipped on the first download, not with the app: most processes never serve one."""
        return zip_files(self.files)

    @property
    def archive_name(self) -> str:
        return f"{self.platform}.zip"


def downloads(documents: Documents) -> list[Download]:
    """Every platform's download, in platform order."""
    known = platforms()
    return [
        Download(name, known[name].title if name in known else name, files)
        for name, files in documents.by_platform.items()
    ]
