"""The judge stops when the endpoint gives no response at all, and rides out a short outage."""

import pytest
from conftest import closed_port, fast_config, poems_frame

from curation.judge import JudgeStore, OpenAIConfig, OpenAIJudge, PromptTemplate, score_poems
from curation.judge.breaker import ConnectionBreaker, JudgeUnreachableError
from curation.testing.chat_server import ChatServer, Reply


def test_a_closed_port_stops_the_run_before_any_poem_is_failed(tmp_path):
    port = closed_port()
    judge = OpenAIJudge(OpenAIConfig(base_url=f"http://127.0.0.1:{port}/v1", model="m"))  # default settings
    with JudgeStore(tmp_path) as store, pytest.raises(JudgeUnreachableError) as error:
        score_poems(poems_frame(100), judge, store, PromptTemplate.default())

    message = str(error.value)
    assert f"127.0.0.1:{port}" in message and "16 requests in a row" in message
    assert "ClientConnectorError" in message and "\n" not in message
    assert len(JudgeStore(tmp_path)) == 0


def test_a_server_that_drops_every_connection_stops_the_run(tmp_path):
    with ChatServer(default=Reply.dropped()) as server, JudgeStore(tmp_path) as store, \
            pytest.raises(JudgeUnreachableError, match="ServerDisconnectedError"):
        score_poems(poems_frame(40), OpenAIJudge(fast_config(server)), store, PromptTemplate.default())


def test_a_server_that_never_answers_stops_the_run_after_timeouts(tmp_path):
    with ChatServer(default=Reply.hang_up()) as server, JudgeStore(tmp_path) as store, \
            pytest.raises(JudgeUnreachableError, match=r"no reply within 0\.2 s"):
        judge = OpenAIJudge(fast_config(server, timeout=0.2, concurrency=16))
        score_poems(poems_frame(40), judge, store, PromptTemplate.default())


def test_a_small_run_stops_once_nothing_has_answered_for_the_window(tmp_path):
    config = OpenAIConfig(base_url=f"http://127.0.0.1:{closed_port()}/v1", model="m", concurrency=1,
                          max_retries=50, backoff_initial=0.05, backoff_max=0.1, unreachable_window=0.3)
    with JudgeStore(tmp_path) as store, pytest.raises(JudgeUnreachableError) as error:
        score_poems(poems_frame(2), OpenAIJudge(config), store, PromptTemplate.default())

    in_a_row = int(str(error.value).split(": ")[1].split()[0])
    assert 2 <= in_a_row < 16


def test_a_short_outage_is_ridden_out(tmp_path):
    poems = poems_frame(8)
    script = {text: [Reply.dropped(), Reply.ok(3)] for text in poems["text"]}
    with ChatServer(script=script) as server, JudgeStore(tmp_path) as store:
        run = score_poems(poems, OpenAIJudge(fast_config(server, concurrency=8)), store,
                          PromptTemplate.default())

    assert run.summary()["scored"] == 8
    assert set(server.counts.values()) == {2}


def test_http_errors_are_answers_and_never_stop_the_run(tmp_path):
    with ChatServer(default=Reply.error(500)) as server, JudgeStore(tmp_path) as store:
        run = score_poems(poems_frame(40), OpenAIJudge(fast_config(server, max_retries=0)), store,
                          PromptTemplate.default())

    assert run.summary()["failed_by_reason"] == {"http_500": 40}


def test_a_limit_of_zero_never_stops_and_fails_each_poem_instead(tmp_path):
    config = OpenAIConfig(base_url=f"http://127.0.0.1:{closed_port()}/v1", model="m", max_retries=0,
                          max_connection_failures=0)
    with JudgeStore(tmp_path) as store:
        run = score_poems(poems_frame(20), OpenAIJudge(config), store, PromptTemplate.default())

    assert run.summary()["failed_by_reason"] == {"connection_error: ClientConnectorError": 20}
    assert run.summary()["failed_transient"] == 20


def test_the_breaker_counts_a_streak_that_any_response_ends():
    breaker = ConnectionBreaker("http://x/v1", limit=3, window=3600)
    breaker.no_response("refused")
    breaker.no_response("refused")
    breaker.responded()
    breaker.no_response("refused")
    breaker.no_response("refused")

    with pytest.raises(JudgeUnreachableError, match=r"3 requests in a row .* \(last: reset by peer\)"):
        breaker.no_response("reset\nby peer")
