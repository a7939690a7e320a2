"""The fetch index shared by worker processes: opened by many at once, and one crawl schedule for all."""

import multiprocessing
from pathlib import Path

from filters.posts.fetch_index import FetchIndex, FetchResult

PROCESSES = 6
ROUNDS = 4


def open_and_record(path: str, worker: int, start) -> None:
    start.wait()
    index = FetchIndex(Path(path))
    index.record([FetchResult(f"http://h/{worker}.jpg", reason="http_404", detail="HTTP 404")])
    index.close()


def test_several_processes_open_a_new_index_at_once(tmp_path):
    context = multiprocessing.get_context("fork")
    for round_number in range(ROUNDS):
        path = tmp_path / f"round{round_number}" / "fetch_index.sqlite"
        start = context.Barrier(PROCESSES)
        workers = [context.Process(target=open_and_record, args=(str(path), n, start))
                   for n in range(PROCESSES)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert [w.exitcode for w in workers] == [0] * PROCESSES, "a process failed to open the index"
        index = FetchIndex(path)
        assert len(index.lookup([f"http://h/{n}.jpg" for n in range(PROCESSES)])) == PROCESSES
        index.close()


def test_crawl_slots_are_shared_by_every_connection(tmp_path):
    first, second = FetchIndex(tmp_path / "i.sqlite"), FetchIndex(tmp_path / "i.sqlite")
    starts = [index.reserve("http://h", 0.5) for index in (first, second, first, second)]
    assert [round(b - a, 3) for a, b in zip(starts, starts[1:], strict=False)] == [0.5, 0.5, 0.5]
    assert second.reserve("http://other", 0.5) < starts[-1], "origins have their own schedules"
    first.close()
    second.close()
