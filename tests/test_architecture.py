"""The shape of the code: import contracts (import-linter) and size limits (modules under 400
lines, functions under 60 outside the CLI's option declarations)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("curation", "filters", "builders", "trainers", "curate")
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def test_the_import_contracts_hold():
    pytest.importorskip("importlinter")
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def function_lengths(path: Path, package: str) -> dict[str, int]:
    """Lines per function; for a CLI command, from its first statement (the options are declarations)."""
    lengths = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = node.body[0].lineno if package == "curate" else node.lineno
            lengths[f"{path.relative_to(REPO)}:{node.name}"] = node.end_lineno - start + 1
    return lengths


def test_modules_and_functions_stay_small():
    long_modules, long_functions = [], {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if len(path.read_text(encoding="utf-8").splitlines()) > MAX_MODULE_LINES:
                long_modules.append(str(path.relative_to(REPO)))
            long_functions |= {name: n for name, n in function_lengths(path, package).items()
                               if n > MAX_FUNCTION_LINES}
    assert long_modules == []
    assert long_functions == {}
