"""Rank axes (seed 002, "On the rankability of visual embeddings"): a line through an embedding
space along which items are ordered by an attribute, fitted from a few labelled extremes (the
difference of the two ends' mean unit embeddings) or from a labelled column (a ridge direction).
An axis is saved as safetensors (the direction) with JSON metadata beside it; nothing is unpickled."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curation.errors import InputError

DEFAULT_RIDGE_ALPHA = 1.0


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero), float32."""
    rows = np.asarray(features, dtype=np.float32)
    if rows.ndim != 2:
        raise InputError(f"features must be a 2-D array (rows x dimensions), got shape {rows.shape}")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


@dataclass
class RankAxis:
    """score(x) = <unit(x), direction> + bias; `metadata` says how the axis was made."""

    direction: np.ndarray
    bias: float = 0.0
    metadata: dict = field(default_factory=dict)

    def score(self, features: np.ndarray) -> np.ndarray:
        rows = unit_rows(features)
        if rows.shape[1] != len(self.direction):
            raise InputError(f"the axis has {len(self.direction)} dimensions, the features "
                             f"{rows.shape[1]} (embedder {self.metadata.get('embedder', '?')})")
        return rows @ self.direction + self.bias

    def save(self, path: str | Path) -> Path:
        """Write `path` (.safetensors: direction, bias) and `path` with .json (the metadata)."""
        from safetensors.numpy import save_file

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {"direction": self.direction.astype(np.float32), "bias": np.array([self.bias], np.float32)}
        save_file(tensors, str(path), metadata={"rank_axis": json.dumps(self.metadata)})
        path.with_suffix(".json").write_text(json.dumps(self.metadata, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> RankAxis:
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="numpy") as handle:
                metadata = json.loads((handle.metadata() or {}).get("rank_axis", "{}"))
                direction, bias = handle.get_tensor("direction"), float(handle.get_tensor("bias")[0])
        except (OSError, SafetensorError) as error:
            raise InputError(f"cannot read the rank axis ({error})", path=str(path)) from None
        return cls(direction, bias, metadata)


def axis_from_extremes(features: np.ndarray, low: np.ndarray, high: np.ndarray,
                       metadata: dict | None = None) -> RankAxis:
    """The unit difference of the mean unit embeddings of the `high` and `low` rows (k >= 1 each);
    the bias centres the scores of the two ends' midpoint at 0."""
    if len(low) == 0 or len(high) == 0:
        raise InputError("a rank axis needs at least one example at each end")
    rows = unit_rows(features)
    low_mean, high_mean = rows[low].mean(axis=0), rows[high].mean(axis=0)
    direction = high_mean - low_mean
    norm = float(np.linalg.norm(direction))
    if norm == 0:
        raise InputError("the two ends have the same mean embedding; no direction between them")
    direction /= norm
    bias = -float((low_mean + high_mean) @ direction) / 2
    info = {"method": "extremes", "per_end": [int(len(low)), int(len(high))], **(metadata or {})}
    return RankAxis(direction.astype(np.float32), bias, info)


def axis_from_labels(features: np.ndarray, labels: np.ndarray, alpha: float = DEFAULT_RIDGE_ALPHA,
                     metadata: dict | None = None) -> RankAxis:
    """A ridge regression of `labels` on the unit embeddings: the axis predicts the label."""
    from sklearn.linear_model import Ridge

    labels = np.asarray(labels, dtype=np.float64)
    keep = np.isfinite(labels)
    if keep.sum() < 2:
        raise InputError("a ridge axis needs at least two labelled rows")
    model = Ridge(alpha=alpha).fit(unit_rows(features)[keep], labels[keep])
    info = {"method": "ridge", "alpha": alpha, "labels": int(keep.sum()), **(metadata or {})}
    return RankAxis(model.coef_.astype(np.float32), float(model.intercept_), info)


def extreme_rows(labels: np.ndarray, per_end: int | None, end_share: float = 0.25,
                 rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the two ends: the `end_share` lowest and highest labels; `per_end` of each
    (the most extreme ones, or a random draw from the end when `rng` is given; None: the whole end)."""
    labels = np.asarray(labels, dtype=np.float64)
    order = np.argsort(labels, kind="stable")
    order = order[np.isfinite(labels[order])]
    size = max(1, int(round(len(order) * end_share)))
    low, high = order[:size], order[::-1][:size]
    if per_end is None:
        return low, high
    if per_end > size:
        raise InputError(f"{per_end} examples per end asked, but an end holds only {size} rows")
    if rng is None:
        return low[:per_end], high[:per_end]
    return rng.choice(low, per_end, replace=False), rng.choice(high, per_end, replace=False)
