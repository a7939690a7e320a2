"""The PRH reference's alignment formulas (minyoungg/platonic-rep `metrics.py`, `measure_alignment.py`),
re-implemented from their definitions for the tests: dense N x N matrices, Python dynamic programmes,
sklearn's CCA, and the reference's layer and model loops. Deliberately naive; never used by the code.

The reference sorts neighbours with a plain argsort, whose order among equal similarities is
unspecified; `ties` picks one: "lower" (the lower index first, our rule) or "higher", or a pair of
them (one per model), as two separate argsorts on a GPU may break the same ties differently.
"""

from __future__ import annotations

import numpy as np
import torch


def neighbors(feats: torch.Tensor, k: int, ties: str = "lower") -> torch.Tensor:
    """Indices of the k most similar other rows, best first (self excluded by a -1e8 diagonal)."""
    sim = feats @ feats.T
    sim.fill_diagonal_(-1e8)
    n = len(feats)
    if ties == "higher":  # sort the reversed index order stably, then map back
        order = sim.flip(1).argsort(dim=1, descending=True, stable=True)
        return (n - 1 - order)[:, :k]
    return sim.argsort(dim=1, descending=True, stable=True)[:, :k]


def both(a: torch.Tensor, b: torch.Tensor, k: int, ties: str | tuple[str, str]):
    ties_a, ties_b = (ties, ties) if isinstance(ties, str) else ties
    return neighbors(a, k, ties_a), neighbors(b, k, ties_b)


def mutual_knn(a: torch.Tensor, b: torch.Tensor, k: int, ties: str = "lower") -> float:
    knn_a, knn_b = both(a, b, k, ties)
    n = len(a)
    mask_a = torch.zeros(n, n).scatter_(1, knn_a, 1.0)
    mask_b = torch.zeros(n, n).scatter_(1, knn_b, 1.0)
    return ((mask_a * mask_b).sum(dim=1) / k).mean().item()


def cycle_knn(a: torch.Tensor, b: torch.Tensor, k: int, ties: str = "lower") -> float:
    """Sample i -> its B-neighbours -> each of their A-neighbours: a hit if i is among them."""
    knn_a, knn_b = both(a, b, k, ties)
    hits = [i in set(knn_a[knn_b[i]].flatten().tolist()) for i in range(len(a))]
    return float(np.mean(hits))


def lcs(x: list[int], y: list[int]) -> int:
    table = [[0] * (len(y) + 1) for _ in range(len(x) + 1)]
    for i, xi in enumerate(x, 1):
        for j, yj in enumerate(y, 1):
            table[i][j] = table[i - 1][j - 1] + 1 if xi == yj else max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def levenshtein(x: list[int], y: list[int]) -> int:
    """Unit-cost insertions, deletions and substitutions (torchaudio.functional.edit_distance)."""
    previous = list(range(len(y) + 1))
    for i, xi in enumerate(x, 1):
        current = [i]
        for j, yj in enumerate(y, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (xi != yj)))
        previous = current
    return previous[-1]


def lcs_knn(a: torch.Tensor, b: torch.Tensor, k: int, ties: str = "lower") -> float:
    knn_a, knn_b = (x.tolist() for x in both(a, b, k, ties))
    return float(np.mean([lcs(x, y) for x, y in zip(knn_a, knn_b, strict=True)]))


def edit_distance_knn(a: torch.Tensor, b: torch.Tensor, k: int, ties: str = "lower") -> float:
    knn_a, knn_b = (x.tolist() for x in both(a, b, k, ties))
    return 1 - float(np.mean([levenshtein(x, y) for x, y in zip(knn_a, knn_b, strict=True)])) / k


def hsic_biased(kx: torch.Tensor, ky: torch.Tensor) -> torch.Tensor:
    h = torch.eye(len(kx), dtype=kx.dtype) - 1 / len(kx)
    return torch.trace(kx @ h @ ky @ h)


def hsic_unbiased(kx: torch.Tensor, ky: torch.Tensor) -> torch.Tensor:
    """Song et al. 2012, eq. 5."""
    m = len(kx)
    kx, ky = kx.clone().fill_diagonal_(0), ky.clone().fill_diagonal_(0)
    value = (kx * ky.T).sum() + kx.sum() * ky.sum() / ((m - 1) * (m - 2)) - 2 * (kx @ ky).sum() / (m - 2)
    return value / (m * (m - 3))


