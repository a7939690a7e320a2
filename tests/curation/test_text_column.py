import polars as pl
import pytest

from curation.errors import InputError
from curation.readers import open_reader
from curation.text_column import reject_unfit_text, use_text_column


def collect(reader) -> pl.DataFrame:
    return pl.concat(list(reader.batches()), how="diagonal_relaxed")


def test_a_chosen_column_is_copied_into_text_and_an_input_text_column_is_kept_as_input_text():
    frame = pl.DataFrame({"text": ["a photo of a lake"], "poem": ["still water"], "id": [7]})
    chosen = use_text_column(frame, "poem")
    assert chosen["text"].to_list() == ["still water"]
    assert chosen["poem"].to_list() == ["still water"]
    assert chosen["input_text"].to_list() == ["a photo of a lake"]
    assert set(chosen.columns) == {"text", "poem", "input_text", "id"}


def test_the_default_text_column_is_left_alone():
    frame = pl.DataFrame({"text": ["still water"], "poem": ["unused"]})
    assert use_text_column(frame, "text").equals(frame)


def test_no_free_name_for_the_input_text_is_a_clear_error():
    frame = pl.DataFrame({"text": ["a"], "input_text": ["b"], "poem": ["c"]})
    with pytest.raises(InputError, match="'text' and 'input_text'.*rename one") as error:
        use_text_column(frame, "poem", path="poems.csv")
    assert error.value.path == "poems.csv"


def test_a_csv_with_text_and_poem_columns_reads_the_poem_and_keeps_both(tmp_path):
    path = tmp_path / "poems_results.csv"
    path.write_text('image_filename,text,poem\nlake.jpg,"a photo of a lake","still water"\n')
    rows = collect(open_reader(path, text_column="poem"))
    assert rows.select("text", "poem", "input_text", "image_filename").row(0) == (
        "still water", "still water", "a photo of a lake", "lake.jpg")


def test_unfit_texts_are_marked_and_earlier_reasons_win():
    frame = pl.DataFrame({"text": ["short", "x" * 11, None, "bad bytes"],
                          "reject_reason": [None, None, None, "undecodable_bytes"]})
    marked = reject_unfit_text(frame, max_chars=10, strings_only=True)
    assert marked["reject_reason"].to_list() == [None, "too_long", "missing_text", "undecodable_bytes"]
    assert marked["reject_detail"][1] == "11 characters, over the limit of 10 (--max-chars)"


def test_a_non_string_text_column_keeps_its_values_as_json_text():
    marked = reject_unfit_text(pl.DataFrame({"text": [42, None]}), strings_only=True, column="poem")
    assert marked["text"].to_list() == ["42", None]
    assert marked["reject_reason"].to_list() == ["not_a_string", "missing_text"]
    assert marked["reject_detail"][0] == "'poem' holds Int64, not a string"
