"""The posts recipe: which stages `curate posts clean` runs, in which order, from one `PostOptions`.

repeated posts (a pre-pass over the input, so copies are never fetched) -> fetch -> decode ->
engagement (normalised against the unique posts when asked) -> text signals -> AI metadata -> the
open_clip stages of `filters.posts.model_stages` (embed, artwork, AI probe, protection, near
duplicates) when `models` is set. Building the model stages imports torch and open_clip; nothing
else here does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curation.reader_base import Reader
from curation.stage import Stage
from filters.posts.consent import ConsentPolicy
from filters.posts.image_facts import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:
    from filters.posts.fetch import FetchImages
    from filters.posts.model_stages import PostModelConfig


@dataclass
class PostOptions:
    """Every knob of the post stages; `models=None` leaves the open_clip stages out."""

    images_dir: Path
    download_workers: int = 16
    timeout: float = 10.0
    max_mb: float = 20.0
    attempts: int = 3
    retry_failed: bool = False
    consent: ConsentPolicy = field(default_factory=ConsentPolicy)
    allow_networks: tuple[str, ...] = ()
    min_side: int = 64
    max_aspect: float = 4.0
    max_pixels: int = DEFAULT_MAX_PIXELS
    allow_animated: bool = False
    min_likes: int = 0
    normalise: str = "none"
    min_score: float | None = None
    keep_ai_hashtags: bool = False
    keep_protection_hashtags: bool = False
    keep_ai_metadata: bool = False
    models: PostModelConfig | None = None

    def fetcher(self) -> FetchImages:
        from filters.posts.fetch import FetchImages

        return FetchImages(self.images_dir, workers=self.download_workers, timeout=self.timeout,
                           max_bytes=int(self.max_mb * 1024 * 1024), attempts=self.attempts,
                           retry_failed=self.retry_failed, max_pixels=self.max_pixels, consent=self.consent,
                           allow_networks=self.allow_networks)

    def params(self) -> dict[str, Any]:
        """The run's parameters, for the manifest: the consent and address policy as the fetch stage
        describes it, the model settings (or None)."""
        params = {key: value for key, value in asdict(self).items()
                  if key not in ("consent", "allow_networks", "models")}
        models = None
        if self.models is not None:
            models = {"clip_model": self.models.clip_model,
                      "clip_pretrained": self.models.clip_pretrained or "none",
                      "device": self.models.device, "artwork_prompts": str(self.models.artwork_prompts or ""),
                      "ai_probe": str(self.models.ai_probe or ""),
                      "protection_probe": str(self.models.protection_probe or "")}
        return {**params, "images_dir": str(self.images_dir), "consent": self.fetcher().describe(),
                "models": models}


def post_stages(reader: Reader, options: PostOptions) -> list[Stage]:
    """The stages in order (see the module doc). Reads the posts once first: repeated posts are
    found before any image is fetched, and a normalised engagement score needs its reference."""
    from filters.posts.decode import DecodeImages
    from filters.posts.duplicates import DuplicatePosts
    from filters.posts.engagement import EngagementFilter, engagement_reference
    from filters.posts.metadata import AIMetadata
    from filters.posts.text_signals import TextSignals

    duplicates = DuplicatePosts.scan(reader)
    reference = None
    if options.normalise != "none":
        unique = (b.filter(b["reject_reason"].is_null()) for b in map(duplicates, reader.batches()))
        reference = engagement_reference(unique, options.normalise)
    stages: list[Stage] = [
        duplicates,
        options.fetcher(),
        DecodeImages(min_side=options.min_side, max_aspect_ratio=options.max_aspect,
                     max_pixels=options.max_pixels, reject_animated=not options.allow_animated),
        EngagementFilter(min_likes=options.min_likes, normalise=options.normalise,
                         min_score=options.min_score, reference=reference),
        TextSignals(reject_ai=not options.keep_ai_hashtags,
                    reject_protected=not options.keep_protection_hashtags),
        AIMetadata(reject=not options.keep_ai_metadata),
    ]
    if options.models is not None:
        from filters.posts.model_stages import build_model_stages

        stages += build_model_stages(options.models)
    return stages


def close_stages(stages: list[Stage]) -> None:
    """Release what stages hold open once a run is over (the fetch stage's HTTP clients and index)."""
    for stage in stages:
        close = getattr(stage, "close", None)
        if callable(close):
            close()
