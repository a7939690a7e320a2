import polars as pl
import pytest

from curation.engine import run
from curation.errors import InputError
from curation.kaggle_forms import parse_kaggle_file_name
from curation.readers import CSV_BLOCK_BYTES, line_byte_limit, open_reader
from curation.writers import read_shards


def collect(reader) -> pl.DataFrame:
    return pl.concat(list(reader.batches()), how="diagonal_relaxed")


def test_kaggle_file_names_give_title_and_author():
    assert parse_kaggle_file_name("SonnetPoemsAMemoryFromASonnetSequencePoembyRupertBrooke.txt") == (
        "A Memory From A Sonnet Sequence", "Rupert Brooke")


def test_kaggle_layout_reads_form_from_folder(tmp_path):
    (tmp_path / "forms" / "haiku").mkdir(parents=True)
    (tmp_path / "forms" / "haiku" / "HaikuPoemsOldPondPoembyBasho.txt").write_text("an old pond\n")
    (tmp_path / "forms" / "haiku" / "HaikuPoemsBrokenPoembyNobody.txt").write_bytes(b"caf\xe9 \xff\n")
    rows = collect(open_reader(tmp_path)).sort("row_id")
    assert rows["form"].to_list() == ["haiku", "haiku"]
    assert rows["author"].to_list() == ["Nobody", "Basho"]
    assert rows["reject_reason"].to_list() == ["undecodable_bytes", None]


def test_csv_bad_rows_are_rejected_not_fatal(tmp_path):
    path = tmp_path / "poems.csv"
    path.write_bytes(b'id,text\n1,"a fine line"\n2,"bad \xff bytes"\n3,"too","many","fields"\n4,"last"\n')
    manifest = run(open_reader(path), [], tmp_path / "out", progress=False)
    rejected = read_shards(tmp_path / "out" / "rejected")
    reasons = dict(zip(rejected["reject_reason"], rejected["reject_detail"], strict=True))
    assert set(reasons) == {"undecodable_bytes", "malformed_row"}
    assert "too" in reasons["malformed_row"]
    assert read_shards(tmp_path / "out" / "kept")["text"].to_list() == ["a fine line", "last"]
    assert manifest.balanced and manifest.rows_in == 4


def test_jsonl_malformed_line_is_rejected_with_raw_text(tmp_path):
    path = tmp_path / "poems.jsonl"
    path.write_text('{"text": "first"}\n{"text": broken\n{"text": "third"}\n')
    rows = collect(open_reader(path))
    bad = rows.filter(pl.col("reject_reason").is_not_null())
    assert bad["reject_reason"].to_list() == ["malformed_json"]
    assert bad["source_row"].to_list() == [1]
    assert "broken" in bad["reject_detail"][0]


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b'{"body": "no text"}\n', "no 'text' column"),
])
def test_whole_file_problems_name_the_file(tmp_path, content, message):
    path = tmp_path / "poems.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as error:
        collect(open_reader(path))
    assert str(path) in str(error.value)


def test_truncated_parquet_names_the_file(tmp_path):
    path = tmp_path / "poems.parquet"
    pl.DataFrame({"text": ["a poem"] * 1000}).write_parquet(path)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(InputError, match="poems.parquet.*not a readable Parquet file"):
        collect(open_reader(path))


def test_text_column_can_be_chosen(tmp_path):
    path = tmp_path / "poems.parquet"
    pl.DataFrame({"poem": ["one", "two"]}).write_parquet(path)
    rows = collect(open_reader(path, text_column="poem"))
    assert rows["text"].to_list() == ["one", "two"]


