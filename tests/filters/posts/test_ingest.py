import json
from datetime import UTC, datetime

import polars as pl
import pytest

from curation.engine import run
from curation.errors import InputError
from filters.posts import DuplicatePosts, read_posts

BIG_ID = "1234567890123456789"  # 19 digits; through float64 it becomes ...6768


def ingest(path) -> pl.DataFrame:
    return pl.concat(list(read_posts(path).batches()), how="diagonal_relaxed")


def api_page() -> dict:
    return {
        "data": [
            {
                "id": BIG_ID,
                "text": "two images",
                "author_id": "42",
                "created_at": "2024-05-01T12:00:00.000Z",
                "public_metrics": {"like_count": 120, "retweet_count": 3, "reply_count": 1},
                "attachments": {"media_keys": ["3_1", "7_2"]},
            },
            {
                "id": "1800000000000000001",
                "text": "no picture",
                "author_id": "42",
                "public_metrics": {"like_count": 5},
            },
        ],
        "includes": {
            "media": [
                {"media_key": "3_1", "type": "photo", "url": "https://pbs.example/a.jpg"},
                {"media_key": "7_2", "type": "video", "preview_image_url": "https://pbs.example/v.jpg"},
            ],
            "users": [{"id": "42", "username": "painter"}],
        },
    }


def test_a_float_round_trip_would_corrupt_the_id():
    assert str(int(float(BIG_ID))) != BIG_ID


