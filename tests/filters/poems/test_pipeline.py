from curation.resources import set_up
from filters.poems.pipeline import has_forms, poem_stages


def test_the_form_tag_runs_only_for_inputs_with_a_form_column():
    assert [s.name for s in poem_stages()] == ["strip_footer", "english", "form_category", "dedup"]
    assert [s.name for s in poem_stages(tag_forms=False)] == ["strip_footer", "english", "dedup"]
    assert has_forms(["row_id", "text", "form"]) and not has_forms(["row_id", "text"])


def test_the_recipe_without_duplicates_has_only_map_stages():
    assert [s.name for s in poem_stages(duplicates=False)] == ["strip_footer", "english", "form_category"]


def test_building_the_recipe_loads_no_word_list_until_a_worker_sets_it_up():
    """The process that only plans a multi-worker run builds the stages for their names; the word
    lists and the second opinion's model load in each worker's `setup()` (or at the first batch)."""
    english = next(s for s in poem_stages() if s.name == "english")
    loaded = ("lexicon", "lexicon_words", "english_words", "evidence", "second")
    assert not any(name in vars(english) for name in loaded)
    set_up([english])
    assert all(name in vars(english) for name in loaded)
    assert english.lexicon.height > 10_000