def cka(a: torch.Tensor, b: torch.Tensor, unbiased: bool = False) -> float:
    hsic = hsic_unbiased if unbiased else hsic_biased
    kx, ky = a @ a.T, b @ b.T
    return (hsic(kx, ky) / (torch.sqrt(hsic(kx, kx) * hsic(ky, ky)) + 1e-6)).item()


def cknna(a: torch.Tensor, b: torch.Tensor, k: int, ties: str = "lower") -> float:
    """Unbiased HSIC of the kernels masked to pairs that are top-k neighbours under both."""
    n = len(a)

    def masked(x: torch.Tensor, y: torch.Tensor, kx: torch.Tensor, ky: torch.Tensor) -> torch.Tensor:
        mask_x = torch.zeros(n, n, dtype=kx.dtype).scatter_(1, neighbors(x, k, ties), 1.0)
        mask_y = torch.zeros(n, n, dtype=ky.dtype).scatter_(1, neighbors(y, k, ties), 1.0)
        mask = mask_x * mask_y
        return hsic_unbiased(mask * kx, mask * ky)

    kx, ky = a @ a.T, b @ b.T
    kl, kk, ll = masked(a, b, kx, ky), masked(a, a, kx, kx), masked(b, b, ky, ky)
    return kl.item() / (torch.sqrt(kk * ll) + 1e-6).item()


def svcca(a: torch.Tensor, b: torch.Tensor, cca_dim: int = 10, seed: int = 0) -> float:
    """Standardise, randomised low-rank SVD (seeded before each), sklearn CCA, mean correlation."""
    from sklearn.cross_decomposition import CCA

    def basis(x: torch.Tensor) -> np.ndarray:
        x = (x - x.mean(dim=0)) / (x.std(dim=0) + 1e-8)
        torch.manual_seed(seed)
        return torch.svd_lowrank(x, q=cca_dim)[0].numpy()

    u_a, u_b = basis(a), basis(b)
    c_a, c_b = CCA(n_components=cca_dim).fit(u_a, u_b).transform(u_a, u_b)
    return float(np.mean([np.corrcoef(c_a[:, i], c_b[:, i])[0, 1] for i in range(cca_dim)]))


METRICS = {
    "mutual_knn": mutual_knn,
    "cycle_knn": cycle_knn,
    "lcs_knn": lcs_knn,
    "edit_distance_knn": edit_distance_knn,
    "cknna": cknna,
    "cka": lambda a, b, k: cka(a, b),
    "unbiased_cka": lambda a, b, k: cka(a, b, unbiased=True),
    "svcca": lambda a, b, k: svcca(a, b),
}


def remove_outliers(feats: torch.Tensor, q: float = 0.95) -> torch.Tensor:
    """Clamp at the mean over samples of each sample's q-quantile of |values| (the non-exact default)."""
    threshold = torch.quantile(feats.abs().flatten(start_dim=1), q, dim=1).mean()
    return feats.clamp(-threshold, threshold)


def compute_score(x_feats: torch.Tensor, y_feats: torch.Tensor, metric: str, k: int):
    """Best (score, (x layer, y layer)) over all layer pairs; starts at 0 and keeps only pairs above it."""
    best_score, best_pair = 0, None
    for i in range(x_feats.shape[1]):
        for j in range(y_feats.shape[1]):
            x = torch.nn.functional.normalize(x_feats[:, i], dim=-1)
            y = torch.nn.functional.normalize(y_feats[:, j], dim=-1)
            score = METRICS[metric](x, y, k)
            if score > best_score:
                best_score, best_pair = score, (i, j)
    return best_score, best_pair


def compute_alignment(models_x: list[torch.Tensor], models_y: list[torch.Tensor], metric: str, k: int,
                      same_models: bool):
    """The model x model loop: cell [i, j] = compute_score(y_j, x_i); mirrored unless cycle_knn."""
    symmetric = same_models and metric != "cycle_knn"
    scores = np.zeros((len(models_x), len(models_y)))
    pairs = np.zeros((len(models_x), len(models_y), 2))
    for i, x in enumerate(models_x):
        for j, y in enumerate(models_y):
            if symmetric and i > j:
                continue
            score, pair = compute_score(remove_outliers(y), remove_outliers(x), metric, k)
            scores[i, j], pairs[i, j] = score, pair or (np.nan, np.nan)
            if symmetric:
                scores[j, i], pairs[j, i] = score, (pair or (np.nan, np.nan))[::-1]
    return scores, pairs
