"""The alignment study's analyses (seed 001): model x model matrices, subset comparisons, heatmaps,
per-sample scores against covariates, perplexity, and semantic spread (mean pairwise cosine, k-means).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from curation.alignment.knn import nearest_neighbors
from curation.alignment.layers import KNN_METRICS, SYMMETRIC_METRICS, align_layers, align_neighbors, to_layers

TIE_RULE = (
    "k-NN ties (equal similarities, e.g. exact-duplicate rows) go to the lower sample index, the same on "
    "every run and block size; the reference's argsort leaves their order unspecified, so on rows marked "
    "here the reference's lcs_knn / edit_distance_knn (and, at the k-th neighbour, every k-NN metric) can "
    "differ from ours and from run to run"
)


@dataclass(frozen=True)
class AlignmentMatrix:
    """Best-layer scores of every (row model, column model) pair on the same samples."""

    rows: list[str]
    cols: list[str]
    metric: str
    scores: np.ndarray
    best_layers: np.ndarray
    per_sample: np.ndarray | None
    n: int

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "n": self.n,
            "rows": self.rows,
            "cols": self.cols,
            "scores": self.scores.round(8).tolist(),
            "orientation": orientation(self.metric),
            "best_layers": self.best_layers.tolist(),
            "best_layers_order": "[row model layer, column model layer] (the reference stores (column, row))",
        }


def orientation(metric: str) -> str:
    """How rows and columns of a matrix of `metric` read, as stated in its JSON and on its plot."""
    if metric == "cycle_knn":
        return (
            "not symmetric: scores[i][j] = cycle_knn(A = cols[j], B = rows[i]), as the reference's "
            "compute_alignment (compute_score(y, x)): a sample's k neighbours under the row model, then "
            "their k neighbours under the column model; 1 when the sample is among those. Every cell computed"
        )
    if metric == "cknna":  # its HSIC of masked, non-symmetric kernels changes slightly when A and B swap
        return ("mirrored as the reference does: scores[i][j] = cknna(A = cols[j], B = rows[i]) for i <= j, "
                "copied to [j][i]; CKNNA is symmetric in A and B only to within its non-symmetric k-NN masks")
    return f"symmetric: scores[i][j] = {metric}(A = cols[j], B = rows[i]), the same as with A and B swapped"


def axis_labels(metric: str) -> tuple[str, str]:
    """(x label, y label) of a heatmap of `metric`: the hop order for cycle_knn, plain models otherwise."""
    if metric == "cycle_knn":
        return "column model: A, second hop", "row model: B, first hop"
    return "", ""


def alignment_matrix(
    rows: Mapping[str, torch.Tensor],
    cols: Mapping[str, torch.Tensor] | None = None,
    *,
    metric: str = "mutual_knn",
    k: int = 10,
    mask: np.ndarray | None = None,
    device: str | None = None,
    svcca_reduction: str = "exact",
    seed: int = 0,
) -> AlignmentMatrix:
    """Scores of every pair of models ((N, L, D) features each), on the samples where `mask` is true.

    Oriented as the reference's `compute_alignment`: cell [i, j] is the metric with A = column model j
    and B = row model i, and ties between layer pairs go to the lower layer of the column model first,
    as its loop order does. Without `cols` the matrix is of `rows` against themselves; only symmetric
    metrics are then computed once per pair and mirrored (cycle_knn is computed in every cell).
    For k-NN metrics each model is searched once and `per_sample` holds the mean over off-diagonal
    cells of the per-sample scores at each cell's best layers.
    """
    mirror = cols is None and metric in SYMMETRIC_METRICS
    cols = rows if cols is None else cols
    prepared = {
        name: to_layers(_subset(feats, mask), device=device) for name, feats in {**rows, **cols}.items()
    }
    n = next(iter(prepared.values())).shape[1]
    neighbors = (
        {name: nearest_neighbors(feats, k) for name, feats in prepared.items()}
        if metric in KNN_METRICS
        else {}
    )
    scores = np.zeros((len(rows), len(cols)))
    best = np.zeros((len(rows), len(cols), 2), dtype=int)
    sample_sums, pairs = np.zeros(n), 0
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            if mirror and j < i:
                scores[i, j], best[i, j] = scores[j, i], best[j, i][::-1]
                continue
            result = (
                align_neighbors(neighbors[col], neighbors[row], metric)
                if neighbors
                else align_layers(prepared[col], prepared[row], metric, k=k, prepared=True,
                                  svcca_reduction=svcca_reduction, seed=seed)
            )
            scores[i, j], best[i, j] = result.score, (result.layer_b, result.layer_a)
            if result.per_sample is not None and row != col:
                sample_sums, pairs = sample_sums + result.per_sample.numpy(), pairs + 1
    per_sample = sample_sums / pairs if pairs else None
    return AlignmentMatrix(list(rows), list(cols), metric, scores, best, per_sample, n)


def duplicate_rows(feats: torch.Tensor) -> tuple[np.ndarray, list[list[int]]]:
    """Rows ((N, L, D) or (N, D)) equal to another row in some layer, and the groups equal in every layer.

    Exact duplicates tie in every neighbour list they enter, where `TIE_RULE` decides their order.
    """
    feats = feats[:, None] if feats.ndim == 2 else feats
    marked = np.zeros(len(feats), dtype=bool)
    for layer in range(feats.shape[1]):
        inverse, counts = _unique_rows(feats[:, layer])
        marked |= (counts[inverse] > 1).numpy()
    inverse, counts = _unique_rows(feats.flatten(1))
    groups: dict[int, list[int]] = {}
    for row, group in enumerate(inverse.tolist()):
        if counts[group] > 1:
            groups.setdefault(group, []).append(row)
    return marked, sorted(groups.values())


def _unique_rows(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    _, inverse, counts = torch.unique(rows.cpu(), dim=0, return_inverse=True, return_counts=True)
    return inverse, counts


def _subset(feats: torch.Tensor, mask: np.ndarray | None) -> torch.Tensor:
    return feats if mask is None else feats[torch.from_numpy(np.asarray(mask, dtype=bool))]


def heatmap(
    scores: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    path: str | Path,
    *,
    title: str = "",
    diverging: bool = False,
    xlabel: str = "",
    ylabel: str = "",
) -> Path:
    """A labelled heatmap PNG of a model x model matrix (diverging colours for differences)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(4.0, 0.9 * max(len(rows), len(cols)) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    limit = float(np.abs(scores).max()) or 1.0
    image = ax.imshow(
        scores,
        cmap="RdBu_r" if diverging else "viridis",
        vmin=-limit if diverging else None,
        vmax=limit if diverging else None,
    )
    ax.set_xticks(range(len(cols)), [_short(c) for c in cols], rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), [_short(r) for r in rows])
    for (i, j), value in np.ndenumerate(scores):
        ax.text(
            j,
            i,
            f"{value:.3f}",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if not diverging else "black",
        )
    fig.colorbar(image, ax=ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def _short(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1][:24]


@dataclass(frozen=True)
class Slope:
    """Least-squares line of per-sample score against a covariate."""

    covariate: str
    slope: float
    intercept: float
    r: float
    p_value: float
    n: int


def score_vs_covariate(
    scores: np.ndarray,
    covariate: np.ndarray,
    name: str,
    plot: str | Path | None = None,
) -> Slope:
    """Fit score = intercept + slope * covariate over finite pairs; optionally save a scatter PNG."""
    from scipy.stats import linregress

    scores, covariate = np.asarray(scores, float), np.asarray(covariate, float)
    keep = np.isfinite(scores) & np.isfinite(covariate)
    fit = linregress(covariate[keep], scores[keep])
    result = Slope(
        name, float(fit.slope), float(fit.intercept), float(fit.rvalue), float(fit.pvalue), int(keep.sum())
    )
    if plot is not None:
        _scatter(covariate[keep], scores[keep], result, plot)
    return result


def _scatter(x: np.ndarray, y: np.ndarray, fit: Slope, path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(x, y, s=6, alpha=0.5)
    line = np.linspace(x.min(), x.max(), 50)
    ax.plot(line, fit.intercept + fit.slope * line, color="red", label=f"slope {fit.slope:.3g}")
    ax.set_xlabel(fit.covariate)
    ax.set_ylabel("per-sample alignment")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@torch.inference_mode()
def perplexity(
    texts: Sequence[str],
    model_id: str,
    *,
    batch_size: int = 8,
    max_length: int = 512,
    device: str | None = None,
) -> np.ndarray:
    """exp(mean next-token negative log-likelihood) of each text under a causal LM (the seed used GPT-2)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from curation.alignment.features import pick_device

    torch_device = pick_device(device)
    tokenizer = AutoTokenizer.from_pretrained(model_id)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    model = AutoModelForCausalLM.from_pretrained(model_id, dtype=torch.float32).to(torch_device).eval()
    values = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(
            list(texts[start : start + batch_size]),
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        ).to(torch_device)
        mask = batch["attention_mask"]
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        logits = model(**batch, position_ids=positions).logits[:, :-1].float()
        targets, target_mask = batch["input_ids"][:, 1:], mask[:, 1:].float()
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        mean_nll = (nll * target_mask).sum(dim=1) / target_mask.sum(dim=1).clamp(min=1)
        values.append(mean_nll.exp().cpu())
    return torch.cat(values).numpy()


def mean_pairwise_cosine(embeddings: np.ndarray) -> float:
    """Mean cosine similarity over all pairs i != j, in O(N*D): (|sum of unit rows|^2 - N) / (N(N-1))."""
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True).clip(min=1e-12)
    n = len(unit)
    if n < 2:
        raise ValueError("need at least two embeddings")
    total = unit.sum(axis=0)
    return float((total @ total - n) / (n * (n - 1)))


def semantic_clusters(embeddings: np.ndarray, n_clusters: int = 2, seed: int = 0) -> dict:
    """k-means on unit sentence embeddings: labels and the mean pairwise cosine overall and per cluster."""
    from sklearn.cluster import KMeans

    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True).clip(min=1e-12)
    labels = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit_predict(unit)
    clusters = {
        int(c): {
            "size": int((labels == c).sum()),
            "mean_cosine": mean_pairwise_cosine(unit[labels == c]) if (labels == c).sum() > 1 else None,
        }
        for c in range(n_clusters)
    }
    return {"mean_cosine": mean_pairwise_cosine(unit), "clusters": clusters, "labels": labels}


def sentence_embeddings(texts: Sequence[str], model_id: str, **kwargs) -> np.ndarray:
    """Mean-pooled last hidden state (the sentence-transformers recipe of all-MiniLM-L6-v2)."""
    from curation.alignment.features import text_features

    return text_features(texts, model_id, **kwargs)[:, -1].float().numpy()