def test_x_api_v2_pages_become_one_row_per_image(tmp_path):
    path = tmp_path / "pages.jsonl"
    path.write_text(json.dumps(api_page()) + "\n")
    rows = ingest(path)
    images = rows.filter(pl.col("reject_reason").is_null())
    assert images.select(
        "post_id", "author", "image_index", "image_url", "media_type", "like_count"
    ).rows() == [
        (BIG_ID, "painter", 0, "https://pbs.example/a.jpg", "photo", 120),
        (BIG_ID, "painter", 1, "https://pbs.example/v.jpg", "video", 120),
    ]
    assert images["created_at"][0] == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert rows.filter(pl.col("reject_reason").is_not_null())["reject_reason"].to_list() == ["no_image"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_nineteen_digit_ids_survive_every_format_and_the_parquet_output(tmp_path, fmt):
    flat = pl.DataFrame(
        {
            "post_id": [int(BIG_ID), 987654321987654321],
            "author": ["a", "b"],
            "text": ["x", "y"],
            "like_count": [10, 20],
            "image_url": ["http://h/1.png", "http://h/2.png"],
        }
    )
    path = tmp_path / f"posts.{fmt}"
    {"jsonl": flat.write_ndjson, "csv": flat.write_csv, "parquet": flat.write_parquet}[fmt](path)
    run(read_posts(path), [], tmp_path / "out", progress=False)
    kept = pl.read_parquet(tmp_path / "out" / "kept")
    assert kept.schema["post_id"] == pl.Utf8
    assert kept["post_id"].to_list() == [BIG_ID, "987654321987654321"]


def test_ids_stored_as_floats_are_refused(tmp_path):
    path = tmp_path / "floats.parquet"
    pl.DataFrame({"post_id": [float(BIG_ID)], "text": ["x"], "image_url": ["http://h/1.png"]}).write_parquet(
        path
    )
    with pytest.raises(InputError, match="floating point"):
        list(read_posts(path).batches())
    jsonl = tmp_path / "floats.jsonl"
    jsonl.write_text('{"post_id": 1.2345678901234568e+18, "image_url": "http://h/1.png"}\n')
    assert ingest(jsonl)["reject_reason"].to_list() == ["float_post_id"]


def test_flat_rows_with_several_images_nested_metrics_and_local_paths(tmp_path):
    parquet = tmp_path / "flat.parquet"
    pl.DataFrame(
        {
            "id": ["1", "2"],
            "username": ["u", "v"],
            "text": ["a", "b"],
            "public_metrics": [{"like_count": 7}, {"like_count": 9}],
            "image_urls": [["http://h/1.png", "http://h/2.png"], []],
            "image_path": [None, "/data/local.jpg"],
        }
    ).write_parquet(parquet)
    rows = ingest(parquet)
    assert rows.select("row_id", "image_url", "image_path", "like_count").rows() == [
        ("1/0", "http://h/1.png", None, 7),
        ("1/1", "http://h/2.png", None, 7),
        ("2/0", None, "/data/local.jpg", 9),
    ]
    csv = tmp_path / "flat.csv"
    csv.write_text(
        "tweet_id,screen_name,full_text,favorite_count,created_at,image_urls\n"
        '5,w,"hello, world",3,2017-08-01 16:23:56 +0000,http://h/a.jpg|http://h/b.jpg\n'
    )
    rows = ingest(csv)
    assert rows.select("post_id", "author", "text", "like_count", "image_url").rows() == [
        ("5", "w", "hello, world", 3, "http://h/a.jpg"),
        ("5", "w", "hello, world", 3, "http://h/b.jpg"),
    ]
    assert rows["created_at"][0] == datetime(2017, 8, 1, 16, 23, 56, tzinfo=UTC)


def test_bad_lines_are_rejected_at_read_and_repeated_posts_by_the_duplicates_stage(tmp_path):
    path = tmp_path / "posts.jsonl"
    good = json.dumps({"post_id": "1", "text": "t", "image_url": "http://h/1.png"})
    path.write_text("\n".join([good, "{not json", good, json.dumps(["a", "list"])]) + "\n")
    reader = read_posts(path)
    manifest = run(reader, [DuplicatePosts.scan(reader)], tmp_path / "out", progress=False)
    assert manifest.balanced and manifest.rows_kept == 1
    assert dict(manifest.stage("read").reasons) == {"malformed_json": 2}
    assert dict(manifest.stage("duplicates").reasons) == {"duplicate_post": 1}
    repeated = pl.read_parquet(tmp_path / "out" / "rejected" / "duplicates-*.parquet")
    assert repeated.select("row_id", "source_row").rows() == [("1/0", 2)]
    assert repeated["reject_detail"][0] == f"1/0 seen earlier, at {path}:0"


def test_unknown_file_types_are_a_clear_error(tmp_path):
    path = tmp_path / "posts.xml"
    path.write_text("<posts/>")
    with pytest.raises(InputError, match="cannot read posts from '.xml'"):
        read_posts(path)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_posts_without_a_text_column_keep_their_ids_and_get_no_text(tmp_path, fmt):
    posts = pl.DataFrame({"id": [BIG_ID, "2"], "like_count": [3, 4], "image_url": ["http://h/1.png", "http://h/2.png"]})
    path = tmp_path / f"posts.{fmt}"
    posts.write_csv(path) if fmt == "csv" else posts.write_parquet(path)
    rows = ingest(path)
    assert rows.select("post_id", "text", "like_count", "image_url", "reject_reason").rows() == [
        (BIG_ID, None, 3, "http://h/1.png", None),
        ("2", None, 4, "http://h/2.png", None),
    ]


def test_a_text_column_by_another_name_is_read_without_renaming_the_first_column(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text('id,content,image_url\n7,"a painting",http://h/7.png\n')
    assert ingest(path).select("post_id", "text").rows() == [("7", "a painting")]


def test_local_image_paths_are_stored_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps({"id": "1", "image_paths": ["img/a.png", "/data/b.png"]}) + "\n")
    assert ingest(path)["image_path"].to_list() == [str(tmp_path / "img" / "a.png"), "/data/b.png"]


def test_the_row_total_is_known_after_the_duplicates_scan_for_the_progress_bar(tmp_path):
    path = tmp_path / "pages.jsonl"
    path.write_text(json.dumps(api_page()) + "\n" + json.dumps(api_page()) + "\n")
    reader = read_posts(path)
    assert reader.total_rows() is None  # unknown before a pass, rather than a second pass
    DuplicatePosts.scan(reader)
    assert reader.total_rows() == 6  # two pages: two image rows and one post without an image each
    assert all(part.total_rows() is None for part in reader.shards(1))
