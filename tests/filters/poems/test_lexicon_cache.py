"""The word-list cache is built once per machine, possibly by several worker processes at once."""

import functools
import multiprocessing
from pathlib import Path

import polars as pl

from filters.poems.lexicon import cached_parquet

WORKERS = 4


def table_when_all_are_building(barrier) -> pl.DataFrame:
    barrier.wait(timeout=60)  # every worker has found no cache and is building
    return pl.DataFrame({"word": ["the", "rose"], "zipf": [7.7, 4.6]})


def build_in_a_worker(path: str, barrier, results) -> None:
    results.put(cached_parquet(Path(path), functools.partial(table_when_all_are_building, barrier)).height)


def test_workers_building_the_same_table_at_once_all_get_it(tmp_path):
    path = tmp_path / "wordfreq-en.parquet"
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(WORKERS), context.Queue()
    workers = [context.Process(target=build_in_a_worker, args=(str(path), barrier, results))
               for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert [worker.exitcode for worker in workers] == [0] * WORKERS
    assert sorted(results.get(timeout=5) for _ in range(WORKERS)) == [2] * WORKERS
    assert pl.read_parquet(path)["word"].to_list() == ["the", "rose"]
    assert list(tmp_path.glob("*.tmp")) == []
