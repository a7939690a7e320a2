"""A user at a terminal: `UserShell` runs README blocks as typed (shell commands with bash, a block
of Python as a script given to `python`) from a folder that looks like a fresh clone (samples/,
scripts/, benchmarks/, the Makefile and .venv linked in, ../shared beside it), with the project's
virtual environment first on PATH."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED_DATA
from tests.e2e.readme import Block, readme_blocks

# The word lists every user builds on a first run, built once for the whole suite (a returning user);
# tests/filters/poems/test_lexicon_cache.py covers workers building them at once.
WORD_LIST_CACHE = Path(tempfile.mkdtemp(prefix="curate-e2e-cache-"))
# Set when the suite runs under `make test`; a user's own `make` at a terminal has none of them.
MAKE_VARIABLES = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")
LINKED = ("samples", "scripts", "benchmarks", "Makefile", "pyproject.toml", "constraints.txt", "README.md")
# Waits for a server a block started with `&` before the block's next line: a user would not type
# that fast. The test's own helper, not part of any README command.
PRELUDE = r"""
wait_for_port() {
  python - "$1" <<'PY'
import socket, sys, time
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(f"nothing listens on port {sys.argv[1]}")
PY
}
stop_background_jobs() {
  local status=$?
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  exit $status
}
trap stop_background_jobs EXIT
set -euo pipefail
"""


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class UserShell:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.clone = root / "clone"
        self.clone.mkdir(parents=True)
        for name in LINKED:
            (self.clone / name).symlink_to(REPO / name)
        (self.clone / ".venv").symlink_to(Path(sys.prefix))
        if SHARED_DATA.is_dir():
            (root / "shared").symlink_to(SHARED_DATA.parent)
        self.home = root / "home"
        self.home.mkdir()

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items()
                     if not k.startswith(("HF_", "OPENAI_", "PYTEST_")) and k not in MAKE_VARIABLES}
        return inherited | {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(REPO), "HOME": str(self.home), "COLUMNS": "200",
            "HF_HOME": str(self.home / "hf"), "HF_HUB_DISABLE_TELEMETRY": "1",
            "CURATE_CACHE": str(WORD_LIST_CACHE),
        } | (extra or {})

    def script(self, block: Block, replace: dict[str, str]) -> str:
        text = block.text
        for old, new in replace.items():
            assert old in text, f"README block {block.name!r} no longer holds {old!r}: update its test"
            text = text.replace(old, new)
        if block.is_python:
            return PRELUDE + f"python - <<'README_PYTHON'\n{text}README_PYTHON\n"
        lines = []
        for line in re.sub(r"\\\n\s*", "", text).splitlines():
            lines.append(line)
            port = re.search(r"--port (\d+)", line)
            if line.rstrip().endswith("&") and port:
                lines.append(f"wait_for_port {port[1]}")
        return PRELUDE + "\n".join(lines) + "\n"

    def run(self, name: str, *, cwd: Path | None = None, replace: dict[str, str] | None = None,
            env: dict[str, str] | None = None, check: bool = True, timeout: float = 600) -> Result:
        """Run README block `name` (with `replace` applied, each of which must match) in `cwd`."""
        block = readme_blocks()[name]
        result = self.bash(self.script(block, replace or {}), cwd=cwd, env=env, timeout=timeout)
        if check:
            assert result.returncode == 0, f"README block {name!r} failed:\n{result.output[-4000:]}"
        return result

    def run_command(self, command: str, env: dict[str, str] | None = None) -> Result:
        """A command the test types to set the scene (not a README block); it must succeed."""
        result = self.bash(PRELUDE + command + "\n", env=env)
        assert result.returncode == 0, f"{command!r} failed:\n{result.output[-4000:]}"
        return result

    def bash(self, script: str, *, cwd: Path | None = None, env: dict[str, str] | None = None,
             timeout: float = 600) -> Result:
        cwd = cwd or self.clone
        cwd.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(["bash", "-c", script], cwd=cwd,
                                   env=self.env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        return Result(process.returncode, stdout, stderr)


@pytest.fixture
def user(tmp_path: Path) -> Iterator[UserShell]:
    yield UserShell(tmp_path)


@pytest.fixture(scope="module")
def module_user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserShell]:
    """One user for a module whose tests chain each other's outputs, in order."""
    yield UserShell(tmp_path_factory.mktemp("user"))
