from curation.judge.result import is_transient


def test_transient_failures_are_the_ones_a_rerun_retries():
    transient = ["timeout", "connection_error: ClientConnectorError", "http_408", "http_429", "http_500",
                 "http_503", "http_599"]
    lasting = ["no_json", "invalid_json", "score_out_of_range", "http_400", "http_404", "bad_response",
               "missing_result", "http_5000", None]

    assert all(is_transient(reason) for reason in transient)
    assert not any(is_transient(reason) for reason in lasting)
