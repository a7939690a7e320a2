"""Sources recorded without this machine's paths: a local file or folder by its name (and content hash),
a URL without credentials, a Hub dataset by its id. Cards and build.json hold only these."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from curation.input_files import files_sha256, is_url

HUB_ID = re.compile(r"(hf:)?[\w.-]+/[\w.-]+")


def public_name(source: str | Path) -> str:
    """A URL without user or password, a Hub id as given, else the last part of a local path."""
    text = str(source)
    if is_url(text):
        parts = urlsplit(text)
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    if HUB_ID.fullmatch(text) and not Path(text).exists():
        return text
    path = Path(text)
    return path.name or path.resolve().name


def looks_local(value: str) -> bool:
    """An absolute path, or a relative one that names something on this machine."""
    if is_url(value) or ("/" not in value and "\\" not in value):
        return False
    return Path(value).is_absolute() or Path(value).exists()


def public_params(params: dict[str, Any]) -> dict[str, Any]:
    """`params` with every local path replaced by its name."""
    return {name: public_name(value) if isinstance(value, str) and looks_local(value) else value
            for name, value in params.items()}


def public_input(described: dict[str, Any]) -> dict[str, Any]:
    """A reader's `describe()` (path, kind, files, sha256) with the path replaced by `name`."""
    return {"name": public_name(described.get("path", "")),
            **{key: value for key, value in described.items() if key != "path"}}


def folder_digest(folder: Path, patterns: Iterable[str]) -> dict[str, Any]:
    """Name, file count and SHA-256 over the names and contents of `folder`'s files matching `patterns`."""
    folder = Path(folder)
    files = sorted({file for pattern in patterns for file in folder.glob(pattern) if file.is_file()})
    return {"name": public_name(folder), "files": len(files), "sha256": files_sha256(folder, files)}
