"""Streaming samples from Parquet: decode/resize in workers, sharding, resume skipping, bad images."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from conftest import write_image_parquet
from PIL import Image

from curation.errors import InputError
from trainers.data import LikeImageStream, decode_image, make_loader


def test_samples_are_resized_uint8_with_transformed_targets(image_parquet):
    stream = LikeImageStream(image_parquet, image_size=16, transform="log1p")
    sample = next(iter(stream))
    assert sample["pixels"].shape == (3, 16, 16) and sample["pixels"].dtype == torch.uint8
    assert sample["target"].item() == pytest.approx(np.log1p(sample["likes"].item()), rel=1e-6)


def test_two_workers_split_the_rows_without_overlap(tmp_path):
    path = write_image_parquet(tmp_path / "d.parquet", rows=40, row_group_size=5)
    loader = make_loader(LikeImageStream(path, image_size=8), batch_size=4, num_workers=2)
    likes = torch.cat([batch["likes"] for batch in loader]).tolist()
    assert sorted(likes) == sorted(pq.read_table(path).column("like_count").to_pylist())


def test_resume_skips_the_batches_already_seen(image_parquet):
    stream = LikeImageStream(image_parquet, image_size=8, shuffle_buffer=8, seed=3)
    full = torch.cat([b["likes"] for b in make_loader(stream, batch_size=4, num_workers=0)])
    stream.resume_at(epoch=0, batches_done=3, batch_size=4)
    rest = torch.cat([b["likes"] for b in make_loader(stream, batch_size=4, num_workers=0)])
    assert torch.equal(rest, full[12:])
    stream.resume_at(epoch=1, batches_done=0, batch_size=4)
    next_epoch = torch.cat([b["likes"] for b in make_loader(stream, batch_size=4, num_workers=0)])
    assert sorted(next_epoch.tolist()) == sorted(full.tolist()) and not torch.equal(next_epoch, full)


def test_image_paths_resolve_next_to_the_parquet_file_and_bad_images_are_skipped(tmp_path):
    Image.new("RGB", (20, 10), (255, 0, 0)).save(tmp_path / "red.png")
    pq.write_table(pa.table({"image": ["red.png", "missing.png"], "likes": [5, 7]}), tmp_path / "p.parquet")
    samples = list(LikeImageStream(tmp_path / "p.parquet", like_column="likes", image_size=4))
    assert len(samples) == 1 and samples[0]["pixels"][0].min() == 255


def test_oversized_images_are_refused_before_decoding():
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300)).save(buffer, format="PNG")
    with pytest.raises(ValueError, match="exceeds"):
        decode_image(buffer.getvalue(), 8, max_pixels=10_000)
    assert decode_image(buffer.getvalue(), 8, crop=True).shape == (3, 8, 8)


def test_missing_columns_are_named(image_parquet):
    with pytest.raises(InputError, match="field 'favorites'"):
        LikeImageStream(image_parquet, like_column="favorites")


def test_the_image_column_defaults_to_image_then_image_path(tmp_path, image_parquet):
    Image.new("RGB", (20, 10), (0, 0, 255)).save(tmp_path / "blue.png")
    clean = tmp_path / "kept.parquet"  # the columns `curate posts clean` writes, absolute paths
    pq.write_table(pa.table({"image_path": [str(tmp_path / "blue.png")], "like_count": [3]}), clean)
    assert LikeImageStream(clean).image_column == "image_path"
    assert len(list(LikeImageStream(clean, image_size=4))) == 1
    assert LikeImageStream(image_parquet).image_column == "image"
    pq.write_table(pa.table({"picture": ["x.png"], "like_count": [3]}), tmp_path / "other.parquet")
    with pytest.raises(InputError, match="no image column.*image, image_path.*picture"):
        LikeImageStream(tmp_path / "other.parquet")


def test_no_samples_is_explained_by_cause_with_an_example(tmp_path):
    Image.new("RGB", (20, 10)).save(tmp_path / "ok.png")
    pq.write_table(pa.table({"image_path": ["gone/a.jpg", "gone/b.jpg", str(tmp_path / "ok.png")],
                             "like_count": [1, 2, None]}), tmp_path / "kept.parquet")
    message = str(LikeImageStream(tmp_path / "kept.parquet").no_samples_error())
    read_as = tmp_path / "gone" / "a.jpg"
    assert f"2 of 3 rows name a missing image file, e.g. 'gone/a.jpg' (read as '{read_as}')" in message
    assert "1 of 3 rows have no like count, e.g. row 2" in message


def test_a_missing_local_path_says_so_and_what_the_hub_said(tmp_path):
    stream = LikeImageStream(tmp_path / "no-such-folder")
    with pytest.raises(InputError, match="no such file or folder here .* as a Hub dataset id: .*no-such"):
        next(iter(stream))