def test_hugging_face_dataset_folder_is_streamed(tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_dict({"text": ["one", "two", "three"]}).save_to_disk(tmp_path / "ds")
    rows = collect(open_reader(tmp_path / "ds", batch_size=2))
    assert rows["text"].to_list() == ["one", "two", "three"]
    assert rows["source_row"].to_list() == [0, 1, 2]


def rejected_at_read(reader) -> dict:
    """row_id -> reject_reason of the rows a reader rejects."""
    rows = collect(reader).filter(pl.col("reject_reason").is_not_null())
    return dict(zip(rows["row_id"], rows["reject_reason"], strict=True))


def test_jsonl_lines_too_long_are_rejected_and_only_lines_within_the_byte_limit_are_parsed(tmp_path):
    path = tmp_path / "poems.jsonl"
    huge = f'{{"id": "huge", "text": "{"x" * line_byte_limit(10)}"}}\n'
    path.write_text(f'{{"id": "ok", "text": "ten chars!"}}\n{huge}'
                    '{"id": "long", "text": "eleven char"}\n{"id": "last", "text": "fine"}\n')
    rows = collect(open_reader(path, max_chars=10))
    too_long = rows.filter(pl.col("reject_reason") == "too_long").sort("source_row")
    assert too_long["source_row"].to_list() == [1, 2]
    assert too_long["text"].to_list() == [None, "eleven char"]  # the huge line is never parsed
    assert too_long["reject_detail"][0].startswith(f"a line of {len(huge):,} bytes")
    assert rows.filter(pl.col("reject_reason").is_null())["id"].to_list() == ["ok", "last"]


def test_too_long_texts_are_rejected_at_read_in_every_format(tmp_path):
    long_text, short_text = "word " * 30, "a short poem"
    pl.DataFrame({"id": ["a", "b"], "text": [long_text, short_text]}).write_parquet(tmp_path / "p.parquet")
    pl.DataFrame({"id": ["a", "b"], "text": [long_text, short_text]}).write_csv(tmp_path / "p.csv")
    (tmp_path / "forms" / "haiku").mkdir(parents=True)
    (tmp_path / "forms" / "haiku" / "HaikuPoemsLongPoembyA.txt").write_text(long_text)
    (tmp_path / "forms" / "haiku" / "HaikuPoemsShortPoembyB.txt").write_text(short_text)
    assert rejected_at_read(open_reader(tmp_path / "p.parquet", max_chars=100)) == {"p.parquet:0": "too_long"}
    assert rejected_at_read(open_reader(tmp_path / "p.csv", max_chars=100)) == {"p.csv:0": "too_long"}
    assert rejected_at_read(open_reader(tmp_path / "forms", max_chars=100)) == {
        "haiku/HaikuPoemsLongPoembyA": "too_long"}
    unread = collect(open_reader(tmp_path / "forms", max_chars=20))
    unread = unread.filter(pl.col("reject_reason").is_not_null())
    assert unread["text"].to_list() == [None]  # over 4 bytes a character: not even read


def test_jsonl_numbers_lists_and_nulls_in_the_text_are_rejected_at_read(tmp_path):
    path = tmp_path / "poems.jsonl"
    path.write_text('{"id": "n", "text": 42}\n{"id": "l", "text": ["a", "b"]}\n{"id": "z", "text": null}\n'
                    '{"id": "s", "text": "a poem"}\n')
    rows = collect(open_reader(path, strings_only=True)).sort("id")
    assert rows.select("id", "text", "reject_reason").rows() == [
        ("l", '["a", "b"]', "not_a_string"), ("n", "42", "not_a_string"), ("s", "a poem", None),
        ("z", None, "missing_text")]
    assert rows.filter(pl.col("id") == "n")["reject_detail"][0] == "'text' holds a JSON int, not a string"


def test_a_parquet_int_text_column_is_rejected_at_read(tmp_path):
    path = tmp_path / "poems.parquet"
    pl.DataFrame({"poem": [1, 2]}).write_parquet(path)
    rows = collect(open_reader(path, text_column="poem", strings_only=True))
    assert rows["reject_reason"].to_list() == ["not_a_string"] * 2
    assert rows["text"].to_list() == ["1", "2"] and rows["poem"].to_list() == [1, 2]


def test_a_csv_row_longer_than_a_parse_block_is_one_clear_error(tmp_path):
    path = tmp_path / "poems.csv"
    path.write_text(f'id,text\n1,"short"\n2,"{"word " * (CSV_BLOCK_BYTES // 2)}"\n')
    with pytest.raises(InputError, match="poems.csv.*cannot parse the CSV after row 1.*over 4 MiB"):
        collect(open_reader(path))


def test_an_unknown_suffix_names_the_formats_that_are_read(tmp_path):
    (tmp_path / "poems.txt").write_text("a poem\n")

    with pytest.raises(InputError, match=r"'\.txt' files: \.csv, \.jsonl, .*\.parquet are read") as error:
        open_reader(tmp_path / "poems.txt")
    assert "--format" not in str(error.value)  # no command has that option
