"""Output folders: created, or refused up front with one line saying why."""

from __future__ import annotations

import tempfile
from pathlib import Path

from curation.errors import OutputError


def prepare_output_dir(path: str | Path, option: str = "--out") -> Path:
    """Create the folder `path` (and its parents) and check that a file can be written in it;
    an `OutputError` names the path and the reason (a file is there, no permission, read-only)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"is a file, not a folder; give {option} a folder", path=str(path))
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OutputError(f"cannot write here ({reason}); choose another {option}", path=str(path)) from None
    return path
