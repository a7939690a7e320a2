from curation.judge import FAILED, SCORED, Judgement, JudgeStore, judge_key


def scored(key: str, score: int = 3) -> Judgement:
    return Judgement(key=key, status=SCORED, score=score, rationale="fine")


def test_results_survive_reopening_and_each_run_writes_a_new_segment(tmp_path):
    with JudgeStore(tmp_path) as store:
        store.append(scored("a"))
        store.append(Judgement.failed("b", "no_json", raw_reply="four"))

    with JudgeStore(tmp_path) as store:
        assert "a" in store and "b" in store and "c" not in store
        assert store.is_failed("b") and not store.is_failed("a")
        store.append(scored("c", 5))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["segment-00000.jsonl", "segment-00001.jsonl"]
    frame = JudgeStore(tmp_path).frame().sort("key")
    assert frame["key"].to_list() == ["a", "b", "c"]
    assert frame["score"].to_list() == [3, None, 5]
    assert frame["raw_reply"].to_list() == [None, "four", None]


def test_the_store_knows_why_the_latest_judgement_of_a_key_failed(tmp_path):
    with JudgeStore(tmp_path) as store:
        store.append(Judgement.failed("a", "http_500"))
        store.append(Judgement.failed("b", "timeout"))
        store.append(scored("b"))

    store = JudgeStore(tmp_path)

    assert store.failure_reason("a") == "http_500"
    assert store.failure_reason("b") is None and store.failure_reason("c") is None


def test_a_torn_last_line_is_skipped_and_that_key_counts_as_missing(tmp_path):
    with JudgeStore(tmp_path) as store:
        store.append(scored("a"))
        store.append(scored("b"))
    segment = tmp_path / "segment-00000.jsonl"
    segment.write_bytes(segment.read_bytes()[:-15])

    store = JudgeStore(tmp_path)

    assert "a" in store and "b" not in store
    assert store.frame()["key"].to_list() == ["a"]


def test_the_latest_record_of_a_key_wins(tmp_path):
    with JudgeStore(tmp_path) as store:
        store.append(Judgement.failed("a", "http_500"))
    with JudgeStore(tmp_path) as store:
        store.append(scored("a", 4))

    frame = JudgeStore(tmp_path).frame()

    assert frame.height == 1
    assert frame.row(0, named=True)["status"] == SCORED != FAILED


def test_key_changes_with_poem_template_or_model():
    base = judge_key("a poem", "sha1", "gpt-4o")

    assert base == judge_key("a poem", "sha1", "gpt-4o")
    assert len({base, judge_key("a poem!", "sha1", "gpt-4o"), judge_key("a poem", "sha2", "gpt-4o"),
                judge_key("a poem", "sha1", "llama")}) == 4
