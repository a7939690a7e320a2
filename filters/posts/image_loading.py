"""Decode image files into fixed-size uint8 crops, in chunks, with decoding running ahead of the model.

Each image is decoded once and yields two crops: the model's centre crop (shortest side resized to
`size`, then centre-cropped, as open_clip's "shortest" resize mode does) and a centre crop at native
resolution (`native_size` square; smaller images are scaled up first) for pixel statistics that a
resize would wash out. On CPU a thread pool decodes and crops with Pillow (which releases the GIL).
On CUDA the threads only read bytes: JPEGs are decoded in one batched nvjpeg call
(`torchvision.io.decode_jpeg(device="cuda")`) and resized on the GPU; other formats are decoded by
Pillow in the threads and moved over. A bounded number of chunks is decoded ahead of the consumer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torchvision.transforms.v2 import functional as TF

JPEG_MAGIC = b"\xff\xd8\xff"
DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


@dataclass
class Crops:
    """One decoded chunk: crops for the rows that decoded, errors for the rows that did not."""

    positions: list[int]
    pixels: torch.Tensor
    native: torch.Tensor
    errors: dict[int, str] = field(default_factory=dict)


def _to_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def open_rgb(path: str | Path) -> Image.Image:
    """Pillow decode of the first frame, EXIF orientation applied, as RGB."""
    with Image.open(path) as image:
        image.seek(0)
        return ImageOps.exif_transpose(image).convert("RGB")


def crop_pil(image: Image.Image, size: int, native_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    pixels = ImageOps.fit(image, (size, size), method=Image.Resampling.BICUBIC)
    short = min(image.size)
    if short < native_size:
        scale = native_size / short
        image = image.resize((max(native_size, round(image.width * scale)),
                              max(native_size, round(image.height * scale))), Image.Resampling.BICUBIC)
    left, top = (image.width - native_size) // 2, (image.height - native_size) // 2
    native = image.crop((left, top, left + native_size, top + native_size))
    return _to_tensor(pixels), _to_tensor(native)


def crop_tensor(image: torch.Tensor, size: int, native_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The same two crops from a (3, H, W) uint8 tensor, on whatever device it lives."""
    bicubic = TF.InterpolationMode.BICUBIC
    pixels = TF.center_crop(TF.resize(image, size, interpolation=bicubic, antialias=True), size)
    if min(image.shape[-2:]) < native_size:
        image = TF.resize(image, native_size, interpolation=bicubic, antialias=True)
    return pixels, TF.center_crop(image, native_size)


