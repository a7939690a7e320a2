"""The README's command blocks, by name.

Each indented (or fenced) code block in README.md is preceded by a marker line, an HTML comment
that GitHub does not show: `<!-- block: NAME -->` for commands, which tests/e2e runs, or
`<!-- text -->` for a block that holds no command (a folder layout). A block without a marker, or
two with one name, fails tests/e2e/test_readme_coverage.py, so no README block goes untested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = re.compile(r"^<!-- (?:block: (?P<name>[a-z0-9-]+)|(?P<text>text)) -->\s*$")
FENCE = re.compile(r"^```")


@dataclass(frozen=True)
class Block:
    name: str
    line: int
    text: str

    @property
    def is_python(self) -> bool:
        """A block of Python (run as a script) rather than shell commands."""
        first = next((line for line in self.text.splitlines() if line.strip()), "")
        return first.startswith(("from ", "import "))

    @property
    def commands(self) -> list[str]:
        """The block's lines without blank lines and whole-line comments, continuations joined."""
        joined = re.sub(r"\\\n\s*", "", self.text)
        return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _code_blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of every indented or fenced code block."""
    blocks, index = [], 0
    while index < len(lines):
        line = lines[index]
        if FENCE.match(line):
            end = next(i for i in range(index + 1, len(lines)) if FENCE.match(lines[i]))
            blocks.append((index + 1, lines[index + 1:end]))
            index = end + 1
            continue
        previous_blank = index == 0 or not lines[index - 1].strip() or MARKER.match(lines[index - 1])
        if line.startswith("    ") and line.strip() and previous_blank:
            end = index
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            while not lines[end - 1].strip():
                end -= 1
            blocks.append((index + 1, [text[4:] for text in lines[index:end]]))
            index = end
            continue
        index += 1
    return blocks


def _marker(lines: list[str], start: int) -> re.Match | None:
    """The marker on one of the two lines above a block that starts at line `start` (1-based)."""
    return next((m for i in range(start - 2, max(start - 4, -1), -1) if (m := MARKER.match(lines[i]))), None)


def readme_blocks(path: Path = README) -> dict[str, Block]:
    """The command blocks by name (blocks without a marker are left out: see `unmarked_blocks`)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: dict[str, Block] = {}
    for start, body in _code_blocks(lines):
        marker = _marker(lines, start)
        if marker is None or marker["text"]:
            continue
        name = marker["name"]
        if name in blocks:
            raise AssertionError(f"README.md:{start}: block name {name!r} used twice")
        blocks[name] = Block(name, start, "\n".join(body) + "\n")
    return blocks


def unmarked_blocks(path: Path = README) -> list[int]:
    """Line numbers of code blocks with no marker."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [start for start, _ in _code_blocks(lines) if _marker(lines, start) is None]
