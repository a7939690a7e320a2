"""pHash near-duplicates are resolved over the whole run: forty copies of one picture keep the same
single most-liked copy on 1, 2 and 4 workers, however the shards fall."""

import polars as pl
import pytest

from curation.engine import run
from curation.errors import StageError
from curation.readers import open_reader
from curation.writers import read_shards
from filters.posts.near_duplicates import NearDuplicates

COPIES = 40
MOST_LIKED = 33  # in the fourth shard of ten rows: a stream over shards would keep an earlier copy


@pytest.fixture
def forty_copies(tmp_path):
    likes = [1 + (i * 7) % 30 for i in range(COPIES)]
    likes[MOST_LIKED] = 1_000
    path = tmp_path / "posts.parquet"
    pl.DataFrame({"row_id": [f"p{i:02d}" for i in range(COPIES)], "post_id": [str(i) for i in range(COPIES)],
                  "like_count": likes, "phash": pl.Series([0xF0F0_F0F0_0000_FFFF] * COPIES, dtype=pl.UInt64),
                  }).write_parquet(path, row_group_size=10)
    return path


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_forty_identical_hashes_keep_the_most_liked_copy_on_any_worker_count(forty_copies, tmp_path, workers):
    manifest = run(open_reader(forty_copies, text_column=None), [NearDuplicates()], tmp_path / "out",
                   progress=False, workers=workers, shard_rows=10)

    kept, rejected = read_shards(tmp_path / "out" / "kept"), read_shards(tmp_path / "out" / "rejected")
    assert kept["post_id"].to_list() == [str(MOST_LIKED)]
    assert rejected.height == COPIES - 1 and set(rejected["reject_detail"]) == {f"kept copy: {MOST_LIKED}"}
    assert set(rejected["reject_stage"]) == {"near_duplicates"}
    assert manifest.stage("near_duplicates").to_dict() == {
        "name": "near_duplicates", "rows_in": COPIES, "kept": 1, "rejected": COPIES - 1,
        "reasons": {"near_duplicate": COPIES - 1}}


def test_rows_without_row_ids_are_refused_up_front(tmp_path):
    frame = pl.DataFrame({"post_id": ["1"], "like_count": [1], "phash": pl.Series([1], dtype=pl.UInt64)})
    with pytest.raises(StageError, match=r"stage 'near_duplicates' needs column\(s\) \['row_id'\]"):
        run([frame], [NearDuplicates()], tmp_path / "out", progress=False)