class ImageLoader:
    """Yields `Crops` chunk by chunk for a list of paths; keeps `prefetch` chunks decoding ahead."""

    def __init__(self, size: int, native_size: int = 256, device: str = "cpu", workers: int = 4,
                 chunk: int = 64, prefetch: int = 2) -> None:
        self.size, self.native_size = size, native_size
        self.device = torch.device(device)
        self.chunk, self.prefetch = chunk, prefetch
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="image-decode")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def chunks(self, paths: Sequence[str | None]) -> Iterator[Crops]:
        """CPU: one decode task per image. CUDA: one task per chunk, decoding on its own stream."""
        groups = iter(range(start, min(start + self.chunk, len(paths)))
                      for start in range(0, len(paths), self.chunk))
        pending: deque[tuple[range, Future | list[Future]]] = deque()

        def submit_next() -> None:
            group = next(groups, None)
            if group is None:
                return
            if self.device.type == "cuda":
                task = self._pool.submit(self._load_chunk_on_gpu, group, [paths[i] for i in group])
            else:
                task = [self._pool.submit(self._decode_on_cpu, paths[i]) for i in group]
            pending.append((group, task))

        for _ in range(self.prefetch + 1):
            submit_next()
        while pending:
            group, task = pending.popleft()
            submit_next()
            if isinstance(task, list):
                yield self._assemble(group, [f.result() for f in task])
            else:
                yield self._on_current_stream(*task.result())

    def _decode_on_cpu(self, path: str | None) -> tuple[torch.Tensor, torch.Tensor] | str:
        if path is None:
            return "no image_path"
        try:
            return crop_pil(open_rgb(path), self.size, self.native_size)
        except DECODE_ERRORS as error:
            return f"{type(error).__name__}: {error}"

    def _read(self, path: str | None) -> torch.Tensor | str:
        """CUDA path worker: raw JPEG bytes (1-D uint8), or a Pillow-decoded (3, H, W) tensor."""
        if path is None:
            return "no image_path"
        try:
            data = Path(path).read_bytes()
            if data.startswith(JPEG_MAGIC):
                return torch.frombuffer(bytearray(data), dtype=torch.uint8)
            return _to_tensor(open_rgb(path))
        except DECODE_ERRORS as error:
            return f"{type(error).__name__}: {error}"

    def _assemble(self, group: range, results: list) -> Crops:
        ok = [(i, r) for i, r in zip(group, results, strict=True) if not isinstance(r, str)]
        errors = {i: r for i, r in zip(group, results, strict=True) if isinstance(r, str)}
        if not ok:
            empty = torch.empty(0, 3, self.size, self.size, dtype=torch.uint8, device=self.device)
            return Crops([], empty, empty[:, :, :0, :0], errors)
        pixels = torch.stack([r[0] for _, r in ok]).to(self.device, non_blocking=True)
        native = torch.stack([r[1] for _, r in ok]).to(self.device, non_blocking=True)
        return Crops([i for i, _ in ok], pixels, native, errors)

    def _load_chunk_on_gpu(self, group: range, paths: list[str | None]) -> tuple[Crops, torch.cuda.Event]:
        """Runs in a worker thread on a side CUDA stream, so decoding overlaps the model's forward."""
        stream = torch.cuda.Stream(device=self.device)
        with torch.cuda.stream(stream):
            results = [self._read(path) for path in paths]
            decoded = self._decode_jpegs_on_gpu(group, results)
            cropped: list = []
            for position, result in zip(group, results, strict=True):
                image = decoded.get(position, result)
                if isinstance(image, torch.Tensor):
                    image = crop_tensor(image.to(self.device, non_blocking=True), self.size, self.native_size)
                cropped.append(image)
            crops = self._assemble(group, cropped)
            ready = torch.cuda.Event()
            ready.record(stream)
        return crops, ready

    @staticmethod
    def _on_current_stream(crops: Crops, ready: torch.cuda.Event) -> Crops:
        """Make the consumer's stream wait for the side stream, and tell the allocator who uses what."""
        current = torch.cuda.current_stream(crops.pixels.device)
        current.wait_event(ready)
        crops.pixels.record_stream(current)
        crops.native.record_stream(current)
        return crops

    def _decode_jpegs_on_gpu(self, group: range, results: list) -> dict[int, torch.Tensor | str]:
        """One batched nvjpeg call; if it fails (it returns nothing partial), fall back per image."""
        from torchvision.io import ImageReadMode, decode_jpeg

        jpegs = [(i, r) for i, r in zip(group, results, strict=True)
                 if isinstance(r, torch.Tensor) and r.dim() == 1]
        if not jpegs:
            return {}
        try:
            images = decode_jpeg([data for _, data in jpegs], mode=ImageReadMode.RGB, device=self.device,
                                 apply_exif_orientation=True)
            return {i: image for (i, _), image in zip(jpegs, images, strict=True)}
        except RuntimeError:
            return {i: self._decode_one(data) for i, data in jpegs}

    def _decode_one(self, data: torch.Tensor) -> torch.Tensor | str:
        from torchvision.io import ImageReadMode, decode_jpeg

        try:
            return decode_jpeg(data, mode=ImageReadMode.RGB, device=self.device, apply_exif_orientation=True)
        except RuntimeError as error:
            return f"RuntimeError: {error}"
