"""Validate fetched images with Pillow: size, aspect ratio, animation, truncation, corruption.

The pixel count is checked from the header before any pixel is decoded, so a decompression bomb
is refused without being inflated. `verify()` catches broken chunk structure; a full `load()`
catches truncated or corrupt pixel data. Files are checked in a thread pool (Pillow's decoders
release the GIL).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from filters.posts.schema import DECODE_COLUMNS, reject_rows

DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own MAX_IMAGE_PIXELS default
RESULT_SCHEMA = {**DECODE_COLUMNS, "_reason": pl.Utf8, "_detail": pl.Utf8}


@dataclass
class DecodeImages:
    """Add `width`, `height`, `image_format`; reject images that cannot or should not be used."""

    min_side: int = 64
    max_aspect_ratio: float = 4.0
    max_pixels: int = DEFAULT_MAX_PIXELS
    reject_animated: bool = True
    workers: int = 4
    name: str = "decode"
    reads: tuple[str, ...] = ("image_path",)
    adds: tuple[str, ...] = ("width", "height", "image_format")

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = max(self.max_pixels, Image.MAX_IMAGE_PIXELS or 0)
        with ThreadPoolExecutor(self.workers) as pool:
            results = list(pool.map(self.inspect, batch["image_path"].to_list()))
        found = pl.DataFrame(results, schema=RESULT_SCHEMA)
        batch = batch.drop(*DECODE_COLUMNS, strict=False).hstack(found)
        return reject_rows(batch, pl.col("_reason"), pl.col("_detail")).drop("_reason", "_detail")

    def inspect(self, path: str | None) -> dict:
        """Width, height and format of one file, with a reject reason when it fails a check."""
        result = dict.fromkeys(RESULT_SCHEMA)
        if path is None:
            return result | {"_reason": "missing_image", "_detail": "no image_path"}
        from PIL import Image

        try:
            opened = self._open_and_load(path, result)
        except Image.DecompressionBombError as error:
            return result | {"_reason": "decompression_bomb", "_detail": str(error)[:300]}
        except FileNotFoundError:
            return result | {"_reason": "missing_image", "_detail": f"{path} not found"}
        except Exception as error:  # noqa: BLE001 (Pillow raises many types for bad data)
            reason = "truncated_image" if "truncat" in str(error).lower() else "corrupt_image"
            return result | {"_reason": reason, "_detail": f"{type(error).__name__}: {error}"[:300]}
        return result | self._check(*opened)

    def _open_and_load(self, path: str, result: dict) -> tuple[int, int, bool]:
        from PIL import Image

        with Image.open(path) as image:
            width, height = image.size
            result.update(width=width, height=height, image_format=image.format)
            if width * height > self.max_pixels:
                return width, height, False
            animated = bool(getattr(image, "is_animated", False))
            image.verify()
        with Image.open(path) as image:
            image.load()
        return width, height, animated

    def _check(self, width: int, height: int, animated: bool) -> dict:
        if width * height > self.max_pixels:
            return {
                "_reason": "decompression_bomb",
                "_detail": f"{width}x{height} = {width * height:,} pixels > {self.max_pixels:,}",
            }
        if self.reject_animated and animated:
            return {"_reason": "animated", "_detail": "animated image (several frames)"}
        if min(width, height) < self.min_side:
            return {"_reason": "too_small", "_detail": f"{width}x{height}, shorter side < {self.min_side}"}
        ratio = max(width, height) / max(min(width, height), 1)
        if ratio > self.max_aspect_ratio:
            return {
                "_reason": "extreme_aspect_ratio",
                "_detail": f"{width}x{height}, ratio {ratio:.1f} > {self.max_aspect_ratio:g}",
            }
        return {}
