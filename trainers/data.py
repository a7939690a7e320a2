"""Streaming (image, like count) samples from Parquet files or a Hugging Face dataset.

DataLoader workers read their own share of Parquet row groups, decode and resize images with PIL
(with a pixel-count limit against decompression bombs), and yield uint8 tensors, so the GPU only
sees ready batches. The raw row order is a pure function of (seed, epoch, rank, worker), which is
what lets training resume mid-epoch by skipping rows before they are decoded.

The image column defaults to the first of `IMAGE_COLUMNS` the data has: `image_prepared` (the
256-px training copies `curate likes prepare` writes, trainers/prepare.py), `image` (bytes, the HF
Image feature, or a path) or `image_path` (what `curate posts clean` writes, absolute). A relative
path is read from the Parquet file's folder.
"""

from __future__ import annotations

import io
import logging
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import torch
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from curation.errors import InputError
from curation.transforms import get_transform

log = logging.getLogger(__name__)
DEFAULT_MAX_PIXELS = 64_000_000
IMAGE_COLUMNS = ("image_prepared", "image", "image_path")


def pick_image_column(names: list[str], path: str) -> str:
    """The first of IMAGE_COLUMNS among `names`, or an error naming the columns there are."""
    found = next((name for name in IMAGE_COLUMNS if name in names), None)
    if found is None:
        raise InputError(f"no image column (looked for {', '.join(IMAGE_COLUMNS)}; has: {', '.join(names)}); "
                         "choose one with --image-column", path=path)
    return found


def parquet_files(source: str | Path) -> list[Path]:
    """A Parquet file, or every *.parquet under a folder (sorted)."""
    path = Path(source)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    if not files or not all(f.exists() for f in files):
        raise InputError("no Parquet files found", path=str(path))
    return files


def resolve_image_path(value: str, base_dir: Path | None) -> Path:
    """An absolute path as it is; a relative one from `base_dir` (the Parquet file's folder)."""
    path = Path(value)
    return path if path.is_absolute() or base_dir is None else base_dir / path


def open_image(value: Any, base_dir: Path | None, max_pixels: int) -> Image.Image:
    """bytes, {'bytes', 'path'} (the HF Image feature) or a path -> a PIL image, size-checked."""
    if isinstance(value, dict):
        value = value.get("bytes") or value.get("path")
    if isinstance(value, bytes | bytearray | memoryview):
        image = Image.open(io.BytesIO(bytes(value)))
    elif isinstance(value, str):
        image = Image.open(resolve_image_path(value, base_dir))
    else:
        raise ValueError(f"unsupported image value of type {type(value).__name__}")
    if image.width * image.height > max_pixels:
        raise ValueError(f"image of {image.width}x{image.height} exceeds {max_pixels:,} pixels")
    return image


