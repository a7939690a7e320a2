"""GPU checks (`pytest -m gpu`, run by benchmarks/gpu_suite.py): skipped where no CUDA device is present.

`GPU_TESTS_ON_CPU=1` runs them on the CPU instead (bf16 and torch.compile off), to check the tests
themselves on a machine without a GPU; it proves nothing about the GPU paths.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if os.environ.get("GPU_TESTS_ON_CPU") == "1":
        return "cpu"
    pytest.skip("no CUDA device (GPU_TESTS_ON_CPU=1 runs these tests on the CPU)")


def write_posts(path: Path, rows: int, row_group_size: int, seed: int = 0) -> Path:
    """Distinct JPEGs whose brightness sets their like count, in an HF-Image-style Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    rng = np.random.default_rng(seed)
    brightness = rng.uniform(0.1, 0.9, rows)
    images = []
    for value in brightness:
        pixels = np.clip(rng.normal(value * 255, 30, (36, 40, 3)), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG")
        images.append({"bytes": buffer.getvalue(), "path": None})
    likes = np.round(np.expm1(brightness * 9)).astype(np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"image": images, "like_count": likes}), path, row_group_size=row_group_size)
    return path
