"""Kill `curate poems clean` with SIGKILL part-way, re-run the same command, and get exactly the
rows of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate import app
from curation.manifest import load_manifest
from curation.writers import read_shards
from tests.outputs import rows

FORMS = 12


@pytest.fixture(scope="module")
def poem_subset(kaggle_forms, tmp_path_factory) -> Path:
    """The first forms of the shared corpus (about 570 poems), linked into a folder of their own."""
    root = tmp_path_factory.mktemp("subset")
    (root / "forms").mkdir()
    for form in sorted((kaggle_forms / "forms").iterdir())[:FORMS]:
        (root / "forms" / form.name).symlink_to(form)
    return root


def clean_args(corpus: Path, out: Path, *extra: str) -> list[str]:
    return ["poems", "clean", str(corpus), "--out", str(out), "--shard-rows", "10", "--json", *extra]


def kill_after_some_shards(args: list[str], out: Path, shards: int = 3) -> int:
    """Run the CLI in its own process group; SIGKILL the group once `shards` shards are complete."""
    command = [sys.executable, "-c", "from curate import main; main()", *args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    markers = out / "_state" / "shards"
    deadline = time.monotonic() + 240
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if markers.is_dir() and len(list(markers.glob("*.json"))) >= shards:
                break
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return len(list(markers.glob("*.json")))


def assert_same_run(resumed: Path, reference: Path) -> None:
    for part in ("kept", "rejected"):
        got, expected = rows(resumed, part), rows(reference, part)
        assert got["row_id"].is_unique().all(), f"duplicated {part} rows"
        assert got.equals(expected), part
    counts = {k: load_manifest(resumed / "manifest.json")[k] for k in ("rows_in", "rows_kept", "stages")}
    assert counts == {k: load_manifest(reference / "manifest.json")[k] for k in counts}


def kill_and_resume(poem_subset, tmp_path, engine_args):
    out = tmp_path / "resumed"
    args = clean_args(poem_subset, out, *engine_args)
    done_when_killed = kill_after_some_shards(args, out)
    assert 3 <= done_when_killed < 57, done_when_killed

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    reference = tmp_path / "reference"
    result = CliRunner().invoke(app, clean_args(poem_subset, reference))
    assert result.exit_code == 0, result.output
    assert_same_run(out, reference)
    assert load_manifest(out / "manifest.json")["balanced"]


def test_local_engine_resumes_a_killed_run(poem_subset, tmp_path):
    kill_and_resume(poem_subset, tmp_path, ["--engine", "local"])


def test_ray_engine_resumes_a_killed_run(poem_subset, tmp_path):
    pytest.importorskip("ray")
    kill_and_resume(poem_subset, tmp_path, ["--engine", "ray", "--workers", "2"])


def test_a_resumed_run_redoes_only_the_shards_whose_files_changed(tmp_path):
    corpus = tmp_path / "corpus" / "forms" / "sonnet"
    corpus.mkdir(parents=True)
    for i in range(30):
        (corpus / f"SonnetPoemsPoem{i:02d}PoembyAnon.txt").write_text(f"The sea is calm tonight, poem {i}.")
    out = tmp_path / "out"
    assert CliRunner().invoke(app, clean_args(corpus.parent.parent, out)).exit_code == 0
    markers = {p.name: p.stat().st_mtime_ns for p in (out / "_state" / "shards").glob("*.json")}

    changed = corpus / "SonnetPoemsPoem15PoembyAnon.txt"
    changed.write_text("Le ciel est bleu ce soir, et la mer est calme.")
    result = CliRunner().invoke(app, clean_args(corpus.parent.parent, out))
    assert result.exit_code == 0, result.output
    now = {p.name: p.stat().st_mtime_ns for p in (out / "_state" / "shards").glob("*.json")}
    assert {name for name in now if now[name] != markers[name]} == {"s00001.json"}
    rejected = read_shards(out / "rejected").filter(pl.col("row_id") == "sonnet/SonnetPoemsPoem15PoembyAnon")
    assert rejected["reject_reason"].to_list() == ["not_english"]
    assert load_manifest(out / "manifest.json")["rows_in"] == 30
