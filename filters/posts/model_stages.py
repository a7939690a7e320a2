"""The model-backed post stages, configured in one place: `build_model_stages(PostModelConfig())`.

Order: embed (one decode per image: embedding, pHash, noise floor), artwork (zero-shot), the
AI-generated probe (when a probe file is given), protection, near-duplicates (last, so the kept copy
is chosen among images that passed every other filter).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from curation.stage import Stage
from filters.posts.clip_defaults import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED
from filters.posts.image_signals import HASH_BITS


@dataclass
class PostModelConfig:
    clip_model: str = DEFAULT_CLIP_MODEL
    clip_pretrained: str | None = DEFAULT_CLIP_PRETRAINED
    device: str = "auto"
    batch_size: int = 64
    workers: int = 4
    artwork_prompts: Path | None = None
    artwork_keep: tuple[str, ...] | None = None
    artwork_min_score: float | None = None
    ai_probe: Path | None = None
    protection_probe: Path | None = None
    protection_shift: bool = False
    protection_threshold: float | None = None
    near_duplicate_threshold: float = 0.1
    near_duplicate_min_cosine: float | None = None

    @property
    def near_duplicate_bits(self) -> int:
        """`near_duplicate_threshold` is the largest share of the 64 pHash bits that may differ."""
        return int(self.near_duplicate_threshold * HASH_BITS)


def build_model_stages(config: PostModelConfig) -> list[Stage]:
    """The model-backed stages for `curate posts clean`, in pipeline order."""
    from filters.posts.artwork import ArtworkClassifier
    from filters.posts.embedding import ImageEmbedder
    from filters.posts.near_duplicates import NearDuplicates
    from filters.posts.probe import ProbeFilter
    from filters.posts.protection import ProtectionScore

    embedder = ImageEmbedder(config.clip_model, config.clip_pretrained, config.device, config.batch_size,
                             config.workers, purified=config.protection_shift)
    stages: list[Stage] = [
        embedder,
        ArtworkClassifier(config.clip_model, config.clip_pretrained, config.device, config.artwork_prompts,
                          config.artwork_keep, config.artwork_min_score),
    ]
    if config.ai_probe is not None:
        stages.append(ProbeFilter(Path(config.ai_probe), embedder.identity))
    stages.append(ProtectionScore(embedder.identity, config.protection_probe, config.protection_threshold,
                                  use_shift=config.protection_shift))
    stages.append(NearDuplicates(config.near_duplicate_bits, config.near_duplicate_min_cosine))
    return stages
