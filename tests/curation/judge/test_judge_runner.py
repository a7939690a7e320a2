import polars as pl
from conftest import fast_config, poems_frame

from curation.judge import OUTPUT_COLUMNS, JudgeStore, OpenAIJudge, PromptTemplate, score_poems
from curation.testing.chat_server import ChatServer, Reply


def test_a_rerun_reuses_the_store_and_sends_nothing(server, tmp_path):
    poems, judge, template = poems_frame(30), OpenAIJudge(fast_config(server)), PromptTemplate.default()
    with JudgeStore(tmp_path) as store:
        first = score_poems(poems, judge, store, template)
    with JudgeStore(tmp_path) as store:
        second = score_poems(poems, judge, store, template)

    assert sum(server.counts.values()) == 30
    assert (first.requested, second.requested, second.reused) == (30, 0, 30)
    assert second.frame.select(OUTPUT_COLUMNS[:5]).equals(first.frame.select(OUTPUT_COLUMNS[:5]))


def test_a_changed_poem_gets_a_new_key_and_only_it_is_sent(server, tmp_path):
    poems, judge, template = poems_frame(10), OpenAIJudge(fast_config(server)), PromptTemplate.default()
    with JudgeStore(tmp_path) as store:
        score_poems(poems, judge, store, template)
        edited = poems.with_columns(poems["text"].scatter(3, "an edited poem"))
        run = score_poems(edited, judge, store, template)

    assert run.requested == 1
    assert server.counts["an edited poem"] == 1
    assert run.frame["judge_key"].n_unique() == 10


def test_identical_poems_share_one_request_and_one_result(server, tmp_path):
    poems = poems_frame(4).with_columns(pl.Series("text", ["same words"] * 2 + ["other words"] * 2))
    with JudgeStore(tmp_path) as store:
        run = score_poems(poems, OpenAIJudge(fast_config(server)), store, PromptTemplate.default())

    assert dict(server.counts) == {"same words": 1, "other words": 1}
    assert run.frame.height == 4 and run.frame["judge_status"].to_list() == ["scored"] * 4


def test_failed_items_are_resent_only_when_asked(tmp_path):
    poems, template = poems_frame(5), PromptTemplate.default()
    flaky = poems["text"][2]
    with ChatServer(script={flaky: [Reply.error(503)] * 3 + [Reply.ok(5)]}) as server:
        judge = OpenAIJudge(fast_config(server))
        with JudgeStore(tmp_path) as store:
            assert score_poems(poems, judge, store, template).summary()["failed_by_reason"] == {"http_503": 1}
        with JudgeStore(tmp_path) as store:
            assert score_poems(poems, judge, store, template).requested == 0
        with JudgeStore(tmp_path) as store:
            run = score_poems(poems, judge, store, template, retry_failed=True)

    assert run.requested == 1 and server.counts[flaky] == 4
    assert run.frame.row(2, named=True)["aesthetic_score"] == 5
    assert run.summary()["failed"] == 0
