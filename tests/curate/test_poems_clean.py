"""`curate poems clean` on the inputs users bring: plain JSONL and CSV, a CSV with two text-like
columns, numbers and huge texts where poems should be, and duplicates to count."""

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate import app
from curation.writers import read_shards

REPO = Path(__file__).resolve().parents[2]
RIVER = "The quiet river bends beneath the morning light and carries every song away"
SEA = "The sea is calm tonight, the tide is full, the moon lies fair upon the straits"


def clean(*args: str) -> dict:
    result = CliRunner().invoke(app, ["poems", "clean", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def stage(summary: dict, name: str) -> dict:
    return next(s for s in summary["stages"] if s["name"] == name)


def stage_names(summary: dict) -> list[str]:
    return [s["name"] for s in summary["stages"]]


def test_a_two_line_jsonl_of_id_and_text_is_cleaned_without_a_form_tag(tmp_path):
    path = tmp_path / "poems.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in (("a", RIVER), ("b", SEA))))
    summary = clean(path, "--out", tmp_path / "out")
    assert summary["rows_kept"] == 2 and summary["balanced"]
    assert stage_names(summary) == ["read", "strip_footer", "english", "dedup"]
    assert summary["params"]["tag_forms"] is False


def test_the_readme_csv_example_with_a_poem_column(tmp_path):
    pl.DataFrame({"title": ["River", "Sea"], "poem": [RIVER, SEA]}).write_csv(tmp_path / "poems.csv")
    summary = clean(tmp_path / "poems.csv", "--text-column", "poem", "--out", tmp_path / "out")
    assert summary["rows_kept"] == 2
    kept = read_shards(tmp_path / "out" / "kept").sort("title")
    assert kept["text"].to_list() == [RIVER, SEA] and kept["poem"].to_list() == [RIVER, SEA]


def test_a_form_column_gets_the_form_tag(tmp_path):
    summary = clean(REPO / "samples" / "poems", "--out", tmp_path / "out")
    assert stage_names(summary) == ["read", "strip_footer", "english", "form_category", "dedup"]
    categories = set(read_shards(tmp_path / "out" / "kept")["form_category"])
    assert categories and categories <= {"structured", "free_verse", "unknown"}


def test_text_column_poem_beside_a_text_column_keeps_both(tmp_path):
    path = tmp_path / "poems_results.csv"
    pl.DataFrame({"image_filename": ["river.jpg"], "text": ["A photo of a river at dawn."],
                  "poem": [RIVER], "form": ["free-verse"]}).write_csv(path)
    clean(path, "--text-column", "poem", "--out", tmp_path / "out")
    kept = read_shards(tmp_path / "out" / "kept")
    assert kept.select("text", "poem", "input_text", "image_filename").row(0) == (
        RIVER, RIVER, "A photo of a river at dawn.", "river.jpg")


def test_texts_over_max_chars_are_rejected_too_long_at_read_and_counted(tmp_path):
    path = tmp_path / "poems.jsonl"
    rows = [{"id": "short", "text": RIVER}, {"id": "long", "text": RIVER * 3},
            {"id": "huge", "text": RIVER * 20_000}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    summary = clean(path, "--out", tmp_path / "out", "--max-chars", 100)
    assert stage(summary, "read")["reasons"] == {"too_long": 2}
    assert summary["params"]["max_chars"] == 100 and summary["rows_kept"] == 1
    rejected = read_shards(tmp_path / "out" / "rejected")
    assert set(rejected["reject_stage"]) == {"read"}


def test_numbers_in_the_text_are_rejected_at_read(tmp_path):
    path = tmp_path / "poems.jsonl"
    rows = [{"id": "n", "text": 1234, "form": "haiku"}, {"id": "p", "text": RIVER, "form": "ode"}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    summary = clean(path, "--out", tmp_path / "out")
    assert stage(summary, "read")["reasons"] == {"not_a_string": 1}
    assert stage(summary, "english")["rejected"] == 0


@pytest.mark.parametrize("drop", [[], ["--drop-duplicates"]])
def test_marked_duplicates_are_counted_in_the_manifest_and_the_table(tmp_path, drop):
    path = tmp_path / "poems.jsonl"
    texts = {"a": SEA, "b": SEA.upper(), "c": SEA + " and gleams", "d": RIVER}
    path.write_text("".join(json.dumps({"id": i, "text": t, "form": "ode"}) + "\n" for i, t in texts.items()))
    summary = clean(path, "--out", tmp_path / "json", *drop)
    exact = 0 if drop else 1
    assert stage(summary, "dedup")["marked"] == {"exact_duplicate": exact, "near_duplicate": 1}
    table = CliRunner().invoke(app, ["poems", "clean", str(path), "--out", str(tmp_path / "table"), *drop],
                               env={"COLUMNS": "80"})
    rejected, marked = table.output.split("dedup", 1)[1].split("marked, kept:")
    assert ("exact_duplicate: 1" in rejected) == bool(drop)
    assert ("exact_duplicate: 1" in marked) == (not drop) and "near_duplicate: 1" in marked
    assert ": 0" not in marked


def test_the_manifest_and_the_table_give_each_stage_its_seconds_and_rows_per_second(tmp_path):
    path = tmp_path / "poems.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate([SEA, RIVER] * 50)))
    summary = clean(path, "--out", tmp_path / "json")
    timings = {t["name"]: t for t in summary["timings"]}
    assert list(timings) == stage_names(summary)
    for name in ("read", "english", "dedup"):
        assert timings[name]["seconds"] > 0 and timings[name]["rows_per_s"] > 0
        if timings[name]["seconds"] >= 0.05:  # seconds are rounded to milliseconds
            assert timings[name]["rows_per_s"] == pytest.approx(100 / timings[name]["seconds"], rel=0.02)
    table = CliRunner().invoke(app, ["poems", "clean", str(path), "--out", str(tmp_path / "table")],
                               env={"COLUMNS": "160"})
    header = next(line for line in table.output.splitlines() if "stage" in line and "rejected" in line)
    assert header.split() == ["stage", "in", "kept", "rejected", "seconds", "rows/s", "reasons"]
    english = next(line for line in table.output.splitlines() if line.strip().startswith("english"))
    assert english.split()[1:4] == ["100", "100", "0"] and float(english.split()[4]) >= 0


def test_the_summary_fits_80_columns_without_cutting_a_count():
    from collections import Counter

    from rich.console import Console

    from curate.poems import summary_table
    from curation.manifest import Manifest, StageCount

    manifest = Manifest("poems clean", stages=[
        StageCount("read", 6322, 6322, 0), StageCount("form_category", 6322, 6322, 0),
        StageCount("dedup", 6322, 6322, 0, marked=Counter(exact_duplicate=212, near_duplicate=33))])
    manifest.seconds = Counter(read=0.15, form_category=0.0055, dedup=0.5)  # 1.15M rows/s: a wide cell
    console = Console(width=80, record=True)
    console.print(summary_table(manifest, Path("out")), crop=False)
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any(line.rstrip().endswith("exact_duplicate: 212") for line in lines)
    assert any("1.15M" in line for line in lines)
