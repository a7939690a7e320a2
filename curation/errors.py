"""Errors that name the file, row and field, so users never read a traceback from a library."""

from __future__ import annotations


class CurationError(Exception):
    """Base class for every error the CLI reports as one line."""


class InputError(CurationError):
    """Bad input: names the file, and the row and field where known."""

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None,
                 field: str | None = None) -> None:
        self.path, self.row, self.field = path, row, field
        where = [p for p in (path, f"row {row}" if row is not None else None,
                             f"field '{field}'" if field else None) if p]
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")


class OutputError(CurationError):
    """An output location that cannot be used (a file where a folder is needed, no permission,
    a read-only or full disk): names the path."""

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


class StageError(CurationError):
    """A stage was misconfigured or is missing the columns it reads."""
