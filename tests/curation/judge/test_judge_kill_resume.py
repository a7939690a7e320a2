"""kill -9 in the middle of scoring 2,000 poems, then the same command again."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
from conftest import poems_frame

from curation.judge import JudgeStore, PromptTemplate, judge_key
from curation.testing.chat_server import ChatServer

POEMS = 2000


def score_command(poems: Path, out: Path, server: ChatServer) -> list[str]:
    return [sys.executable, "-c", "from curate.judge import app; app()", "score", str(poems),
            "--out", str(out), "--base-url", server.base_url, "--model", "m", "--concurrency", "16",
            "--no-progress"]


def stored_lines(store: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in store.glob("segment-*.jsonl"))


def test_kill_9_then_rerun_scores_only_the_missing_poems(tmp_path):
    poems = poems_frame(POEMS)
    poems.write_parquet(tmp_path / "kept.parquet")
    out, store_dir = tmp_path / "out", tmp_path / "out" / "judge_store"
    with ChatServer(latency=0.02) as server:
        victim = subprocess.Popen(score_command(tmp_path / "kept.parquet", out, server))
        deadline = time.monotonic() + 60
        while stored_lines(store_dir) < 300 and victim.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        assert victim.returncode == -signal.SIGKILL
        before = server.counts
        survived = JudgeStore(store_dir)
        rerun = subprocess.run(score_command(tmp_path / "kept.parquet", out, server), capture_output=True,
                               text=True)
        after = server.counts

    assert rerun.returncode == 0, rerun.stderr
    sha = PromptTemplate.default().sha
    missing = {text for text in poems["text"] if judge_key(text, sha, "m") not in survived}
    rerun_requests = after - before
    print(f"killed with {len(survived)} of {POEMS} stored ({sum(before.values())} requests sent); "
          f"the re-run sent {sum(rerun_requests.values())} requests for {len(missing)} missing poems")
    assert 0 < len(survived) < POEMS
    assert set(rerun_requests) == missing
    assert set(rerun_requests.values()) == {1}
    scored = pl.read_parquet(out / "scored" / "*.parquet")
    assert scored.height == POEMS and scored["row_id"].n_unique() == POEMS
    assert scored["judge_status"].unique().to_list() == ["scored"]
    assert JudgeStore(store_dir).frame().height == POEMS
    assert stored_lines(store_dir) == POEMS
