"""Input files, local or named by fsspec URLs (`s3://`, `hf://`, `gs://`, `memory://`, `file://`,
with globs): opening, sizes, quick identities and content hashes.

`UrlPath` is the small part of `pathlib.Path` that readers use (name, suffix, open, listing), over
any fsspec filesystem. Only the URL is stored, so a reader pickled to a worker process or a Ray
task re-creates its filesystem there (from fsspec's cache of instances); credentials come from the
filesystem's own configuration (environment, config files), never from the pickle.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from glob import has_magic
from pathlib import Path, PurePosixPath
from typing import IO, Any

from fsspec.core import url_to_fs
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from curation.errors import InputError

URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
VERSION_KEYS = ("ETag", "etag", "md5Hash", "blob_id", "mtime", "LastModified", "last_modified", "updated",
                "created")


def is_url(value: object) -> bool:
    return isinstance(value, UrlPath) or (isinstance(value, str) and bool(URL.match(value)))


@dataclass(frozen=True)
class UrlPath:
    """A file, folder or glob pattern on an fsspec filesystem."""

    url: str

    def __str__(self) -> str:
        return self.url

    def filesystem(self) -> tuple[AbstractFileSystem, str]:
        """(filesystem, path within it); a missing backend (s3fs, gcsfs...) is an `InputError`."""
        try:
            return url_to_fs(self.url)
        except (ImportError, ValueError) as error:
            raise InputError(f"cannot open this URL ({error})", path=self.url) from None

    @property
    def name(self) -> str:
        return PurePosixPath(self.url.rstrip("/")).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    @property
    def is_glob(self) -> bool:
        return has_magic(self.filesystem()[1])

    @property
    def base(self) -> str:
        """The path (within the filesystem) of this file or folder, or of a glob's fixed folder."""
        path = self.filesystem()[1]
        if not has_magic(path):
            return path.rstrip("/")
        return re.split(r"[*?\[]", path, maxsplit=1)[0].rsplit("/", 1)[0]

    def name_under(self, root: UrlPath) -> str:
        """This file's path below `root` (a folder or glob), or its name when not below it."""
        base, path = root.base, self.filesystem()[1]
        return path[len(base) + 1:] if path.startswith(base + "/") else self.name

    def exists(self) -> bool:
        fs, path = self.filesystem()
        return bool(fs.glob(path)) if self.is_glob else fs.exists(path)

    def is_dir(self) -> bool:
        fs, path = self.filesystem()
        return not self.is_glob and fs.isdir(path)

    @staticmethod
    def _files_matching(fs: AbstractFileSystem, pattern: str) -> list[UrlPath]:
        found = fs.glob(pattern, detail=True)
        return [UrlPath(fs.unstrip_protocol(p)) for p in sorted(found) if found[p].get("type") != "directory"]

    def glob(self, pattern: str) -> list[UrlPath]:
        """Files under this folder matching `pattern` (`**/` for any depth), sorted."""
        fs, path = self.filesystem()
        return self._files_matching(fs, f"{path.rstrip('/')}/{pattern}")

    def files(self, patterns: tuple[str, ...]) -> list[UrlPath]:
        """The files this URL names: a glob's matches, a folder's files matching one of `patterns`,
        or the file itself."""
        fs, path = self.filesystem()
        if self.is_glob:
            found = self._files_matching(fs, path)
        elif fs.isdir(path):
            found = sorted({f for pattern in patterns for f in self.glob(pattern)}, key=str)
        else:
            return [self]
        if not found:
            where = "this pattern" if self.is_glob else f"{' or '.join(patterns)} in this folder"
            raise InputError(f"no files match {where}", path=self.url)
        return found

    def open(self, mode: str = "rb") -> IO[Any]:
        fs, path = self.filesystem()
        try:
            return fs.open(path, mode)
        except FileNotFoundError:
            raise InputError("no such file", path=self.url) from None

    def size(self) -> int:
        fs, path = self.filesystem()
        return int(fs.info(path)["size"])

    def identity(self) -> str:
        """Size and version (ETag, hash or modification time, whichever the filesystem reports)."""
        fs, path = self.filesystem()
        info = fs.info(path)
        version = next((info[k] for k in VERSION_KEYS if info.get(k) not in (None, "")), "")
        return f"{info.get('size')}:{version}"


InputPath = Path | UrlPath


def open_binary(path: str | InputPath) -> IO[bytes]:
    return path.open("rb") if isinstance(path, UrlPath) else open(path, "rb")


def open_lines(path: str | InputPath) -> IO[bytes]:
    """`open_binary`, with `readline(size)` on every filesystem (fsspec's buffered files lack it)."""
    handle = open_binary(path)
    return io.BufferedReader(handle, 1 << 20) if isinstance(handle, AbstractBufferedFile) else handle


def file_size(path: InputPath) -> int:
    return path.size() if isinstance(path, UrlPath) else path.stat().st_size


def sha256_file(path: str | InputPath) -> str:
    digest = hashlib.sha256()
    with open_binary(path) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_identity(path: InputPath) -> str:
    """Size and modification time (for a URL: size and version), a quick identity for resuming."""
    if isinstance(path, UrlPath):
        return path.identity()
    stat = os.stat(path)
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def name_under(root: InputPath, file: InputPath) -> str:
    if isinstance(file, UrlPath) and isinstance(root, UrlPath):
        return file.name_under(root)
    root_text, path = str(root), str(file)
    return path[len(root_text) + 1:] if path != root_text else root.name


def file_hash_line(root: InputPath, file: InputPath | str, hash_content: bool = True) -> str:
    """`name:digest` of one file: its name under `root` and its content SHA-256 (or `file_identity`)."""
    identity = sha256_file(file) if hash_content else file_identity(file)
    return f"{name_under(root, file)}:{identity}"


def lines_sha256(lines: Iterable[str]) -> str:
    """SHA-256 over `file_hash_line`s, each ended by a newline."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(f"{line}\n".encode())
    return digest.hexdigest()


def files_sha256(root: InputPath, files: Iterable[InputPath], hash_content: bool = True) -> str:
    """SHA-256 over each file's name under `root` and its content (or its `file_identity`)."""
    return lines_sha256(file_hash_line(root, file, hash_content) for file in files)


def names_sha256(root: InputPath, files: Iterable[InputPath | str]) -> str:
    """SHA-256 over the files' names under `root` only (no file system calls)."""
    return hashlib.sha256("".join(f"{name_under(root, f)}\n" for f in files).encode()).hexdigest()
