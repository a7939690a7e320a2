"""One answer on every engine: local with 1 worker, local with 2 workers and other shards, and Ray give
the same kept and rejected rows, row for row, and the same manifest but for its timings."""

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import polars as pl
import pytest

from curation.engine import run
from curation.manifest import without_timings
from curation.readers import open_reader
from curation.resources import Resources
from curation.stage import reject_where
from filters.poems import MarkDuplicates
from filters.poems.pipeline import poem_stages
from tests.outputs import rows

ray = pytest.importorskip("ray")
from curation.ray_engine import WorkerResources, run_ray, stage_resources  # noqa: E402

POEM_STAGES = partial(poem_stages, {}, True, False)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@dataclass
class FakeModelScore:
    """Stands in for a model-backed stage: it declares that it needs a GPU."""

    name: str = "model_score"
    reads: tuple[str, ...] = ("text",)
    adds: tuple[str, ...] = ("score",)
    needs_gpu: bool = True

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        batch = batch.with_columns(pl.col("text").str.len_chars().alias("score"))
        return reject_where(batch, pl.col("score") < 12, "low_score")


def assert_same_outputs(a: Path, b: Path, manifest_a, manifest_b, same_shards: bool = True) -> None:
    """The same rows and the same manifest but for timings (and output file names, which name the
    shards, when the runs were sharded differently)."""
    for part in ("kept", "rejected"):
        assert rows(a, part).equals(rows(b, part)), part
    ignore = () if same_shards else ("outputs",)
    assert ({k: v for k, v in without_timings(manifest_a.to_dict()).items() if k not in ignore}
            == {k: v for k, v in without_timings(manifest_b.to_dict()).items() if k not in ignore})
    assert manifest_a.balanced and manifest_b.balanced


@dataclass
class BigModelScore(FakeModelScore):
    """Declares its resources in full: 2 CPUs, half a GPU, 3 GiB."""

    name: str = "big_model_score"
    resources: Resources = Resources(cpus=2, gpus=0.5, memory_mb=3_072)


def test_workers_ask_for_what_their_stages_declare_and_a_gpu_only_when_a_stage_needs_one():
    gpu_cluster, cpu_cluster = {"CPU": 16.0, "GPU": 2.0}, {"CPU": 3.0}
    assert stage_resources([MarkDuplicates()], gpu_cluster, None, None) == WorkerResources(16, 1.0, 0.0)
    assert stage_resources([FakeModelScore()], gpu_cluster, None, None) == WorkerResources(2, 1.0, 1.0)
    assert stage_resources([FakeModelScore()], gpu_cluster, None, 0.5) == WorkerResources(4, 1.0, 0.5)
    assert stage_resources([FakeModelScore()], cpu_cluster, None, None) == WorkerResources(3, 1.0, 0.0)
    assert stage_resources([FakeModelScore()], cpu_cluster, 5, None).workers == 5
    both = [MarkDuplicates(), FakeModelScore(), BigModelScore()]
    assert stage_resources(both, gpu_cluster, None, None) == WorkerResources(2, 2, 1.0, 3_072)
    assert stage_resources(both[2:], gpu_cluster, None, None) == WorkerResources(4, 2, 0.5, 3_072)
    assert stage_resources(both, cpu_cluster, None, None) == WorkerResources(1, 2, 0.0, 3_072)


def test_model_stage_in_an_actor_pool_and_a_global_stage_match_the_local_engine(local_ray, tmp_path):
    texts = ["a long enough line", "short", "a long enough line", "another long line", "x"] * 8
    path = tmp_path / "in.parquet"
    pl.DataFrame({"text": texts}).write_parquet(path, row_group_size=7)
    stages = [FakeModelScore(), MarkDuplicates(drop_exact=True)]
    local = run(open_reader(path), stages, tmp_path / "local", progress=False, shard_rows=10)
    on_ray = run_ray(open_reader(path), stages, tmp_path / "ray", progress=False, shard_rows=10,
                     gpus_per_worker=0)
    assert_same_outputs(tmp_path / "local", tmp_path / "ray", local, on_ray)
    assert on_ray.stage("dedup").reasons == {"exact_duplicate": 22}
    assert rows(tmp_path / "ray", "kept")["row_id"].to_list() == ["in.parquet:0", "in.parquet:13"]


def poem_subset(kaggle_forms: Path, root: Path, forms: int) -> Path:
    (root / "forms").mkdir(parents=True)
    for form in sorted((kaggle_forms / "forms").iterdir())[:forms]:
        (root / "forms" / form.name).symlink_to(form)
    return root


def test_the_rows_counts_and_input_hash_do_not_depend_on_the_sharding_either(local_ray, kaggle_forms,
                                                                              tmp_path):
    corpus = poem_subset(kaggle_forms, tmp_path / "subset", 12)
    local = run(open_reader(corpus), POEM_STAGES, tmp_path / "local", progress=False, shard_rows=1_000)
    two = run(open_reader(corpus), POEM_STAGES, tmp_path / "two", progress=False, shard_rows=50, workers=2)
    on_ray = run_ray(open_reader(corpus), POEM_STAGES, tmp_path / "ray", progress=False, shard_rows=150)

    assert_same_outputs(tmp_path / "local", tmp_path / "two", local, two, same_shards=False)
    assert_same_outputs(tmp_path / "local", tmp_path / "ray", local, on_ray, same_shards=False)
    assert local.inputs == [open_reader(corpus).describe()] and "sha256" in local.inputs[0]
    assert 0 < local.rows_kept < local.rows_in
    assert {t["name"] for t in on_ray.timings() if t["seconds"] > 0} == {s.name for s in on_ray.stages}


def test_local_1_local_2_and_ray_give_one_answer_on_the_whole_poem_corpus(local_ray, kaggle_forms, tmp_path):
    local = run(open_reader(kaggle_forms), POEM_STAGES, tmp_path / "local", progress=False)
    two = run(open_reader(kaggle_forms), POEM_STAGES, tmp_path / "two", progress=False, workers=2)
    on_ray = run_ray(open_reader(kaggle_forms), POEM_STAGES, tmp_path / "ray", progress=False)
    assert_same_outputs(tmp_path / "local", tmp_path / "two", local, two)
    assert_same_outputs(tmp_path / "local", tmp_path / "ray", local, on_ray)
    assert local.rows_in == 6_322 and local.inputs[0]["files"] == 6_322
