"""Artwork vs non-artwork by zero-shot classification of `clip_embedding` against text prompts.

Classes and prompts come from a JSON or YAML file (default `artwork_prompts.json` next to this
module): `{"keep": [class, ...], "classes": {class: [prompt, ...], ...}}`. Each class is the
normalised mean of its prompts' text embeddings; class probabilities are a softmax of the model's
logit scale times the cosine. The stage writes `artwork_class` (the most probable class) and
`artwork_score` (the total probability of the keep classes), and rejects `not_artwork:<class>` when
the most probable class is not a keep class, or when `min_score` is set and the score is below it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl
from scipy.special import softmax

from curation.errors import InputError
from curation.stage import reject_where
from filters.posts.clip_defaults import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED
from filters.posts.embedding import load_clip, resolve_device
from filters.posts.schema import embedding_matrix

DEFAULT_PROMPTS = Path(__file__).with_name("artwork_prompts.json")


@dataclass(frozen=True)
class ArtworkPrompts:
    classes: dict[str, tuple[str, ...]]
    keep: frozenset[str]

    @classmethod
    def load(cls, path: str | Path | None = None, keep: Sequence[str] | None = None) -> ArtworkPrompts:
        """Read a prompts file; `keep` overrides the file's keep classes."""
        path = Path(path or DEFAULT_PROMPTS)
        try:
            text = path.read_text(encoding="utf-8")
            if path.suffix.lower() in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except (OSError, ValueError) as error:
            raise InputError(f"cannot read artwork prompts: {error}", path=str(path)) from error
        if not isinstance(data, dict) or not isinstance(data.get("classes"), dict) or not data["classes"]:
            raise InputError("expected {'keep': [...], 'classes': {name: [prompt, ...]}}", path=str(path))
        classes = {str(name): tuple(str(p) for p in prompts) for name, prompts in data["classes"].items()}
        empty = [name for name, prompts in classes.items() if not prompts]
        keep_classes = frozenset(keep if keep is not None else data.get("keep", []))
        unknown = sorted(keep_classes - set(classes))
        if empty or unknown or not keep_classes:
            raise InputError(f"classes without prompts {empty}, unknown keep classes {unknown}, "
                             f"keep classes given: {sorted(keep_classes)}", path=str(path), field="keep")
        return cls(classes, keep_classes)


@dataclass
class ArtworkClassifier:
    clip_model: str = DEFAULT_CLIP_MODEL
    pretrained: str | None = DEFAULT_CLIP_PRETRAINED
    device: str = "auto"
    prompts_path: Path | None = None
    keep: Sequence[str] | None = None
    min_score: float | None = None
    name: str = "artwork"
    needs_gpu: ClassVar[bool] = True  # the Ray engine runs it in an actor pool that loads the model once
    reads: tuple[str, ...] = ("clip_embedding",)
    adds: tuple[str, ...] = ("artwork_class", "artwork_score")
    _class_embeddings: np.ndarray | None = field(default=None, init=False, repr=False)
    _logit_scale: float = field(default=1.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.prompts = ArtworkPrompts.load(self.prompts_path, self.keep)
        self.class_names = list(self.prompts.classes)

    def class_embeddings(self) -> np.ndarray:
        """(classes, D) normalised prompt-mean text embeddings, computed once per stage."""
        if self._class_embeddings is None:
            bundle = load_clip(self.clip_model, self.pretrained, resolve_device(self.device))
            matrix = np.stack([bundle.encode_texts(self.prompts.classes[name]).mean(axis=0)
                               for name in self.class_names])
            self._class_embeddings = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
            self._logit_scale = bundle.logit_scale
        return self._class_embeddings

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """(N, D) image embeddings -> (N, classes) zero-shot class probabilities."""
        cosines = embeddings @ self.class_embeddings().T
        return softmax(self._logit_scale * cosines, axis=1)

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        probabilities = self.probabilities(embedding_matrix(batch["clip_embedding"]))
        names = np.array(self.class_names)
        is_keep = np.isin(names, sorted(self.prompts.keep))
        best = names[probabilities.argmax(axis=1)]
        best_other = names[np.where(is_keep, -1.0, probabilities).argmax(axis=1)]
        score = probabilities[:, is_keep].sum(axis=1).astype(np.float32)
        rejected = ~np.isin(best, names[is_keep])
        if self.min_score is not None:
            rejected |= score < self.min_score
        reason_class = np.where(np.isin(best, names[is_keep]), best_other, best)
        batch = batch.with_columns(pl.Series("artwork_class", best, dtype=pl.Utf8),
                                   pl.Series("artwork_score", score, dtype=pl.Float32))
        detail = pl.format("p(keep classes)={}", pl.col("artwork_score").round(3))
        for name in names[~is_keep]:
            hit = pl.lit(pl.Series(rejected & (reason_class == name)))
            batch = reject_where(batch, hit, f"not_artwork:{name}", detail)
        return batch
