"""Diversity of a dataset revision: the Vendi score and its quality-weighted form (seed 002, CUBE).

The Vendi score of n items with unit embeddings x_i is exp(H(lambda)), where lambda are the
eigenvalues of K / n, K_ij = <x_i, x_j> the cosine similarity matrix, and H the Shannon entropy:
the effective number of distinct items, 1 when all are the same, n when all are orthogonal.
K / n = X X^T / n has the same non-zero eigenvalues as the d x d covariance X^T X / n, so when the
dimension is below n the dual form costs O(n d^2) time and O(d^2) memory instead of an n x n matrix.
The quality-weighted Vendi score (Nguyen & Dieng 2024) is the mean quality times the Vendi score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

CHUNK_ROWS = 16_384
FORMS = ("auto", "dual", "direct")


def unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero), as float64."""
    rows = np.asarray(embeddings, dtype=np.float64)
    if rows.ndim != 2 or len(rows) == 0:
        raise ValueError(f"need a non-empty 2-D array of embeddings, got shape {rows.shape}")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def entropy_exp(eigenvalues: np.ndarray) -> float:
    """exp of the Shannon entropy of non-negative eigenvalues, normalised to sum to 1."""
    positive = np.clip(eigenvalues, 0.0, None)
    total = positive.sum()
    if total <= 0:
        return 0.0
    p = positive[positive > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def dual_covariance(embeddings: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """X^T X / n of the unit rows, accumulated in chunks so memory stays O(d^2 + chunk * d)."""
    n, d = embeddings.shape
    covariance = np.zeros((d, d))
    for start in range(0, n, chunk_rows):
        block = unit_rows(embeddings[start:start + chunk_rows])
        covariance += block.T @ block
    return covariance / n


def vendi_score(embeddings: np.ndarray, form: str = "auto") -> float:
    """Vendi score with cosine similarity; `form` is dual (d x d), direct (n x n) or auto (smaller)."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, not {form!r}")
    n, d = np.shape(embeddings)
    if form == "dual" or (form == "auto" and d < n):
        return entropy_exp(np.linalg.eigvalsh(dual_covariance(embeddings)))
    unit = unit_rows(embeddings)
    return entropy_exp(np.linalg.eigvalsh(unit @ unit.T / n))


def quality_weighted_vendi(embeddings: np.ndarray, quality: np.ndarray, form: str = "auto") -> float:
    """Mean quality times the Vendi score (items without a quality score must be left out first)."""
    quality = np.asarray(quality, dtype=np.float64)
    if len(quality) != len(embeddings):
        raise ValueError(f"{len(quality)} quality scores for {len(embeddings)} embeddings")
    if np.isnan(quality).any():
        raise ValueError("quality scores contain NaN; leave unscored items out first")
    return float(quality.mean()) * vendi_score(embeddings, form)


@dataclass(frozen=True)
class Diversity:
    """The diversity figures of one revision, as written to build.json and the card."""

    rows: int
    vendi: float
    mean_quality: float | None
    quality_weighted_vendi: float | None
    scored_rows: int
    embedder: str

    def to_dict(self) -> dict:
        return asdict(self)


def diversity(embeddings: np.ndarray, quality: np.ndarray | None, embedder: str) -> Diversity:
    """Vendi over all rows; quality-weighted Vendi over the rows that have a quality score."""
    vendi = vendi_score(embeddings)
    if quality is None:
        return Diversity(len(embeddings), vendi, None, None, 0, embedder)
    quality = np.asarray(quality, dtype=np.float64)
    scored = ~np.isnan(quality)
    if not scored.any():
        return Diversity(len(embeddings), vendi, None, None, 0, embedder)
    weighted = quality_weighted_vendi(np.asarray(embeddings)[scored], quality[scored])
    return Diversity(len(embeddings), vendi, float(quality[scored].mean()), weighted,
                     int(scored.sum()), embedder)


def revision_diversity(frames: dict[str, pl.DataFrame], embed: Callable[[list[str]], np.ndarray],
                       embedder: str, quality_column: str = "aesthetic_score") -> dict[str, dict]:
    """Vendi and quality-weighted Vendi of each revision, each text embedded once (revisions are
    drawn from `large`, some with replacement); every revision is also compared with `large`."""
    texts = pl.concat([frame.select("text") for frame in frames.values()]).unique(maintain_order=True)
    vectors = embed(texts["text"].to_list())
    position = {text: i for i, text in enumerate(texts["text"].to_list())}
    figures = {}
    for name, frame in frames.items():
        rows = vectors[[position[text] for text in frame["text"].to_list()]]
        quality = (frame[quality_column].cast(pl.Float64).to_numpy()
                   if quality_column in frame.columns else None)
        figures[name] = diversity(rows, quality, embedder).to_dict()
    large = figures.get("large")
    for entry in figures.values():
        if large:
            entry["vendi_vs_large"] = round(entry["vendi"] / large["vendi"], 4)
            if entry["quality_weighted_vendi"] is not None and large["quality_weighted_vendi"]:
                entry["quality_weighted_vs_large"] = round(
                    entry["quality_weighted_vendi"] / large["quality_weighted_vendi"], 4)
    return figures
