"""Prepared training copies: each image written once at 256 px on its short side (JPEG quality 95,
4:4:4 chroma), so the training loader decodes a few hundred thousand pixels per sample instead of
millions (social-media originals, PNGs and progressive JPEGs are what starve the GPU).

`PrepareImages` is an engine stage (`curate likes prepare`): it reads an image column (bytes, the HF
Image struct, or a path, relative to the row's `source_file`), writes the copy under a folder named
by the hash of the image and the settings (so reruns and repeated images cost nothing), and adds
`image_prepared`, the absolute path, which `trainers.data` reads first by default. An image that
cannot be decoded is rejected with reason `image_unreadable` and the error in `reject_detail`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import polars as pl
from PIL import Image

from curation.schema import REJECT_DETAIL, REJECT_REASON, with_bookkeeping
from trainers.data import DEFAULT_MAX_PIXELS, open_image

PREPARED_COLUMN = "image_prepared"
DEFAULT_SHORT_SIDE = 256
DEFAULT_QUALITY = 95


def prepare_image(value: Any, dest: Path, *, base_dir: Path | None = None,
                  short_side: int = DEFAULT_SHORT_SIDE, quality: int = DEFAULT_QUALITY,
                  max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """Write `value` as a JPEG whose short side is `short_side` (never enlarged); return its size.

    JPEGs are decoded at the smallest DCT scale that keeps both sides >= `short_side` (draft mode),
    then resized with a Lanczos filter; quality 95 with no chroma subsampling.
    """
    with open_image(value, base_dir, max_pixels) as image:
        image.draft("RGB", (short_side, short_side))
        rgb = image.convert("RGB")
    scale = short_side / min(rgb.size)
    if scale < 1:
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        rgb = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(".partial")
    rgb.save(partial, format="JPEG", quality=quality, subsampling=0)
    partial.replace(dest)
    return rgb.size


def _key(value: Any, settings: str) -> str:
    if isinstance(value, dict):
        value = value.get("bytes") or value.get("path")
    data = bytes(value) if isinstance(value, bytes | bytearray | memoryview) else str(value).encode()
    return hashlib.sha1(data + settings.encode()).hexdigest()


class PrepareImages:
    """Engine stage: write each row's training copy and add its path as `image_prepared`."""

    name = "prepare"
    adds = (PREPARED_COLUMN,)

    def __init__(self, images_dir: Path, image_column: str, *, short_side: int = DEFAULT_SHORT_SIDE,
                 quality: int = DEFAULT_QUALITY) -> None:
        self.images_dir, self.image_column = Path(images_dir).resolve(), image_column
        self.short_side, self.quality = short_side, quality
        self.reads = (image_column,)

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        batch = with_bookkeeping(batch)
        sources = batch["source_file"].to_list() if "source_file" in batch.columns else [None] * batch.height
        paths, reasons, details = [], [], []
        rows = zip(batch[self.image_column].to_list(), sources, batch[REJECT_REASON].to_list(),
                   batch[REJECT_DETAIL].to_list(), strict=True)
        for value, source, reason, detail in rows:
            path, error = self._one(value, source)
            paths.append(path)
            reasons.append(reason or ("image_unreadable" if error else None))
            details.append(detail if reason or not error else error)
        return batch.with_columns(pl.Series(PREPARED_COLUMN, paths, dtype=pl.Utf8),
                                  pl.Series(REJECT_REASON, reasons, dtype=pl.Utf8),
                                  pl.Series(REJECT_DETAIL, details, dtype=pl.Utf8))

    def _one(self, value: Any, source: str | None) -> tuple[str | None, str | None]:
        if value is None:
            return None, "no image"
        key = _key(value, f"{self.short_side}-{self.quality}")
        dest = self.images_dir / key[:2] / f"{key}.jpg"
        if dest.exists():
            return str(dest), None
        base_dir = Path(source).parent if source and "://" not in source else None
        try:
            prepare_image(value, dest, base_dir=base_dir, short_side=self.short_side, quality=self.quality)
        except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as error:
            return None, f"{type(error).__name__}: {error}"[:300]
        return str(dest), None
