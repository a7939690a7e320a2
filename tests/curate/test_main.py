"""`curate`'s entry point: input and environment errors are one line and a non-zero exit."""

import os
import sys
from pathlib import Path

import pytest

import curate
from curate import main

POEMS = '{"id": "a", "text": "The quiet river bends beneath the morning light"}\n'


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["curate", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    return exit_.value.code, capsys.readouterr().err


@pytest.fixture
def poems(tmp_path) -> Path:
    path = tmp_path / "poems.jsonl"
    path.write_text(POEMS)
    return path


def test_an_out_that_is_a_file_is_one_line(monkeypatch, capsys, poems, tmp_path):
    (tmp_path / "taken").write_text("a file")
    code, err = run_main(monkeypatch, capsys, "poems", "clean", str(poems), "--out", str(tmp_path / "taken"))
    assert code == 2
    assert err == f"error: {tmp_path / 'taken'}: is a file, not a folder; give --out a folder\n"


def test_an_unwritable_out_is_one_line(monkeypatch, capsys, poems, tmp_path):
    out = Path("/sys/kernel/curate-out") if os.geteuid() == 0 else tmp_path / "read-only" / "out"
    if os.geteuid() != 0:
        out.parent.mkdir()
        out.parent.chmod(0o555)
    code, err = run_main(monkeypatch, capsys, "poems", "clean", str(poems), "--out", str(out))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {out}: cannot write here (")


@pytest.fixture
def failing_command():
    """A `curate fail` command that raises the given error (what a command meets in a full disk,
    a folder it may not write, or a bug)."""
    raised: list[BaseException] = []

    def fail() -> None:
        raise raised[-1]

    curate.app.command("fail")(fail)
    yield raised.append
    curate.app.registered_commands.pop()


def test_what_the_operating_system_refuses_is_one_line_with_exit_1(monkeypatch, capsys, failing_command):
    failing_command(OSError(28, "No space left on device", "/data/out/part-0.parquet"))
    code, err = run_main(monkeypatch, capsys, "fail")
    assert code == 1
    assert err == ("error: /data/out/part-0.parquet: No space left on device (CURATE_DEBUG=1 shows the "
                   "traceback)\n")


def test_curate_debug_shows_the_traceback_and_bugs_are_never_hidden(monkeypatch, failing_command):
    monkeypatch.setattr(sys, "argv", ["curate", "fail"])
    failing_command(PermissionError(13, "Permission denied", "/root/x"))
    monkeypatch.setenv("CURATE_DEBUG", "1")
    with pytest.raises(PermissionError):
        main()
    monkeypatch.delenv("CURATE_DEBUG")
    failing_command(KeyError("a bug"))
    with pytest.raises(KeyError):
        main()
