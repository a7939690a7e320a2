"""The adapters give a batch what the engine gives it: upstream rejects skipped, `reject_stage` set,
output checked, order kept, and global stages refused; under datasets, Ray Data and datatrove."""

import json
from dataclasses import dataclass, field

import polars as pl
import pytest

from curation.adapters import RayStages, as_batched_map, run_batch
from curation.errors import StageError
from curation.stage import reject_where
from filters.poems import MarkDuplicates
from tests.stages import RowDropper


@dataclass
class CountWords:
    name: str = "count_words"
    reads: tuple[str, ...] = ("text",)
    adds: tuple[str, ...] = ("words",)
    seen: list[str] = field(default_factory=list)

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        self.seen += batch["row_id"].to_list()
        batch = batch.with_columns(pl.col("text").str.split(" ").list.len().alias("words"))
        return reject_where(batch, pl.col("words") < 3, "too_short", pl.format("{} words", "words"))


@dataclass
class NoX:
    name: str = "no_x"
    reads: tuple[str, ...] = ("text",)
    adds: tuple[str, ...] = ("has_x",)

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        batch = batch.with_columns(pl.col("text").str.contains("x").alias("has_x"))
        return reject_where(batch, pl.col("has_x"), "has_x")


ROWS = {"row_id": ["a", "b", "c", "d", "e"],
        "text": ["one two three", "x y", "four five six x", "seven eight nine", "ten"],
        "reject_reason": [None, None, None, None, "bad_json"]}


def test_a_batch_goes_through_as_in_the_engine():
    counter = CountWords()
    out = run_batch([counter, NoX()], pl.DataFrame(ROWS))
    assert out["row_id"].to_list() == ["a", "b", "c", "d", "e"]  # order kept
    assert out["reject_reason"].to_list() == [None, "too_short", "has_x", None, "bad_json"]
    assert out["reject_stage"].to_list() == [None, "count_words", "no_x", None, "read"]
    assert out["reject_detail"].to_list()[1] == "2 words"
    assert counter.seen == ["a", "b", "c", "d"]  # the row rejected upstream never reached a stage


def test_a_stage_that_no_row_reaches_still_has_its_columns():
    out = run_batch([CountWords(), NoX()], pl.DataFrame({"row_id": ["a"], "text": ["short"]}))
    assert out["has_x"].to_list() == [None] and out.schema["has_x"] == pl.Boolean


def test_output_is_checked_and_global_stages_are_refused():
    with pytest.raises(StageError, match="never drop them"):
        run_batch([RowDropper()], pl.DataFrame(ROWS))
    with pytest.raises(StageError, match="stage 'dedup' needs every row at once"):
        as_batched_map([CountWords(), MarkDuplicates()])
    with pytest.raises(StageError, match="global stage"):
        RayStages(lambda: [MarkDuplicates()])


def test_datasets_map_chains_and_keeps_earlier_stages():
    datasets = pytest.importorskip("datasets")
    data = datasets.Dataset.from_dict(ROWS)
    first = data.map(as_batched_map(CountWords()), batched=True, batch_size=2)
    both = first.map(as_batched_map(NoX()), batched=True, batch_size=2)
    assert both["reject_stage"] == [None, "count_words", "no_x", None, "read"]
    assert both["words"] == [3, 2, 4, 3, None]
    assert both.filter(lambda row: row["reject_reason"] is None)["row_id"] == ["a", "d"]


def test_datasets_map_when_a_whole_batch_is_rejected_first():
    datasets = pytest.importorskip("datasets")
    data = datasets.Dataset.from_dict({"row_id": ["a", "b", "c", "d"],
                                       "text": ["x", "y", "a b c", "d e f x"]})
    out = data.map(as_batched_map([CountWords(), NoX()]), batched=True, batch_size=2)
    assert out["has_x"] == [None, None, False, True]
    assert out["reject_stage"] == ["count_words", "count_words", None, "no_x"]


def test_ray_data_map_batches_in_actors():
    ray = pytest.importorskip("ray")
    # a fresh local instance even when a `ray start` cluster runs on this machine
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        data = ray.data.from_arrow(pl.DataFrame(ROWS).to_arrow())
        out = data.map_batches(RayStages, fn_constructor_args=([CountWords(), NoX()],),
                               batch_format="pyarrow", batch_size=2,
                               compute=ray.data.ActorPoolStrategy(size=1))
        frame = pl.concat([pl.from_arrow(t) for t in ray.get(out.to_arrow_refs())], how="diagonal_relaxed")
    finally:
        ray.shutdown()
    by_id = dict(zip(frame["row_id"], frame["reject_stage"], strict=True))
    assert by_id == {"a": None, "b": "count_words", "c": "no_x", "d": None, "e": "read"}


def test_datatrove_pipeline_keeps_and_excludes(tmp_path):
    pytest.importorskip("datatrove")
    from datatrove.data import Document
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.writers import JsonlWriter

    from curation.datatrove_step import StagesFilter

    docs = [Document(text=text, id=row_id, metadata={"source": "test"})
            for row_id, text in zip(ROWS["row_id"], ROWS["text"], strict=True)]
    kept_docs: list[Document] = []

    def collect(data, rank=0, world_size=1):
        for doc in data:
            kept_docs.append(doc)
            yield doc

    step = StagesFilter([CountWords(), NoX()], exclusion_writer=JsonlWriter(str(tmp_path / "excluded"),
                                                                            compression=None),
                        batch_size=2)
    LocalPipelineExecutor([docs, step, collect], logging_dir=str(tmp_path / "logs"), tasks=1).run()

    assert [d.id for d in kept_docs] == ["a", "d"]
    assert kept_docs[0].metadata["words"] == 3 and kept_docs[0].metadata["source"] == "test"
    excluded = pl.read_ndjson(next((tmp_path / "excluded").glob("*.jsonl")))
    reasons = {row["id"]: (row["metadata"]["reject_stage"], row["metadata"]["reject_reason"])
               for row in excluded.iter_rows(named=True)}
    assert reasons == {"b": ("count_words", "too_short"), "c": ("no_x", "has_x"),
                       "e": ("count_words", "too_short")}
    stats = json.loads((tmp_path / "logs" / "stats.json").read_text())[0]["stats"]
    assert (stats["forwarded"], stats["dropped_too_short"], stats["dropped_has_x"]) == (2, 2, 1)