def decode_image(value: Any, size: int, *, base_dir: Path | None = None, crop: bool = False,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> torch.Tensor:
    """Decode to RGB and resize to (3, size, size) uint8: squash, or shorter side + centre crop."""
    with open_image(value, base_dir, max_pixels) as image:
        image.draft("RGB", (size, size))
        rgb = image.convert("RGB")
    if crop:
        scale = size / min(rgb.size)
        rgb = rgb.resize((max(size, round(rgb.width * scale)), max(size, round(rgb.height * scale))),
                         Image.Resampling.BICUBIC)
        left, top = (rgb.width - size) // 2, (rgb.height - size) // 2
        rgb = rgb.crop((left, top, left + size, top + size))
    else:
        rgb = rgb.resize((size, size), Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(rgb).copy()).permute(2, 0, 1)


class LikeImageStream(IterableDataset):
    """Samples {'pixels': uint8 (3, S, S), 'target': transformed likes, 'likes': raw likes}."""

    def __init__(self, source: str | Path, *, image_column: str | None = None,
                 like_column: str = "like_count", transform: str = "cbrt*log", image_size: int = 224,
                 crop: bool = False, shuffle_buffer: int = 0, seed: int = 0, rank: int = 0,
                 world_size: int = 1, split: str = "train", max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.source, self.split = source, split
        self.image_column, self.like_column = image_column, like_column
        self.transform = get_transform(transform)
        self.image_size, self.crop, self.max_pixels = image_size, crop, max_pixels
        self.shuffle_buffer, self.seed = shuffle_buffer, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.skip_batches, self.batch_size = 0, 0, 1
        self.is_local = Path(source).exists()
        if self.is_local:
            self.files = parquet_files(source)
            self._check_columns(self.files[0])

    def _check_columns(self, path: Path) -> None:
        names = pq.read_schema(path).names
        self.image_column = self.image_column or pick_image_column(names, str(path))
        for column in (self.image_column, self.like_column):
            if column not in names:
                raise InputError(f"column not found (has: {', '.join(names)})", path=str(path), field=column)

    def resume_at(self, epoch: int, batches_done: int, batch_size: int) -> None:
        """Start the next iteration at `batches_done` batches into `epoch` (per rank)."""
        self.epoch, self.skip_batches, self.batch_size = epoch, batches_done, batch_size

    def _shard(self) -> tuple[int, int, int]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        skip_rows = len(range(worker, self.skip_batches, workers)) * self.batch_size
        return self.rank * workers + worker, self.world_size * workers, skip_rows

    def _raw_rows(self, shard: int, shards: int, rng: random.Random) -> Iterator[tuple[Any, Any, Any]]:
        if not self.is_local:
            yield from self._hub_rows(shard, shards)
            return
        units = [(f, g) for f in self.files for g in range(pq.ParquetFile(f).num_row_groups)]
        if self.shuffle_buffer:
            rng.shuffle(units)
        by_unit = len(units) >= shards
        mine = units[shard::shards] if by_unit else units
        row = 0
        for path, group in mine:
            table = pq.ParquetFile(path).read_row_group(group, columns=[self.image_column, self.like_column])
            images, likes = table.column(0).to_pylist(), table.column(1).to_pylist()
            for image, like in zip(images, likes, strict=True):
                row += 1
                if by_unit or (row - 1) % shards == shard:
                    yield image, like, path.parent

    def check_source(self) -> None:
        """Raise InputError now if the source is neither a local Parquet folder nor a reachable Hub id."""
        if not self.is_local:
            self._open_hub_stream()

    def _open_hub_stream(self):
        import datasets

        try:
            return datasets.load_dataset(str(self.source), split=self.split, streaming=True)
        except OSError as error:  # the Hub's and datasets' not-found and connection errors
            raise InputError(f"no such file or folder here ({Path.cwd()}), and as a Hub dataset id: {error}",
                             path=str(self.source)) from None

    def _hub_rows(self, shard: int, shards: int) -> Iterator[tuple[Any, Any, None]]:
        import datasets
        from datasets.distributed import split_dataset_by_node

        stream = self._open_hub_stream()
        if self.image_column is None:
            names = list(stream.features or {}) or list(next(iter(stream)))
            self.image_column = pick_image_column(names, str(self.source))
        if isinstance((stream.features or {}).get(self.image_column), datasets.Image):
            stream = stream.cast_column(self.image_column, datasets.Image(decode=False))
        stream = split_dataset_by_node(stream, rank=shard, world_size=shards)
        for example in stream:
            yield example[self.image_column], example[self.like_column], None

    def _shuffled(self, rows: Iterator, rng: random.Random) -> Iterator:
        if not self.shuffle_buffer:
            yield from rows
            return
        buffer: list = []
        for row in rows:
            if len(buffer) < self.shuffle_buffer:
                buffer.append(row)
                continue
            index = rng.randrange(len(buffer))
            yield buffer[index]
            buffer[index] = row
        rng.shuffle(buffer)
        yield from buffer

    def __iter__(self) -> Iterator[dict[str, Any]]:
        shard, shards, skip_rows = self._shard()
        rng = random.Random(f"{self.seed}-{self.epoch}-{shard}")
        unit_rng = random.Random(f"{self.seed}-{self.epoch}")
        rows = self._shuffled(self._raw_rows(shard, shards, unit_rng), rng)
        for index, (image, like, base_dir) in enumerate(rows):
            if index < skip_rows or like is None:
                continue
            try:
                pixels = decode_image(image, self.image_size, base_dir=base_dir, crop=self.crop,
                                      max_pixels=self.max_pixels)
            except (OSError, ValueError, Image.DecompressionBombError) as error:
                log.warning("skipping undecodable image (row %d of shard %d): %s", index, shard, error)
                continue
            target = float(self.transform.forward(np.array([like]))[0])
            yield {"pixels": pixels, "target": torch.tensor(target, dtype=torch.float32),
                   "likes": torch.tensor(float(like), dtype=torch.float64)}

    def no_samples_error(self) -> InputError:
        """A one-line error saying why no row gave a sample: the rows skipped by cause, one example."""
        causes: Counter[str] = Counter()
        examples: dict[str, str] = {}
        rows = 0
        for image, like, base_dir in self._raw_rows(0, 1, random.Random(0)):
            rows += 1
            cause, example = self._problem(image, like, base_dir)
            if cause:
                causes[cause] += 1
                examples.setdefault(cause, example or f"row {rows - 1}")
        if not causes:
            return InputError(f"no usable samples in {rows} rows", path=str(self.source))
        summary = "; ".join(f"{count} of {rows} rows {cause}, e.g. {examples[cause]}"
                            for cause, count in causes.most_common())
        return InputError(f"no usable samples ('{self.image_column}', '{self.like_column}'): {summary}",
                          path=str(self.source))

    def _problem(self, image: Any, like: Any, base_dir: Path | None) -> tuple[str, str]:
        """(cause, example) for a row that gives no sample, ('', '') for a good one."""
        if like is None:
            return "have no like count", ""
        if isinstance(image, str) and not (path := resolve_image_path(image, base_dir)).is_file():
            read_as = "" if str(path) == image else f" (read as '{path}')"
            return "name a missing image file", f"'{image}'{read_as}"
        try:
            decode_image(image, 8, base_dir=base_dir, max_pixels=self.max_pixels)
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            return "have an undecodable image", str(error).splitlines()[0]
        return "", ""


def make_loader(dataset: LikeImageStream, batch_size: int, num_workers: int = 4,
                pin_memory: bool = False, seed: int = 0) -> DataLoader:
    """Batches decoded in worker processes; its own generator leaves the global torch RNG alone."""
    dataset.batch_size = batch_size
    return DataLoader(dataset, batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory,
                      prefetch_factor=4 if num_workers else None, persistent_workers=False,
                      generator=torch.Generator().manual_seed(seed))
