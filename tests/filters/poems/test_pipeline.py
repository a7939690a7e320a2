from filters.poems.pipeline import has_forms, poem_stages


def test_the_form_tag_runs_only_for_inputs_with_a_form_column():
    assert [s.name for s in poem_stages()] == ["strip_footer", "english", "form_category", "dedup"]
    assert [s.name for s in poem_stages(tag_forms=False)] == ["strip_footer", "english", "dedup"]
    assert has_forms(["row_id", "text", "form"]) and not has_forms(["row_id", "text"])


def test_the_recipe_without_duplicates_has_only_map_stages():
    assert [s.name for s in poem_stages(duplicates=False)] == ["strip_footer", "english", "form_category"]
