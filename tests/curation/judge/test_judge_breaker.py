"""The judge stops when the endpoint is down, and rides out a short outage or a few bad poems."""

import pytest
from conftest import closed_port, fast_config, poems_frame

from curation.judge import JudgeStore, OpenAIConfig, OpenAIJudge, PromptTemplate, score_poems
from curation.judge.breaker import EndpointBreaker, JudgeUnavailableError
from curation.testing.chat_server import ChatServer, Reply


def test_a_closed_port_stops_the_run_before_any_poem_is_failed(tmp_path):
    port = closed_port()
    judge = OpenAIJudge(OpenAIConfig(base_url=f"http://127.0.0.1:{port}/v1", model="m"))  # default settings
    with JudgeStore(tmp_path) as store, pytest.raises(JudgeUnavailableError) as error:
        score_poems(poems_frame(100), judge, store, PromptTemplate.default())

    message = str(error.value)
    assert f"127.0.0.1:{port}" in message and "16 requests in a row" in message
    assert "ClientConnectorError" in message and "\n" not in message
    assert len(JudgeStore(tmp_path)) == 0


def test_a_server_that_drops_every_connection_stops_the_run(tmp_path):
    with ChatServer(default=Reply.dropped()) as server, JudgeStore(tmp_path) as store, \
            pytest.raises(JudgeUnavailableError, match="ServerDisconnectedError"):
        score_poems(poems_frame(40), OpenAIJudge(fast_config(server)), store, PromptTemplate.default())


def test_a_server_that_never_answers_stops_the_run_after_timeouts(tmp_path):
    with ChatServer(default=Reply.hang_up()) as server, JudgeStore(tmp_path) as store, \
            pytest.raises(JudgeUnavailableError, match=r"no reply within 0\.2 s"):
        judge = OpenAIJudge(fast_config(server, timeout=0.2, concurrency=16))
        score_poems(poems_frame(40), judge, store, PromptTemplate.default())


def test_a_server_that_answers_500_to_everything_stops_the_run(tmp_path):
    with ChatServer(default=Reply.error(500)) as server, JudgeStore(tmp_path) as store, \
            pytest.raises(JudgeUnavailableError, match="HTTP 500"):
        score_poems(poems_frame(40), OpenAIJudge(fast_config(server)), store, PromptTemplate.default())


def test_a_small_run_stops_once_nothing_has_answered_for_the_window(tmp_path):
    config = OpenAIConfig(base_url=f"http://127.0.0.1:{closed_port()}/v1", model="m", concurrency=2,
                          max_retries=50, backoff_initial=0.05, backoff_max=0.1, unanswered_window=0.3)
    with JudgeStore(tmp_path) as store, pytest.raises(JudgeUnavailableError) as error:
        score_poems(poems_frame(2), OpenAIJudge(config), store, PromptTemplate.default())

    in_a_row = int(str(error.value).split(": ")[1].split()[0])
    assert 2 <= in_a_row < 16


def test_a_short_outage_is_ridden_out(tmp_path):
    poems = poems_frame(7)  # 14 failed requests in a row, then answers
    script = {text: [Reply.dropped(), Reply.error(503), Reply.ok(3)] for text in poems["text"]}
    with ChatServer(script=script) as server, JudgeStore(tmp_path) as store:
        run = score_poems(poems, OpenAIJudge(fast_config(server, concurrency=7, max_retries=3)), store,
                          PromptTemplate.default())

    assert run.summary()["scored"] == 7
    assert set(server.counts.values()) == {3}


def test_a_few_poems_that_always_fail_never_stop_a_sequential_run(tmp_path):
    poems = poems_frame(6)
    script = {poems["text"][0]: [Reply.error(500)], poems["text"][1]: [Reply.hang_up()]}
    config = dict(concurrency=1, max_retries=5, timeout=0.3, unanswered_window=0.1)
    with ChatServer(script=script) as server, JudgeStore(tmp_path) as store:
        run = score_poems(poems, OpenAIJudge(fast_config(server, **config)), store, PromptTemplate.default())

    assert run.summary()["failed_by_reason"] == {"http_500": 1, "timeout": 1}
    assert run.summary()["scored"] == 4


def test_a_limit_of_zero_never_stops_and_fails_each_poem_instead(tmp_path):
    config = OpenAIConfig(base_url=f"http://127.0.0.1:{closed_port()}/v1", model="m", max_retries=0,
                          max_failures_in_a_row=0)
    with JudgeStore(tmp_path) as store:
        run = score_poems(poems_frame(20), OpenAIJudge(config), store, PromptTemplate.default())

    assert run.summary()["failed_by_reason"] == {"connection_error: ClientConnectorError": 20}
    assert run.summary()["failed_transient"] == 20


def test_the_breaker_counts_a_streak_that_any_answer_ends():
    breaker = EndpointBreaker("http://x/v1", limit=3, window=3600)
    breaker.no_answer("a", "refused")
    breaker.server_error("HTTP 502")
    breaker.answered()
    breaker.no_answer("a", "refused")
    breaker.no_answer("b", "refused")

    with pytest.raises(JudgeUnavailableError, match=r"3 requests in a row .* \(last: reset by peer\)"):
        breaker.no_answer("a", "reset\nby peer")


def test_the_window_needs_two_poems_without_an_answer():
    breaker = EndpointBreaker("http://x/v1", limit=100, window=0.0)
    breaker.no_answer("a", "timeout")
    breaker.no_answer("a", "timeout")
    breaker.server_error("HTTP 500")

    with pytest.raises(JudgeUnavailableError, match="4 requests in a row"):
        breaker.no_answer("b", "timeout")
