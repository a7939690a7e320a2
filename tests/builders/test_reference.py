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


def test_a_hub_id_with_a_revision_is_read_through_datasets(tmp_path):
    from builders.reference import open_reference
    from curation.readers import HuggingFaceReader

    reader = open_reference("minhuh/prh", "text", revision="wit_1024")

    assert isinstance(reader, HuggingFaceReader)
    assert reader.describe() == {"path": "minhuh/prh", "kind": "huggingface", "split": "train",
                                 "revision": "wit_1024"}
