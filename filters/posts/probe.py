"""Linear probes on image embeddings: fit from a folder of labelled images, save as safetensors.

`fit_probe(folder, embedder)` embeds `folder/<class>/*` images, holds out a stratified share, fits a
standardised scikit-learn logistic regression on the rest and reports its held-out accuracy. The
standardisation is folded into the linear weights, so a probe is one matrix and one bias, stored with
safetensors together with a JSON metadata string (classes, positive class, embedder, threshold,
held-out accuracy). `ProbeFilter` applies a saved probe as a stage (e.g. the AI-generated probe).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from scipy.special import expit, softmax

from curation.errors import InputError, StageError
from curation.stage import reject_where
from filters.posts.schema import embedding_matrix

if TYPE_CHECKING:
    from filters.posts.embedding import ImageEmbedder

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"}
METADATA_KEY = "probe"


@dataclass
class ProbeInfo:
    classes: list[str]
    positive: str
    embedder: str
    threshold: float = 0.5
    held_out_accuracy: float | None = None
    train_images: int = 0
    held_out_images: int = 0


@dataclass
class Probe:
    weights: np.ndarray
    bias: np.ndarray
    info: ProbeInfo

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """(N, D) embeddings -> (N, classes) probabilities."""
        logits = embeddings.astype(np.float32) @ self.weights.T + self.bias
        if self.weights.shape[0] == 1:
            positive = expit(logits[:, 0])
            return np.stack([1.0 - positive, positive], axis=1)
        return softmax(logits, axis=1)

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """Probability of the positive class."""
        return self.probabilities(embeddings)[:, self.info.classes.index(self.info.positive)]

    def save(self, path: str | Path) -> Path:
        from safetensors.numpy import save_file

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {"weights": np.ascontiguousarray(self.weights, np.float32),
                   "bias": np.ascontiguousarray(self.bias, np.float32)}
        save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(asdict(self.info))})
        return path

    @classmethod
    def load(cls, path: str | Path) -> Probe:
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="numpy") as f:
                metadata = (f.metadata() or {}).get(METADATA_KEY)
                weights, bias = f.get_tensor("weights"), f.get_tensor("bias")
        except (OSError, SafetensorError) as error:
            raise InputError(f"cannot read probe: {error}", path=str(path)) from error
        if metadata is None:
            raise InputError(f"not a probe file (no '{METADATA_KEY}' metadata)", path=str(path))
        return cls(weights, bias, ProbeInfo(**json.loads(metadata)))


def labelled_images(folder: str | Path) -> tuple[list[Path], list[str]]:
    """Image files under `folder/<class>/` and their class names (the subfolder names)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("not a folder of class subfolders", path=str(folder))
    paths, labels = [], []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(p for p in class_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        paths += files
        labels += [class_dir.name] * len(files)
    if len(set(labels)) < 2:
        raise InputError(f"need at least two class subfolders with images, found {sorted(set(labels))}",
                         path=str(folder))
    return paths, labels


def fit_probe(folder: str | Path, embedder: ImageEmbedder, *, positive: str | None = None,
              held_out: float = 0.25, threshold: float = 0.5, seed: int = 0) -> Probe:
    """Fit a probe on `folder/<class>/*` images; `info.held_out_accuracy` is measured on unseen images."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    paths, labels = labelled_images(folder)
    classes = sorted(set(labels))
    positive = positive or classes[-1]
    if positive not in classes:
        raise InputError(f"positive class '{positive}' is not a subfolder (classes: {classes})",
                         path=str(folder))
    embeddings = embedder.embed_files(paths)
    try:
        x_train, x_test, y_train, y_test = train_test_split(
            embeddings, np.array(labels), test_size=held_out, stratify=labels, random_state=seed)
    except ValueError as error:
        raise InputError(f"too few images per class to hold some out: {error}", path=str(folder)) from error
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(x_train, y_train)
    scaler, regression = model[0], model[1]
    weights = regression.coef_ / scaler.scale_
    bias = regression.intercept_ - weights @ scaler.mean_
    info = ProbeInfo(classes=[str(c) for c in regression.classes_], positive=positive,
                     embedder=embedder.identity, threshold=threshold,
                     held_out_accuracy=float(model.score(x_test, y_test)),
                     train_images=len(y_train), held_out_images=len(y_test))
    return Probe(weights.astype(np.float32), bias.astype(np.float32), info)


@dataclass
class ProbeFilter:
    """Scores `clip_embedding` with a saved probe; rejects rows whose positive-class score passes the
    probe's threshold (or `threshold`, when given)."""

    probe_path: Path
    embedder: str
    column: str = "ai_probe_score"
    reason: str = "ai_generated:probe"
    threshold: float | None = None
    name: str = "ai_probe"
    reads: tuple[str, ...] = ("clip_embedding",)
    adds: tuple[str, ...] = ()
    _probe: Probe | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.adds = (self.column,)
        self.probe()

    def probe(self) -> Probe:
        if self._probe is None:
            probe = Probe.load(self.probe_path)
            if probe.info.embedder != self.embedder:
                raise StageError(f"{self.probe_path}: probe was fitted on '{probe.info.embedder}' "
                                 f"embeddings, this pipeline makes '{self.embedder}'")
            self._probe = probe
        return self._probe

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        probe = self.probe()
        threshold = probe.info.threshold if self.threshold is None else self.threshold
        scores = probe.score(embedding_matrix(batch["clip_embedding"])).astype(np.float32)
        batch = batch.with_columns(pl.Series(self.column, scores, dtype=pl.Float32))
        return reject_where(batch, pl.col(self.column) >= threshold, self.reason,
                            pl.format("{} {} >= {}", pl.lit(self.column), pl.col(self.column).round(3),
                                      pl.lit(threshold)))


def describe(probe: Probe) -> str:
    info = probe.info
    accuracy = "n/a" if info.held_out_accuracy is None else f"{info.held_out_accuracy:.3f}"
    return (f"classes {info.classes} (positive '{info.positive}'), held-out accuracy {accuracy} on "
            f"{info.held_out_images} images (trained on {info.train_images}), embedder {info.embedder}")

