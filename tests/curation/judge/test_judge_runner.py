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


def test_a_rerun_retries_transient_failures_and_retry_failed_reasks_the_rest(tmp_path):
    poems, template = poems_frame(6), PromptTemplate.default()
    texts = poems["text"].to_list()
    script = {texts[0]: [Reply.error(503), Reply.ok(5)], texts[1]: [Reply.hang_up(), Reply.ok(4)],
              texts[2]: [Reply.dropped(), Reply.ok(3)], texts[3]: [Reply.invalid_json(), Reply.ok(2)]}
    with ChatServer(script=script) as server:
        judge = OpenAIJudge(fast_config(server, max_retries=0, max_reasks=0, timeout=0.3))
        with JudgeStore(tmp_path) as store:
            first = score_poems(poems, judge, store, template).summary()
        with JudgeStore(tmp_path) as store:
            plain = score_poems(poems, judge, store, template)
        with JudgeStore(tmp_path) as store:
            asked = score_poems(poems, judge, store, template, retry_failed=True)
        with JudgeStore(tmp_path) as store:
            last = score_poems(poems, judge, store, template)

    assert first["failed_by_reason"] == {"connection_error: ServerDisconnectedError": 1, "http_503": 1,
                                         "invalid_json": 1, "timeout": 1}
    assert (first["failed_transient"], first["failed_other"]) == (3, 1)
    assert (plain.requested, plain.summary()["retried_failures"]) == (3, 3)
    assert plain.frame["aesthetic_score"].to_list()[:3] == [5, 4, 3]
    assert plain.summary()["failed_by_reason"] == {"invalid_json": 1}
    assert asked.requested == 1 and asked.frame.row(3, named=True)["aesthetic_score"] == 2
    assert last.requested == 0 and last.summary()["scored"] == 6
    assert [server.counts[text] for text in texts] == [2, 2, 2, 2, 1, 1]
