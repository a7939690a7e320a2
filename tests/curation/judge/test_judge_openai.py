import email.utils
import logging
import time

import polars as pl
import pytest
from conftest import fast_config, poems_frame

from curation.judge import JudgeEndpointError, JudgeStore, OpenAIJudge, PromptTemplate, score_poems
from curation.judge.openai_backend import retry_after_seconds
from curation.testing.chat_server import ChatServer, Reply, expected_score

BEHAVIOURS = {  # poem index -> (scripted replies, expected status, expected score or failure reason)
    0: ([Reply.ok(4, latency=0.3)], "scored", 4),
    1: ([Reply.rate_limited(0.25), Reply.ok(5)], "scored", 5),
    2: ([Reply.error(500), Reply.ok(2)], "scored", 2),
    3: ([Reply.error(500)], "failed", "http_500"),
    4: ([Reply.rate_limited(0.01)], "failed", "http_429"),
    5: ([Reply.hang_up()], "failed", "timeout"),
    6: ([Reply.hang_up(), Reply.ok(3)], "scored", 3),
    7: ([Reply.prose(2)], "scored", 2),
    8: ([Reply.invalid_json()], "failed", "invalid_json"),
    9: ([Reply.out_of_range(7)], "failed", "score_out_of_range"),
    10: ([Reply.invalid_json(), Reply.ok(1)], "scored", 1),
    11: ([Reply(content="I would say four out of five.")], "failed", "no_json"),
    12: ([Reply.error(400)], "failed", "http_400"),
}


def judge_with(server: ChatServer, **options) -> OpenAIJudge:
    return OpenAIJudge(fast_config(server, **options))


def test_every_poem_ends_scored_or_failed_with_a_reason(tmp_path):
    poems = poems_frame(60)
    texts = poems["text"].to_list()
    script = {texts[i]: replies for i, (replies, _, _) in BEHAVIOURS.items()}
    with ChatServer(latency=0.01, script=script) as server, JudgeStore(tmp_path) as store:
        run = score_poems(poems, judge_with(server, timeout=0.5), store, PromptTemplate.default())
        counts = server.counts

    out = run.frame
    assert out.height == 60 and out["row_id"].n_unique() == 60
    assert out["row_id"].to_list() == poems["row_id"].to_list()
    for i, (_, status, expected) in BEHAVIOURS.items():
        row = out.row(i, named=True)
        assert row["judge_status"] == status, (i, row)
        assert (row["aesthetic_score"] if status == "scored" else row["judge_failure_reason"]) == expected
    plain = out.filter(~pl.col("row_id").is_in([f"r{i}" for i in BEHAVIOURS]))
    assert plain["judge_status"].unique().to_list() == ["scored"]
    assert plain["aesthetic_score"].to_list() == [expected_score(t) for t in plain["text"]]
    assert out.filter(pl.col("judge_status") == "failed")["judge_failure_reason"].null_count() == 0
    assert set(out["judge_model"]) == {"test-judge"}
    assert out.row(8, named=True)["judge_raw_reply"] == '{"thinking": "Strong imagery", "score": 4'
    assert counts[texts[3]] == 3 and counts[texts[5]] == 3     # 1 try + max_retries=2
    assert counts[texts[8]] == 2 and counts[texts[12]] == 1    # 1 ask + max_reasks=1; a 400 is not retried
    assert run.summary()["failed_by_reason"] == {"http_400": 1, "http_429": 1, "http_500": 1,
                                                 "invalid_json": 1, "no_json": 1, "score_out_of_range": 1,
                                                 "timeout": 1}


def test_retry_after_is_honoured(tmp_path):
    poems = poems_frame(1)
    poem = poems["text"][0]
    script = {poem: [Reply.rate_limited(0.4), Reply.ok(3)]}
    with ChatServer(script=script) as server, JudgeStore(tmp_path) as store:
        score_poems(poems, judge_with(server), store, PromptTemplate.default())
        first, second = server.arrivals(poem)

    assert second - first >= 0.4


def test_a_reask_continues_the_conversation(tmp_path):
    poems = poems_frame(1)
    with ChatServer(script={poems["text"][0]: [Reply.invalid_json(), Reply.ok(4)]}) as server, \
            JudgeStore(tmp_path) as store:
        run = score_poems(poems, judge_with(server), store, PromptTemplate.default())

    assert run.frame.row(0, named=True)["aesthetic_score"] == 4
    assert run.frame.row(0, named=True)["judge_attempts"] == 2


def test_the_api_key_is_sent_but_never_logged_or_written(tmp_path, caplog):
    poems = poems_frame(5)
    caplog.set_level(logging.DEBUG)
    script = {poems["text"][0]: [Reply.rate_limited(0.01), Reply.ok()],
              poems["text"][1]: [Reply.invalid_json()]}
    with ChatServer(script=script) as server, JudgeStore(tmp_path / "store") as store:
        judge = judge_with(server, api_key="sk-very-secret-777")
        run = score_poems(poems, judge, store, PromptTemplate.default())
        authorizations = server.authorizations

    assert authorizations == {"Bearer sk-very-secret-777"}
    assert "sk-very-secret-777" not in caplog.text
    assert "sk-very-secret-777" not in repr(judge.config)
    assert "sk-very-secret-777" not in str(run.frame.rows())
    assert all("sk-very-secret-777" not in p.read_text() for p in (tmp_path / "store").iterdir())


def test_a_rejected_key_stops_the_run_with_one_clear_error(tmp_path):
    with ChatServer(api_key="the-right-key") as server, JudgeStore(tmp_path) as store, \
            pytest.raises(JudgeEndpointError, match="HTTP 401") as error:
        judge = judge_with(server, api_key="a-wrong-key")
        score_poems(poems_frame(20), judge, store, PromptTemplate.default())

    assert "a-wrong-key" not in str(error.value)


def test_retry_after_accepts_seconds_and_http_dates():
    in_ten_seconds = email.utils.formatdate(time.time() + 10, usegmt=True)

    assert retry_after_seconds("2.5") == 2.5
    assert 8 <= retry_after_seconds(in_ten_seconds) <= 10
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
