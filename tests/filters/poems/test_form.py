import polars as pl

from filters.poems.form import FormCategory


def test_form_labels_map_to_categories():
    forms = ["sonnet", "free-verse", "rhyme-royal-or-rime-royale", "iambic-pentameter", "allegory", "elegy"]
    out = FormCategory()(pl.DataFrame({"form": forms}))
    assert out["form_category"].to_list() == [
        "structured", "free_verse", "structured", "free_verse", "unknown", "structured"]
