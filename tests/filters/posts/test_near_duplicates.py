import numpy as np
import polars as pl
import torch
from PIL import Image

from curation.schema import with_bookkeeping
from filters.posts.image_loading import crop_pil, open_rgb
from filters.posts.image_signals import pack_bits, phash_bits
from filters.posts.near_duplicates import NearDuplicates, hamming
from tests.filters.posts.clip_helpers import save, scene


def hashes_of(*paths) -> np.ndarray:
    crops = torch.stack([crop_pil(open_rgb(p), 224, 32)[0] for p in paths])
    return pack_bits(phash_bits(crops).numpy())


def test_phash_survives_recompression_and_resizing_but_not_a_different_picture(tmp_path):
    rng = np.random.default_rng(2)
    original = save(scene(rng), tmp_path / "original.png")
    copy = tmp_path / "copy.jpg"
    Image.open(original).resize((200, 150)).save(copy, quality=70)
    other = save(scene(rng), tmp_path / "other.png")

    hashes = hashes_of(original, copy, other)

    assert hamming(hashes[:1], hashes[1:2])[0, 0] <= 6
    assert hamming(hashes[:1], hashes[2:])[0, 0] > 16


def posts(ids, likes, hashes) -> pl.DataFrame:
    return with_bookkeeping(pl.DataFrame({"post_id": ids, "like_count": likes,
                                          "phash": pl.Series(hashes, dtype=pl.UInt64)}))


A, A_NEAR, B = 0xF0F0_F0F0_0000_FFFF, 0xF0F0_F0F0_0000_FFF0, 0x0F0F_0F0F_FFFF_0000


def test_the_most_liked_copy_is_kept_and_the_others_name_it():
    out = NearDuplicates(max_distance=6)(posts(["1", "2", "3", "4"], [5, 50, 10, 1], [A, A_NEAR, A, B]))

    assert out["reject_reason"].to_list() == ["near_duplicate", None, "near_duplicate", None]
    assert out["reject_detail"].to_list()[:3] == ["kept copy: 2", None, "kept copy: 2"]


def test_the_plan_over_all_kept_rows_keeps_the_most_liked_copy_and_breaks_ties_by_row_id():
    rows = posts(["1", "2", "3", "4", "5"], [5, 500, 500, 1, None], [A, A_NEAR, A, B, B]).with_columns(
        row_id=pl.Series(["r1", "r3", "r2", "r4", "r5"]))

    update = NearDuplicates(max_distance=6).plan(rows.select("row_id", "post_id", "like_count", "phash"))

    assert update["near_duplicate_of"].to_list() == ["3", "3", None, None, "4"]
    assert update["reject_reason"].to_list() == ["near_duplicate", "near_duplicate", None, None,
                                                 "near_duplicate"]
    assert update["reject_detail"].to_list()[:3] == ["kept copy: 3", "kept copy: 3", None]


def test_rows_rejected_earlier_and_rows_without_a_hash_are_left_alone():
    frame = posts(["1", "2", "3"], [5, 50, 10], [A, A, None]).with_columns(
        reject_reason=pl.Series(["too_small", None, None]))

    out = NearDuplicates(max_distance=6)(frame)

    assert out["reject_reason"].to_list() == ["too_small", None, None]


def test_distance_threshold_and_missing_likes():
    out = NearDuplicates(max_distance=2)(posts(["1", "2"], [None, 3], [A, A_NEAR]))

    assert out["reject_reason"].null_count() == 2


def test_an_embedding_cosine_can_be_required_as_well():
    frame = posts(["1", "2", "3"], [3, 2, 1], [A, A, A]).with_columns(
        clip_embedding=pl.Series([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0]], dtype=pl.Array(pl.Float32, 2)))

    out = NearDuplicates(max_distance=6, min_cosine=0.95)(frame)

    assert out["near_duplicate_of"].to_list() == [None, "1", None]
