"""`curate likes prepare`: training copies at 256 px (JPEG q95, 4:4:4) that the trainer reads by default."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image, JpegImagePlugin
from typer.testing import CliRunner

from curate.likes import app
from trainers.data import LikeImageStream, pick_image_column


def encoded(array: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, **options)
    return buffer.getvalue()


@pytest.fixture
def posts(tmp_path: Path) -> Path:
    """Large baseline and progressive JPEGs, a PNG, a small image, a relative path, a broken image."""
    rng = np.random.default_rng(0)

    def picture(height: int, width: int) -> np.ndarray:
        y, x = np.mgrid[0:height, 0:width]
        base = np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(float)
        return np.clip(base + rng.normal(0, 8, (height, width, 3)), 0, 255).astype(np.uint8)

    folder = tmp_path / "posts"
    folder.mkdir()
    Image.fromarray(picture(500, 700)).save(folder / "on-disk.jpg", quality=90)
    images = [
        {"bytes": encoded(picture(800, 600), format="JPEG", quality=90), "path": None},
        {"bytes": encoded(picture(640, 1024), format="JPEG", quality=90, progressive=True), "path": None},
        {"bytes": encoded(picture(400, 300), format="PNG"), "path": None},
        {"bytes": encoded(picture(120, 200), format="JPEG"), "path": None},
        {"bytes": None, "path": "on-disk.jpg"},
        {"bytes": b"\xff\xd8\xff not a jpeg", "path": None},
    ]
    table = pa.table({"image": images, "like_count": [10, 200, 3_000, 5, 70, 9]})
    pq.write_table(table, folder / "part-0.parquet")
    return folder


def test_prepare_writes_small_copies_the_trainer_reads_by_default(posts: Path, tmp_path: Path) -> None:
    out = tmp_path / "prepared"
    result = CliRunner().invoke(app, ["prepare", str(posts), "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows_in"] == 6 and manifest["rows_kept"] == 5
    rejected = pq.read_table(out / "rejected").to_pylist()
    assert [(r["reject_stage"], r["reject_reason"]) for r in rejected] == [("prepare", "image_unreadable")]
    assert rejected[0]["like_count"] == 9 and rejected[0]["reject_detail"]
    kept = pq.read_table(out / "kept").to_pylist()
    sizes = {}
    for row in kept:
        with Image.open(row["image_prepared"]) as copy:
            assert copy.format == "JPEG" and JpegImagePlugin.get_sampling(copy) == 0  # 4:4:4
            sizes[row["like_count"]] = copy.size
    # short side 256, aspect kept; the 120 x 200 image is not enlarged
    assert sizes == {10: (256, 341), 200: (410, 256), 3_000: (256, 341), 5: (200, 120), 70: (358, 256)}
    columns = pq.read_schema(next((out / "kept").glob("*.parquet"))).names
    assert "image" in columns and pick_image_column(columns, "") == "image_prepared"
    samples = list(LikeImageStream(out / "kept", image_size=32))
    assert len(samples) == 5 and samples[0]["pixels"].shape == (3, 32, 32)


def test_copies_are_close_to_the_original_at_training_size(posts: Path, tmp_path: Path) -> None:
    from trainers.data import decode_image

    out = tmp_path / "prepared"
    assert CliRunner().invoke(app, ["prepare", str(posts), "--out", str(out)]).exit_code == 0
    row = next(r for r in pq.read_table(out / "kept").to_pylist() if r["like_count"] == 10)
    original = decode_image(row["image"], 224).double()
    copy = decode_image(row["image_prepared"], 224).double()
    psnr = 10 * np.log10(255**2 / ((original - copy) ** 2).mean().item())
    assert psnr > 30
