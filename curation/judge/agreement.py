"""Agreement between judge scores and human ratings: rank correlations, weighted kappa, confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Agreement:
    n: int
    spearman: float
    spearman_p: float
    kendall_tau: float
    kendall_p: float
    quadratic_kappa: float
    exact_match: float
    confusion: list[list[int]]

    def as_dict(self) -> dict:
        """JSON-ready; undefined statistics (e.g. a correlation with constant ratings) become None."""
        def finite(value: float) -> float | None:
            return value if np.isfinite(value) else None

        return {"n": self.n, "spearman": finite(self.spearman), "spearman_p": finite(self.spearman_p),
                "kendall_tau": finite(self.kendall_tau), "kendall_p": finite(self.kendall_p),
                "quadratic_weighted_kappa": finite(self.quadratic_kappa), "exact_match": self.exact_match,
                "labels": list(LABELS), "confusion_human_rows_judge_columns": self.confusion}


def agreement(human: np.ndarray, judge: np.ndarray) -> Agreement:
    """Compare paired integer ratings on the 1-5 scale (human first, as the reference)."""
    from scipy.stats import kendalltau, spearmanr
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    human, judge = np.asarray(human, dtype=int), np.asarray(judge, dtype=int)
    rho, rho_p = spearmanr(human, judge)
    tau, tau_p = kendalltau(human, judge)
    return Agreement(
        n=len(human), spearman=float(rho), spearman_p=float(rho_p), kendall_tau=float(tau),
        kendall_p=float(tau_p),
        quadratic_kappa=float(cohen_kappa_score(human, judge, labels=list(LABELS), weights="quadratic")),
        exact_match=float(np.mean(human == judge)),
        confusion=confusion_matrix(human, judge, labels=list(LABELS)).tolist())


def plot_confusion(result: Agreement, path: str | Path, title: str = "judge vs human") -> Path:
    """Save the confusion matrix as a PNG heatmap (humans on rows, judge on columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    figure, axes = plt.subplots(figsize=(5, 4.5))
    display = ConfusionMatrixDisplay(np.array(result.confusion), display_labels=list(LABELS))
    display.plot(ax=axes, cmap="Blues", colorbar=True)
    axes.set_xlabel("judge score")
    axes.set_ylabel("human score")
    axes.set_title(f"{title} (n={result.n}, QWK={result.quadratic_kappa:.2f})")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)
