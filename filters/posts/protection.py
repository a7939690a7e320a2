"""Nightshade/Glaze protection: image-level perturbation signals and an optional trained probe.

Glaze and Nightshade add a dense, low-amplitude, high-frequency perturbation over the whole image,
flat areas included, where a clean digital illustration has almost none. Two signals, both computed
in the embedder's single decode pass:

- `protection_noise_floor`: the noise floor, in 8-bit grey levels, of a native-resolution centre
  crop: the RMS of the luminance minus its 3x3 mean, taken over 8x8 blocks, median block. Edges
  dominate the mean but not the median; a perturbation lifts every block.
- `protection_shift` (optional, a second forward): 1 - cosine between the embedding of the model
  crop and of its mild purification (JPEG re-encode at quality 75, then 2x down- and up-scale).
  Adversarial perturbations are made to move embeddings, and purification removes them.

`ProtectionScore` turns these into `protection_score`: the probability from a probe trained with
`curate posts fit-probe --kind protection` when one is given, otherwise an uncalibrated heuristic in
[0, 1) (`noise / (noise + NOISE_HALF)`, maxed with `shift / (shift + SHIFT_HALF)`). It rejects
`protected:probe` above the probe's threshold, and `protected:perturbation` above
`heuristic_threshold` only when one is set (the heuristic is not calibrated on real protected art).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import torch
import torch.nn.functional as F  # noqa: N812
from PIL import Image

from curation.stage import reject_where
from filters.posts.probe import Probe, ProbeFilter

LUMA = (0.299, 0.587, 0.114)
NOISE_HALF = 2.0
SHIFT_HALF = 0.05
PURIFY_QUALITY = 75


def luminance(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float (B, 1, H, W) in grey levels."""
    weights = torch.tensor(LUMA, device=pixels.device).view(1, 3, 1, 1)
    return (pixels.float() * weights).sum(1, keepdim=True)


def noise_floor(native: torch.Tensor, block: int = 8) -> torch.Tensor:
    """Median over `block`-square blocks of the RMS high-pass residual, per image, in grey levels."""
    if native.shape[0] == 0:
        return torch.empty(0, device=native.device)
    grey = luminance(native)
    residual = grey - F.avg_pool2d(grey, 3, stride=1, padding=1, count_include_pad=False)
    block_energy = F.avg_pool2d(residual.square(), block)
    return block_energy.flatten(1).median(dim=1).values.sqrt()


def jpeg_round_trip(pixels: torch.Tensor, quality: int = PURIFY_QUALITY) -> torch.Tensor:
    """Re-encode uint8 (B, 3, H, W) crops as JPEG: nvjpeg on CUDA, Pillow on CPU."""
    if pixels.device.type == "cuda":
        from torchvision.io import ImageReadMode, decode_jpeg, encode_jpeg

        encoded = [data.cpu() for data in encode_jpeg(list(pixels), quality=quality)]
        return torch.stack(decode_jpeg(encoded, mode=ImageReadMode.RGB, device=pixels.device))
    out = []
    for image in pixels.permute(0, 2, 3, 1).numpy():
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
        out.append(np.array(Image.open(buffer).convert("RGB")))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def purify(pixels: torch.Tensor) -> torch.Tensor:
    """A mild purification: JPEG quality 75, then half-size and back (bilinear, antialiased)."""
    if pixels.shape[0] == 0:
        return pixels
    size = pixels.shape[-2:]
    small = F.interpolate(jpeg_round_trip(pixels).float(), scale_factor=0.5, mode="bilinear",
                          antialias=True)
    restored = F.interpolate(small, size=size, mode="bilinear", antialias=True)
    return restored.round_().clamp_(0, 255).to(torch.uint8)


def heuristic_score(noise: pl.Expr, shift: pl.Expr | None) -> pl.Expr:
    score = noise / (noise + NOISE_HALF)
    if shift is not None:
        shift = shift.clip(lower_bound=0.0)
        score = pl.max_horizontal(score, shift / (shift + SHIFT_HALF))
    return score.cast(pl.Float32)


@dataclass
class ProtectionScore:
    embedder: str
    probe_path: Path | None = None
    heuristic_threshold: float | None = None
    use_shift: bool = False
    name: str = "protection"
    reads: tuple[str, ...] = ("clip_embedding", "protection_noise_floor")
    adds: tuple[str, ...] = ("protection_score",)
    _probe: ProbeFilter | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.use_shift:
            self.reads = (*self.reads, "protection_shift")
        if self.probe_path is not None:
            self._probe = ProbeFilter(Path(self.probe_path), self.embedder, column="protection_score",
                                      reason="protected:probe", name=self.name)

    @property
    def probe(self) -> Probe | None:
        return None if self._probe is None else self._probe.probe()

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        if self._probe is not None:
            return self._probe(batch)
        shift = pl.col("protection_shift") if self.use_shift else None
        batch = batch.with_columns(heuristic_score(pl.col("protection_noise_floor"), shift)
                                   .alias("protection_score"))
        if self.heuristic_threshold is None:
            return batch
        return reject_where(batch, pl.col("protection_score") >= self.heuristic_threshold,
                            "protected:perturbation",
                            pl.format("noise floor {} grey levels",
                                      pl.col("protection_noise_floor").round(2)))
