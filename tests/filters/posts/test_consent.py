"""The opt-out signals read from headers, tdmrep.json rules and C2PA manifest stores, as pure functions."""

import pytest

from filters.posts.c2pa_consent import training_refusal
from filters.posts.consent import (
    DEFAULT_DIRECTIVES,
    ConsentPolicy,
    robots_rule,
    tdm_header_refusal,
    tdmrep_rule,
    x_robots_refusal,
)

TOKEN = ConsentPolicy().token


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        (["noai"], "noai"),
        (["noindex, nofollow"], "noindex"),
        (["NoImageAI"], "noimageai"),
        (["noml"], "noml"),
        (["none"], "none"),
        (["nofollow", "noarchive"], None),
        (["otherbot: noai"], None),
        (["aesthetic-curation: noai"], "noai"),
        (["unavailable_after: 2030-01-01"], None),
        ([], None),
    ],
)
def test_x_robots_tag_directives(values, refused):
    evidence = x_robots_refusal(values, DEFAULT_DIRECTIVES, TOKEN)
    assert (evidence is None) == (refused is None)
    if refused:
        assert evidence.startswith("X-Robots-Tag: ") and evidence.endswith(f"({refused})")


def test_the_refusing_directives_are_configurable():
    assert x_robots_refusal(["noindex"], ("noai",), TOKEN) is None
    assert x_robots_refusal(["noai"], ("noai",), TOKEN) == "X-Robots-Tag: noai (noai)"


def test_the_user_agent_token_is_its_product_name():
    assert ConsentPolicy(user_agent="MyCrawler/2.0 (+https://x.org)").token == "mycrawler"


def test_tdm_reservation_header():
    assert tdm_header_refusal("1") == "tdm-reservation: 1"
    assert tdm_header_refusal(" 0 ") is None and tdm_header_refusal(None) is None


def test_the_first_matching_tdmrep_rule_decides():
    rules = [
        {"location": "/public/*", "tdm-reservation": 0},
        {"location": "/*.jpg$", "tdm-reservation": 1, "tdm-policy": "https://example.org/policy"},
        {"location": "/art/", "tdm-reservation": 1},
    ]
    assert tdmrep_rule(rules, "/public/a.jpg")["tdm-reservation"] == 0
    assert tdmrep_rule(rules, "/media/b.jpg")["tdm-policy"] == "https://example.org/policy"
    assert tdmrep_rule(rules, "/media/b.jpg?size=large") is None, "`$` anchors the end"
    assert tdmrep_rule(rules, "/art/c.png")["location"] == "/art/"
    assert tdmrep_rule(rules, "/other.png") is None


def test_the_robots_rule_that_refuses_is_named():
    text = "User-agent: *\nDisallow: /private/ # staff only\nDisallow: /*.png$\n"
    assert robots_rule(text, "http://h/private/a.jpg", TOKEN) == "Disallow: /private/"
    assert robots_rule(text, "http://h/b.png", TOKEN) == "Disallow: /*.png$"


def manifest_store(entries: dict, label: str = "c2pa.training-mining") -> dict:
    assertions = [{"label": "c2pa.actions.v2", "data": {"actions": []}},
                  {"label": label, "data": {"entries": {k: {"use": v} for k, v in entries.items()}}}]
    return {"active_manifest": "urn:a", "manifests": {
        "urn:a": {"assertions": assertions, "signature_info": {"issuer": "Example Camera Co"}}}}


def test_c2pa_training_and_mining_assertions():
    refused = training_refusal(manifest_store({"c2pa.ai_training": "notAllowed"}))
    assert refused == ("c2pa.training-mining c2pa.ai_training: notAllowed "
                       "(manifest urn:a, signed by Example Camera Co)")
    assert training_refusal(manifest_store({"cawg.data_mining": "notAllowed"}, "cawg.training-mining"))
    assert training_refusal(manifest_store({"c2pa.ai_inference": "notAllowed"})) is None
    assert training_refusal(manifest_store({"c2pa.ai_training": "allowed",
                                            "c2pa.data_mining": "constrained"})) is None
    assert training_refusal({"manifests": {}}) is None
