"""Tiny random backbones built from configs (`trainers.model.tiny_backbone_config`, the same ones
`--backbone tiny-siglip2` trains), and synthetic image Parquet files; all offline."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from trainers.model import tiny_backbone_config

__all__ = ["jpeg_bytes", "tiny_backbone_config", "write_image_parquet"]


def jpeg_bytes(rng: np.random.Generator, brightness: float, size: int = 40) -> bytes:
    pixels = np.clip(rng.normal(brightness * 255, 30, (size, size + 8, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG")
    return buffer.getvalue()


def write_image_parquet(path: Path, rows: int, seed: int = 0, row_group_size: int = 8) -> Path:
    """Images whose brightness sets their like count; HF Image layout {'bytes', 'path'}."""
    rng = np.random.default_rng(seed)
    brightness = rng.uniform(0.1, 0.9, rows)
    likes = np.round(np.expm1(brightness * 9 + rng.normal(0, 0.3, rows))).clip(0).astype(np.int64)
    images = [{"bytes": jpeg_bytes(rng, b), "path": None} for b in brightness]
    table = pa.table({"image": images, "like_count": likes})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


@pytest.fixture
def image_parquet(tmp_path: Path) -> Path:
    return write_image_parquet(tmp_path / "posts" / "part-0.parquet", rows=32)
