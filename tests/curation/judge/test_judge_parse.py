import pytest

from curation.judge import parse_reply


@pytest.mark.parametrize(("reply", "score", "rationale"), [
    ('{"thinking": "Vivid.", "score": 4}', 4, "Vivid."),
    ('Rationale: vivid imagery.\nScore: 4\n```json\n{"thinking": "Vivid.", "score": 5}\n```\nThanks!',
     5, "Vivid."),
    ('{"thinking": "first", "score": 2} then a correction {"thinking": "second", "score": 3}', 3, "second"),
    ('The set {a, b} is not JSON. {"thinking": "ok {braces} inside", "score": 1}', 1, "ok {braces} inside"),
])
def test_json_is_found_inside_prose_and_fences(reply, score, rationale):
    parsed = parse_reply(reply)

    assert parsed.ok
    assert (parsed.score, parsed.rationale) == (score, rationale)


@pytest.mark.parametrize(("reply", "error"), [
    ("", "empty_reply"),
    (None, "empty_reply"),
    ("I would give this poem a four.", "no_json"),
    ('{"thinking": "Strong imagery", "score": 4', "invalid_json"),
    ('{"thinking": "No score here"}', "missing_score"),
    ('{"thinking": "Too good", "score": 7}', "score_out_of_range"),
    ('{"thinking": "Awful", "score": 0}', "score_out_of_range"),
    ('{"thinking": "Nearly", "score": 3.5}', "score_not_integer"),
    ('{"thinking": "Stringly", "score": "4"}', "score_not_integer"),
    ('{"thinking": "Boolean", "score": true}', "score_not_integer"),
    ('{"score": 4}', "thinking_not_string"),
])
def test_malformed_replies_fail_with_a_reason_never_a_default_score(reply, error):
    parsed = parse_reply(reply)

    assert not parsed.ok
    assert parsed.error == error
    assert parsed.score is None
