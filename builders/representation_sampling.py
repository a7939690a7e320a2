"""Representation-space sampling (seed 001, "Handling sampling bias").

Both feature sets are stacked, standardised and reduced with PCA (50 components by default); a
logistic regression learns to tell the small set from the large one, and its p(small | x) on the
large set becomes the sampling weight: the drawn subset of the large set resembles the small set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import polars.selectors as cs

from curation.errors import CurationError, InputError

DEFAULT_COMPONENTS = 50


@dataclass(frozen=True)
class RepresentationSample:
    rows: np.ndarray
    weights: np.ndarray
    components: int
    explained_variance: float
    classifier_accuracy: float

    def summary(self) -> dict:
        return {"sampled": int(len(self.rows)), "unique_rows": int(len(np.unique(self.rows))),
                "components": self.components, "explained_variance": round(self.explained_variance, 4),
                "classifier_accuracy": round(self.classifier_accuracy, 4),
                "mean_weight_all": round(float(self.weights.mean()), 4),
                "mean_weight_sampled": round(float(self.weights[self.rows].mean()), 4)}


def similarity_weights(large: np.ndarray, small: np.ndarray, *, components: int = DEFAULT_COMPONENTS,
                       seed: int = 0) -> tuple[np.ndarray, dict]:
    """p(small | x) for every row of `large`, and the fit's diagnostics."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    large, small = _check_pair(large, small)
    features = np.vstack([large, small])
    labels = np.concatenate([np.zeros(len(large), dtype=np.int8), np.ones(len(small), dtype=np.int8)])
    kept = min(components, features.shape[1], features.shape[0] - 1)
    model = make_pipeline(StandardScaler(), PCA(n_components=kept, random_state=seed),
                          LogisticRegression(max_iter=2_000, random_state=seed))
    model.fit(features, labels)
    weights = model.predict_proba(large)[:, 1]
    pca = model.named_steps["pca"]
    return weights, {"components": int(kept),
                     "explained_variance": float(pca.explained_variance_ratio_.sum()),
                     "classifier_accuracy": float(model.score(features, labels))}


def sample_by_representation(large: np.ndarray, small: np.ndarray, size: int | None = None, *,
                             components: int = DEFAULT_COMPONENTS, replace: bool = False,
                             seed: int = 0) -> RepresentationSample:
    """Draw `size` rows of `large` (default: as many as `small` has) with probability ~ p(small | x)."""
    weights, fit = similarity_weights(large, small, components=components, seed=seed)
    size = len(small) if size is None else size
    if not replace and size > np.count_nonzero(weights):
        raise CurationError(f"cannot draw {size} rows without replacement from {np.count_nonzero(weights)} "
                            "rows with a non-zero weight; pass a smaller size or allow replacement")
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(weights), size=size, replace=replace, p=weights / weights.sum())
    return RepresentationSample(rows=rows.astype(np.int64), weights=weights, **fit)


def _check_pair(large: np.ndarray, small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    large, small = np.asarray(large, dtype=np.float64), np.asarray(small, dtype=np.float64)
    if large.ndim != 2 or small.ndim != 2:
        raise CurationError(f"features must be 2-D matrices, got shapes {large.shape} and {small.shape}")
    if large.shape[1] != small.shape[1]:
        raise CurationError(f"the two feature sets differ in width: {large.shape[1]} vs {small.shape[1]}")
    if len(large) < 2 or len(small) < 2:
        raise CurationError("each feature set needs at least two rows")
    if not (np.isfinite(large).all() and np.isfinite(small).all()):
        raise CurationError("features contain NaN or infinite values")
    return large, small


def load_features(path: Path, column: str | None = None) -> np.ndarray:
    """A 2-D matrix from `.npy`, or from Parquet: one list/array column, else every numeric column."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=str(path))
    if path.suffix == ".npy":
        matrix = np.load(path, allow_pickle=False)
        if matrix.ndim != 2:
            raise InputError(f"expected a 2-D array, got shape {matrix.shape}", path=str(path))
        return matrix
    frame = pl.read_parquet(path)
    if column is not None:
        if column not in frame.columns:
            raise InputError(f"no such column (columns: {', '.join(frame.columns)})", path=str(path),
                             field=column)
        return _matrix_of(frame[column], path)
    nested = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List | pl.Array)]
    if len(nested) == 1:
        return _matrix_of(frame[nested[0]], path)
    numeric = frame.select(cs.numeric())
    if numeric.width == 0 or nested:
        raise InputError("cannot tell which columns hold the features; pass --feature-column", path=str(path))
    return numeric.to_numpy().astype(np.float64)


def _matrix_of(series: pl.Series, path: Path) -> np.ndarray:
    widths = series.list.len() if isinstance(series.dtype, pl.List) else None
    if widths is not None and widths.n_unique() != 1:
        raise InputError("feature vectors differ in length", path=str(path), field=series.name)
    return np.vstack(series.to_list()).astype(np.float64)
