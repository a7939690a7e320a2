import json
import os
from dataclasses import dataclass

import polars as pl
import pytest

from curation.adapters import as_batched_map
from curation.engine import run
from curation.errors import StageError
from curation.readers import open_reader
from curation.stage import reject_where
from curation.writers import read_shards
from tests.stages import RowDropper


@dataclass
class DropShort:
    min_words: int = 3
    name: str = "drop_short"
    reads: tuple[str, ...] = ("text",)
    adds: tuple[str, ...] = ("words",)

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        batch = batch.with_columns(pl.col("text").str.split(" ").list.len().alias("words"))
        return reject_where(batch, pl.col("words") < self.min_words, "too_short")


@dataclass
class DropLetter:
    letter: str = "x"
    name: str = "drop_letter"
    reads: tuple[str, ...] = ("text",)
    adds: tuple[str, ...] = ()

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        return reject_where(batch, pl.col("text").str.contains(self.letter), f"has_{self.letter}")


def batches():
    yield pl.DataFrame({"row_id": ["a", "b", "c"], "text": ["one two three", "x y", "four five six x"]})
    yield pl.DataFrame({"row_id": ["d", "e"], "text": ["seven eight nine", "ten"]})


def test_run_routes_rejects_and_balances(tmp_path):
    manifest = run(batches(), [DropShort(), DropLetter()], tmp_path, progress=False)

    kept = read_shards(tmp_path / "kept")
    rejected = read_shards(tmp_path / "rejected")
    assert sorted(kept["row_id"]) == ["a", "d"]
    assert dict(zip(rejected["row_id"], rejected["reject_reason"], strict=True)) == {
        "b": "too_short", "e": "too_short", "c": "has_x"}
    assert set(rejected["reject_stage"]) == {"drop_short", "drop_letter"}
    assert manifest.balanced
    stages = {s["name"]: s for s in json.loads((tmp_path / "manifest.json").read_text())["stages"]}
    assert stages["drop_short"] == {"name": "drop_short", "rows_in": 5, "kept": 3, "rejected": 2,
                                    "reasons": {"too_short": 2}}
    assert stages["drop_letter"]["rows_in"] == 3


def test_missing_column_is_named_up_front(tmp_path):
    frames = [pl.DataFrame({"row_id": ["a"], "body": ["no text column"]})]
    with pytest.raises(StageError, match=r"stage 'drop_short' needs column\(s\) \['text'\]"):
        run(frames, [DropShort()], tmp_path, progress=False)


def test_a_stage_that_drops_rows_is_refused(tmp_path):
    with pytest.raises(StageError, match="never drop them"):
        run(batches(), [RowDropper()], tmp_path, progress=False)


def test_same_stage_runs_under_datasets_map():
    datasets = pytest.importorskip("datasets")
    data = datasets.Dataset.from_dict({"row_id": ["a", "b"], "text": ["one two three", "x"]})
    mapped = data.map(as_batched_map(DropShort()), batched=True)
    assert mapped["reject_reason"] == [None, "too_short"]
    assert mapped["words"] == [3, 1]


def test_workers_and_resume_give_the_rows_of_one_plain_run(tmp_path):
    texts = {0: "too short", 1: "has an x"}
    path = tmp_path / "in.parquet"
    pl.DataFrame({"row_id": [f"r{i}" for i in range(40)],
                  "text": [texts.get(i % 4, f"long enough {i}") for i in range(40)]}
                 ).write_parquet(path, row_group_size=5)
    plain = run(open_reader(path), [DropShort(), DropLetter()], tmp_path / "plain", progress=False)
    two = run(open_reader(path), [DropShort(), DropLetter()], tmp_path / "two", progress=False, workers=2,
              shard_rows=10)
    for part in ("kept", "rejected"):
        assert read_shards(tmp_path / "two" / part).sort("row_id").equals(
            read_shards(tmp_path / "plain" / part).sort("row_id"))
    assert two.to_dict()["stages"] == plain.to_dict()["stages"]

    again = run(open_reader(path), [DropShort(), DropLetter()], tmp_path / "two", progress=False, workers=2,
                shard_rows=10, resume=True)
    assert again.to_dict()["stages"] == plain.to_dict()["stages"]
    changed = run(open_reader(path), [DropShort(min_words=1)], tmp_path / "two", progress=False,
                  shard_rows=10, resume=True)
    assert changed.rows_kept == 40 and read_shards(tmp_path / "two" / "kept").height == 40


def test_a_global_stage_before_a_map_stage_is_refused_for_stage_lists_and_factories(tmp_path):
    from filters.poems import MarkDuplicates

    with pytest.raises(ValueError, match="global stages"):
        run(batches(), [MarkDuplicates(), DropShort()], tmp_path / "list", progress=False)
    with pytest.raises(ValueError, match="global stages"):
        run(batches(), lambda: [MarkDuplicates(), DropShort()], tmp_path / "factory", progress=False)


@dataclass
class CountsSetups:
    """A stage with a per-worker `setup`: it records the worker's process id in a file."""

    log: str = ""
    name: str = "counts_setups"
    reads: tuple[str, ...] = ()
    adds: tuple[str, ...] = ("set_up_in",)
    ready: bool = False

    def setup(self) -> None:
        self.ready = True
        with open(self.log, "a") as handle:
            handle.write(f"{os.getpid()}\n")

    def __call__(self, batch):
        assert self.ready, "setup() runs before the first shard"
        return batch.with_columns(pl.lit(os.getpid()).alias("set_up_in"))


def test_each_worker_sets_its_stages_up_once_before_its_shards(tmp_path):
    path = tmp_path / "in.parquet"
    pl.DataFrame({"text": [f"line {i}" for i in range(40)]}).write_parquet(path, row_group_size=5)
    log = tmp_path / "setups.txt"
    log.touch()
    run(open_reader(path), [CountsSetups(str(log))], tmp_path / "out", progress=False, workers=2,
        shard_rows=5)

    setups = log.read_text().split()
    assert len(setups) == len(set(setups)) == 2  # eight shards, two workers, one setup each
    assert set(read_shards(tmp_path / "out" / "kept")["set_up_in"].cast(str)) <= set(setups)
