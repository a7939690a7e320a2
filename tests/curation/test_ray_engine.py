"""The Ray engine against the local engine: the same rows, row for row, and the same counts."""

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import polars as pl
import pytest

from curation.engine import run
from curation.readers import open_reader
from curation.stage import reject_where
from curation.writers import read_shards
from filters.poems import MarkDuplicates
from filters.poems.pipeline import poem_stages

ray = pytest.importorskip("ray")
from curation.ray_engine import run_ray, stage_groups  # noqa: E402

POEM_STAGES = partial(poem_stages, {}, True, False)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@dataclass
class FakeModelScore:
    """Stands in for a model-backed stage: flagged for a GPU actor pool."""

    name: str = "model_score"
    reads: tuple[str, ...] = ("text",)
    adds: tuple[str, ...] = ("score",)
    needs_gpu: bool = True

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        batch = batch.with_columns(pl.col("text").str.len_chars().alias("score"))
        return reject_where(batch, pl.col("score") < 12, "low_score")


def rows(out: Path, part: str) -> pl.DataFrame:
    frame = read_shards(out / part)
    return frame.select(sorted(frame.columns)).sort("row_id")


def assert_same_outputs(a: Path, b: Path, manifest_a, manifest_b) -> None:
    for part in ("kept", "rejected"):
        assert rows(a, part).equals(rows(b, part)), part
    assert manifest_a.to_dict()["stages"] == manifest_b.to_dict()["stages"]
    assert manifest_a.balanced and manifest_b.balanced


def test_gpu_stages_get_their_own_group():
    stages = [MarkDuplicates(), FakeModelScore(), FakeModelScore(), MarkDuplicates()]
    assert stage_groups(stages) == [(False, [0]), (True, [1, 2]), (False, [3])]


def test_model_stage_in_an_actor_pool_and_a_global_stage_match_the_local_engine(local_ray, tmp_path):
    texts = ["a long enough line", "short", "a long enough line", "another long line", "x"] * 8
    path = tmp_path / "in.parquet"
    pl.DataFrame({"text": texts}).write_parquet(path, row_group_size=7)
    stages = [FakeModelScore(), MarkDuplicates(drop_exact=True)]
    local = run(open_reader(path), stages, tmp_path / "local", progress=False, shard_rows=10)
    on_ray = run_ray(open_reader(path), stages, tmp_path / "ray", progress=False, shard_rows=10, num_gpus=0)
    assert_same_outputs(tmp_path / "local", tmp_path / "ray", local, on_ray)
    assert on_ray.stage("dedup").reasons == {"exact_duplicate": 22}
    assert rows(tmp_path / "ray", "kept")["row_id"].to_list() == ["in.parquet:0", "in.parquet:13"]


def poem_subset(kaggle_forms: Path, root: Path, forms: int) -> Path:
    (root / "forms").mkdir(parents=True)
    for form in sorted((kaggle_forms / "forms").iterdir())[:forms]:
        (root / "forms" / form.name).symlink_to(form)
    return root


def compare_engines_on_poems(corpus: Path, tmp_path: Path, shard_rows: int) -> None:
    options = dict(progress=False, shard_rows=shard_rows)
    local = run(open_reader(corpus), POEM_STAGES, tmp_path / "local", **options)
    on_ray = run_ray(open_reader(corpus), POEM_STAGES, tmp_path / "ray", **options)
    assert_same_outputs(tmp_path / "local", tmp_path / "ray", local, on_ray)
    assert local.rows_kept < local.rows_in


def test_ray_matches_local_on_a_subset_of_the_poem_corpus(local_ray, kaggle_forms, tmp_path):
    compare_engines_on_poems(poem_subset(kaggle_forms, tmp_path / "subset", 12), tmp_path, shard_rows=150)


def test_ray_matches_local_on_the_whole_poem_corpus(local_ray, kaggle_forms, tmp_path):
    compare_engines_on_poems(kaggle_forms, tmp_path, shard_rows=1_000)
