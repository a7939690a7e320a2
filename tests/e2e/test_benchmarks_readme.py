"""README benchmark blocks. The benchmarks themselves take minutes to hours and print the figures the
README quotes; here every line of the "Benchmarks" block is run as typed but with `--help`, so a
script that moved, lost an option or stopped importing fails the suite. The English benchmark block
downloads its sentence sources from Debian and npm, so it runs in full only with `-m slow`."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import UserShell
from tests.e2e.readme import readme_blocks


def benchmark_scripts(block: str) -> list[str]:
    return sorted(set(re.findall(r"benchmarks/[\w/]+\.py", readme_blocks()[block].text)))


def test_every_benchmark_line_runs_as_typed_with_help(user: UserShell) -> None:
    scripts = benchmark_scripts("benchmarks")
    result = user.run("benchmarks", replace={script: f"{script} --help" for script in scripts})

    assert len(scripts) >= 10
    assert result.output.count("usage:") == len(readme_blocks()["benchmarks"].commands)


@pytest.mark.slow
def test_the_english_benchmark_block_prints_its_table(user: UserShell) -> None:
    result = user.run("english-benchmark", timeout=3600)
    assert "py3langid" in result.output and "ours" in result.output
