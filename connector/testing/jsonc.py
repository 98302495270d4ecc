"""JSON with comments, as Microsoft writes its connector schemas (``//`` and ``/* */`` comments)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def strip_json_comments(text: str) -> str:
    """Remove ``//`` and ``/* */`` comments outside string literals (``"https://..."`` survives)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ValueError("unterminated /* comment")
            i = end + 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def load_jsonc(path: Path) -> Any:
    return json.loads(strip_json_comments(path.read_text(encoding="utf-8")))
