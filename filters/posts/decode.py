"""Validate images: size, aspect ratio, animation, truncation, corruption.

Rows that come from the fetch stage already carry their image facts (`width`, `height`,
`image_format`, `image_animated`), found while the bytes were in memory, and no file is read
again. Other rows open their file once (`filters.posts.image_facts`): the pixel count is checked
from the header before any pixel is decoded, so a decompression bomb is refused without being
inflated, and a draft-mode (JPEG) or first-frame decode catches truncated or corrupt data. Files are
checked in a thread pool (Pillow's decoders release the GIL).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from curation.stage import reject_where
from filters.posts.image_facts import DEFAULT_MAX_PIXELS, ImageFacts, ImageProblem, inspect_image
from filters.posts.schema import DECODE_COLUMNS

FACT_COLUMNS = ("width", "height", "image_format", "image_animated")
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
        known = self._known_facts(batch)
        paths = batch["image_path"].to_list()
        if all(known):
            results = list(map(self.inspect, paths, known))
        else:
            with ThreadPoolExecutor(self.workers) as pool:
                results = list(pool.map(self.inspect, paths, known))
        found = pl.DataFrame(results, schema=RESULT_SCHEMA)
        batch = batch.drop(*DECODE_COLUMNS, strict=False).hstack(found)
        reason = pl.col("_reason")
        return reject_where(batch, reason.is_not_null(), reason, pl.col("_detail")).drop("_reason", "_detail")

    @staticmethod
    def _known_facts(batch: pl.DataFrame) -> list[ImageFacts | None]:
        """The facts the fetch stage found for each row, None where a file must be opened."""
        if not set(FACT_COLUMNS) <= set(batch.columns):
            return [None] * batch.height
        rows = batch.select(FACT_COLUMNS).iter_rows()
        return [None if None in row else ImageFacts(*row) for row in rows]

    def inspect(self, path: str | None, known: ImageFacts | None = None) -> dict:
        """Width, height and format of one image, with a reject reason when it fails a check."""
        result = dict.fromkeys(RESULT_SCHEMA)
        if known is None and path is None:
            return result | {"_reason": "missing_image", "_detail": "no image_path"}
        try:
            facts = known or inspect_image(path, self.max_pixels)
        except FileNotFoundError:
            return result | {"_reason": "missing_image", "_detail": f"{path} not found"}
        except ImageProblem as problem:
            if problem.facts is not None:
                result.update(width=problem.facts.width, height=problem.facts.height,
                              image_format=problem.facts.format)
            return result | {"_reason": problem.reason, "_detail": problem.detail}
        result.update(width=facts.width, height=facts.height, image_format=facts.format)
        return result | self._check(facts.width, facts.height, facts.animated)

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
