"""What `curate poems score` tells the user, and its exit code, when the judge fails.

0 every poem scored; 1 some failed; 2 bad input or the endpoint refused us; 3 no poem scored;
4 the endpoint is down (no answers or 5xx to many requests in a row).
"""

import json
import os
import subprocess
import sys
import time

from conftest import closed_port, poems_frame
from typer.testing import CliRunner

from curate.judge import app
from curation.testing.chat_server import ChatServer, Reply

SECRET = "sk-never-show-me-4242"


def score(poems, out, base_url: str, *options: str):
    return CliRunner().invoke(app, ["score", str(poems), "--out", str(out), "--base-url", base_url,
                                    "--model", "m", "--no-progress", "--max-retries", "0", *options],
                              env={"OPENAI_API_KEY": SECRET})


def test_a_closed_port_exits_4_with_one_line_and_keeps_the_key_secret(tmp_path):
    poems_frame(100).write_parquet(tmp_path / "poems.parquet")
    port = closed_port()
    command = [sys.executable, "-m", "curate", "poems", "score", str(tmp_path / "poems.parquet"),
               "--out", str(tmp_path / "out"), "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m"]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OPENAI_API_KEY": SECRET})
    print(f"100 poems against closed port {port}: exit {result.returncode} in "
          f"{time.perf_counter() - started:.1f} s wall")

    assert result.returncode == 4, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"error: judge endpoint http://127.0.0.1:{port}/v1 is down: ")
    assert "re-run the same command to resume" in lines[0]
    written = [p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert SECRET not in result.stdout + result.stderr + "".join(written)


def test_every_request_answered_500_exits_4_at_once(tmp_path):
    poems_frame(100).write_parquet(tmp_path / "poems.parquet")
    with ChatServer(default=Reply.error(500)) as server:
        result = score(tmp_path / "poems.parquet", tmp_path / "out", server.base_url, "--max-retries", "5")
        requests = sum(server.counts.values())

    assert result.exit_code == 4, result.output
    assert "is down: 16 requests in a row" in result.output and "HTTP 500" in result.output
    assert requests < 50


def test_no_usable_reply_at_all_exits_3(tmp_path):
    poems_frame(10).write_parquet(tmp_path / "poems.parquet")
    with ChatServer(default=Reply(content="I cannot rate poems.")) as server:
        result = score(tmp_path / "poems.parquet", tmp_path / "out", server.base_url, "--max-reasks", "0")

    summary = json.loads((tmp_path / "out" / "judge_summary.json").read_text())
    assert result.exit_code == 3, result.output
    assert summary["scored"] == 0 and summary["failed_by_reason"] == {"no_json": 10}
    assert summary["exit_code"] == 3
    assert "scored 0 of 10 poems, failed 10 (no_json 10)" in result.output
    assert "10 failed otherwise (unusable reply, HTTP 4xx): re-run with --retry-failed" in result.output


def test_a_partial_failure_exits_1_and_says_how_many_failed_and_why(tmp_path):
    poems = poems_frame(10)
    poems.write_parquet(tmp_path / "poems.parquet")
    script = {poems["text"][0]: [Reply.error(502)], poems["text"][1]: [Reply(content="four")],
              poems["text"][2]: [Reply(content="five")]}
    with ChatServer(script=script) as server:
        result = score(tmp_path / "poems.parquet", tmp_path / "out", server.base_url, "--max-reasks", "0")

    assert result.exit_code == 1, result.output
    assert "scored 7 of 10 poems, failed 3 (no_json 2, http_502 1)" in result.output
    assert "1 failed for a transient reason" in result.output
    assert "2 failed otherwise (unusable reply, HTTP 4xx): re-run with --retry-failed" in result.output


def test_a_plain_rerun_retries_the_server_errors_and_exits_0(tmp_path):
    poems = poems_frame(10)
    poems.write_parquet(tmp_path / "poems.parquet")
    script = {text: [Reply.error(503), Reply.ok()] for text in poems["text"][:4]}
    with ChatServer(script=script) as server:
        first = score(tmp_path / "poems.parquet", tmp_path / "out", server.base_url)
        again = score(tmp_path / "poems.parquet", tmp_path / "out", server.base_url)

    summary = json.loads((tmp_path / "out" / "judge_summary.json").read_text())
    assert first.exit_code == 1 and "4 failed for a transient reason" in first.output
    assert again.exit_code == 0, again.output
    assert summary["requested_this_run"] == summary["retried_failures"] == 4
    assert summary["scored"] == 10 and summary["exit_code"] == 0
