import json

import polars as pl
import pytest

from builders.reference import load_reference
from curation.errors import InputError


def test_reads_the_word_counts_of_a_csv_text_column(reference_csv):
    reference = load_reference(reference_csv, "text")

    expected = pl.read_csv(reference_csv)["text"].str.count_matches(r"\S+")
    assert reference.lengths.tolist() == expected.to_list()
    assert reference.as_dict()["texts"] == 1_000 and reference.revision is None


def test_any_column_of_jsonl_and_parquet_files(tmp_path):
    rows = [{"caption": "a red kite", "id": 1}, {"caption": "two dogs on a beach at dawn", "id": 2},
            {"caption": None, "id": 3}]
    (tmp_path / "refs.jsonl").write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    pl.DataFrame(rows).write_parquet(tmp_path / "refs.parquet")

    for name in ("refs.jsonl", "refs.parquet"):
        reference = load_reference(tmp_path / name, "caption")
        assert reference.lengths.tolist() == [3, 7] and reference.skipped == 1, name


def test_a_missing_column_names_the_file_and_the_column(reference_csv):
    with pytest.raises(InputError, match="no 'caption' column") as error:
        load_reference(reference_csv, "caption")

    assert error.value.field == "caption" and error.value.path.endswith("poems_results.csv")


def test_a_list_column_like_minhuh_prh_counts_its_first_caption(tmp_path):
    import datasets

    captions = [["a tall lighthouse on a rocky coast", "second caption ignored"], ["snow on pines"]]
    datasets.Dataset.from_dict({"text": captions}).save_to_disk(str(tmp_path / "prh"))

    reference = load_reference(tmp_path / "prh", "text")

    assert reference.lengths.tolist() == [7, 3]


def test_a_saved_dataset_column_beside_a_text_column(tmp_path):
    import datasets

    datasets.Dataset.from_dict({"text": ["one two", "three"], "caption": ["a b c", None]}).save_to_disk(
        str(tmp_path / "saved"))

    reference = load_reference(tmp_path / "saved", "caption")

    assert reference.lengths.tolist() == [3] and reference.skipped == 1
    assert reference.source == "saved" and len(reference.description["sha256"]) == 64


def test_a_hub_id_with_a_revision_is_read_through_datasets(tmp_path):
    from builders.reference import open_reference
    from curation.readers import HuggingFaceReader

    reader = open_reference("minhuh/prh", revision="wit_1024")

    assert isinstance(reader, HuggingFaceReader)
    assert reader.describe() == {"path": "minhuh/prh", "kind": "huggingface", "split": "train",
                                 "revision": "wit_1024"}


def test_a_column_beside_a_text_column_is_read_as_is(reference_csv):
    reference = load_reference(reference_csv, "poem")  # poems_results.csv has `text` and `poem`

    expected = pl.read_csv(reference_csv)["poem"].str.count_matches(r"\S+")
    assert reference.lengths.tolist() == expected.to_list()
    assert reference.as_dict()["source"] == "poems_results.csv"
    described = reference.as_dict()["input"]
    assert described["name"] == "poems_results.csv" and "path" not in described


def test_a_url_or_hub_id_is_recorded_as_given_and_a_local_file_by_name(tmp_path):
    from builders.provenance import public_name

    (tmp_path / "refs.csv").write_text("text\na b\n")

    assert public_name(tmp_path / "refs.csv") == "refs.csv"
    assert public_name("minhuh/prh") == "minhuh/prh"
    assert public_name("s3://key:secret@bucket/refs/*.parquet") == "s3://bucket/refs/*.parquet"
