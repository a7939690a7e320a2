"""README "Feeding the GPU": `likes prepare` on cleaned posts, then `likes train` on its output, which
reads the prepared copies by default."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from tests.e2e.conftest import UserShell


def test_prepare_then_train_on_the_copies(user: UserShell) -> None:
    kept = user.clone / "out" / "weratedogs-clean" / "kept"
    images = user.clone / "out" / "weratedogs-clean" / "images"
    kept.mkdir(parents=True)
    images.mkdir()
    rng = np.random.default_rng(0)
    paths = []
    for i in range(12):
        path = images / f"{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (600, 480, 3), dtype=np.uint8)).save(path, quality=85)
        paths.append(str(path))
    rows = {"post_id": [str(i) for i in range(12)], "image_path": paths,
            "like_count": list(range(0, 120, 10))}
    pq.write_table(pa.table(rows), kept / "part-00000.parquet")

    result = user.run("likes-prepare", timeout=300)
    assert "12 copies at 256 px" in result.output
    prepared = pq.read_table(user.clone / "out" / "weratedogs-prepared" / "kept").to_pylist()
    assert len(prepared) == 12
    with Image.open(prepared[0]["image_prepared"]) as copy:
        assert copy.size == (256, 320)
    config = json.loads((user.clone / "out" / "runs" / "prepared" / "train_config.json").read_text())
    assert config["image_column"] is None  # the default, which picked image_prepared
    assert "step 2" in result.output
