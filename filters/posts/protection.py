"""Nightshade/Glaze protection: image-level perturbation signals and an optional trained probe.

Glaze and Nightshade add a dense, low-amplitude, high-frequency perturbation over the whole image,
flat areas included, where a clean digital illustration has almost none. Two signals, both computed
in the embedder's single decode pass by the kernels in `filters.posts.image_signals`:

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

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from curation.stage import reject_where
from filters.posts.probe import Probe, ProbeFilter

NOISE_HALF = 2.0
SHIFT_HALF = 0.05


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
