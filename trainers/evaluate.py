"""Evaluation in like space: transformed-space RMSE, then per-band errors after inverting, the
sum-of-predictions underprediction check (the sum ratio), calibration by predicted value, Spearman,
precision@k; JSON, a CSV calibration table and PNG plots.

Two views of the same errors answer different questions. The band table groups posts by their
*true* likes, so it has regression to the mean built in: even the best possible predictor (one that
knows everything the image says) is low on posts that turned out popular and high on those that did
not. Calibration by *predicted* value groups posts by what the model said: a calibrated model's mean
prediction matches the mean true likes in every bin, and a gap there is error a model can fix (the
retransformation bias of `trainers.retransform` is one).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from curation.transforms import get_transform

LIKE_BANDS = ((0.0, 200.0), (200.0, 2_000.0), (2_000.0, 20_000.0), (20_000.0, float("inf")))


def band_label(low: float, high: float) -> str:
    return f"{low:,.0f}+" if np.isinf(high) else f"{low:,.0f}-{high:,.0f}"


def to_likes(targets: np.ndarray, transform: str) -> np.ndarray:
    """Invert predictions to likes; predictions below f(0) mean zero likes."""
    t = get_transform(transform)
    return t.inverse(np.maximum(np.asarray(targets, dtype=np.float64), t.floor))


def precision_at_k(pred: np.ndarray, label: np.ndarray, k: int) -> float:
    """Fraction of the k most-liked posts that are among the k highest predictions."""
    k = min(k, len(label))
    top_true = set(np.argsort(-label, kind="stable")[:k].tolist())
    top_pred = np.argsort(-pred, kind="stable")[:k]
    return float(np.mean([i in top_true for i in top_pred.tolist()]))


def band_errors(pred_likes: np.ndarray, true_likes: np.ndarray) -> dict[str, dict[str, float]]:
    """Per like band of the *true* count: n, mean absolute and mean signed (pred - true) error."""
    result = {}
    for low, high in LIKE_BANDS:
        mask = (true_likes >= low) & (true_likes < high)
        err = pred_likes[mask] - true_likes[mask]
        result[band_label(low, high)] = {
            "n": int(mask.sum()),
            "mean_abs_error": float(np.abs(err).mean()) if mask.any() else float("nan"),
            "mean_signed_error": float(err.mean()) if mask.any() else float("nan")}
    return result


def calibration_by_prediction(pred_likes: np.ndarray, true_likes: np.ndarray,
                              bins: int = 10) -> list[dict[str, float]]:
    """Posts sorted by predicted likes, cut into `bins` equal-count bins: mean predicted vs mean true."""
    order = np.argsort(np.asarray(pred_likes), kind="stable")
    rows = []
    for number, index in enumerate(np.array_split(order, max(1, min(bins, len(order)))), start=1):
        pred, true = pred_likes[index], true_likes[index]
        rows.append({"bin": number, "n": len(index), "pred_low": float(pred.min()),
                     "pred_high": float(pred.max()), "mean_pred_likes": float(pred.mean()),
                     "mean_true_likes": float(true.mean()),
                     "ratio": float(pred.mean() / true.mean()) if true.mean() > 0 else float("nan")})
    return rows


def max_calibration_error(rows: list[dict[str, float]]) -> float:
    """The largest |mean predicted / mean true - 1| over calibration bins."""
    return float(np.nanmax([abs(row["ratio"] - 1.0) for row in rows]))


def spearman(pred: np.ndarray, target: np.ndarray) -> float:
    """Spearman's rho; NaN (not a warning) when either side is constant, as an untrained head's is."""
    if len(pred) < 2 or np.ptp(pred) == 0 or np.ptp(target) == 0:
        return float("nan")
    return float(spearmanr(pred, target).statistic)


def like_space_metrics(pred: np.ndarray, target: np.ndarray, transform: str,
                       ks: tuple[int, ...] = (10, 100), calibration_bins: int = 10) -> dict[str, Any]:
    """All metrics for transformed predictions `pred` against transformed labels `target`; `bands` are
    by true likes, `calibration` by predicted likes."""
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    mse = float(np.mean((pred - target) ** 2))
    pred_likes, true_likes = to_likes(pred, transform), to_likes(target, transform)
    return {
        "transform": transform, "n": len(pred), "mse": mse, "rmse": float(np.sqrt(mse)),
        "rmse_likes": float(np.sqrt(np.mean((pred_likes - true_likes) ** 2))),
        "sum_pred_target": float(pred.sum()), "sum_true_target": float(target.sum()),
        "sum_pred_likes": float(pred_likes.sum()), "sum_true_likes": float(true_likes.sum()),
        "sum_ratio": float(pred_likes.sum() / true_likes.sum()) if true_likes.sum() > 0 else float("nan"),
        "spearman": spearman(pred, target),
        "precision_at_k": {str(k): precision_at_k(pred, target, k) for k in ks},
        "bands": band_errors(pred_likes, true_likes),
        "calibration": calibration_by_prediction(pred_likes, true_likes, calibration_bins)}


@torch.no_grad()
def predict(model: torch.nn.Module, loader: Any, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Run the model over a DataLoader of a LikeImageStream: (predictions, targets)."""
    model.eval()
    preds, targets = [], []
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda"))
    for batch in loader:
        with autocast:
            preds.append(model(batch["pixels"].to(device, non_blocking=True)).float().cpu())
        targets.append(batch["target"].float())
    if not preds:
        raise loader.dataset.no_samples_error()  # a one-line reason, not torch.cat's traceback
    return torch.cat(preds).numpy(), torch.cat(targets).numpy()


def write_report(metrics: dict[str, Any], pred: np.ndarray, target: np.ndarray, out_dir: Path) -> list[Path]:
    """metrics.json, calibration.csv (by predicted likes), and three plots: predicted vs actual,
    residual per true-like band, and the reliability plot (mean true vs mean predicted per bin)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "metrics.json", out_dir / "pred_vs_actual.png", out_dir / "residual_by_band.png",
             out_dir / "calibration.csv", out_dir / "calibration.png"]
    paths[0].write_text(json.dumps(metrics, indent=2))
    write_calibration_table(metrics["calibration"], paths[3])
    plot_reliability(metrics, paths[4])
    transform = metrics["transform"]
    pred_likes, true_likes = to_likes(pred, transform), to_likes(target, transform)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(true_likes + 1, pred_likes + 1, s=4, alpha=0.4)
    top = max(true_likes.max(), pred_likes.max()) + 1
    ax.plot([1, top], [1, top], color="black", linewidth=1)
    ax.set(xscale="log", yscale="log", xlabel="actual likes + 1", ylabel="predicted likes + 1",
           title=f"{transform}: Spearman {metrics['spearman']:.3f}")
    fig.tight_layout()
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    groups = [(pred_likes - true_likes)[(true_likes >= lo) & (true_likes < hi)] for lo, hi in LIKE_BANDS]
    ax.boxplot([g if len(g) else [np.nan] for g in groups], showfliers=False)
    ax.set_xticks(range(1, len(LIKE_BANDS) + 1), [band_label(lo, hi) for lo, hi in LIKE_BANDS])
    ax.axhline(0, color="black", linewidth=1)
    ax.set(xlabel="true like band", ylabel="predicted - actual likes", yscale="symlog")
    fig.tight_layout()
    fig.savefig(paths[2], dpi=110)
    plt.close(fig)
    return paths


def write_calibration_table(rows: list[dict[str, float]], path: Path) -> Path:
    """The calibration-by-prediction rows as CSV (one row per predicted-likes bin)."""
    import polars as pl

    pl.DataFrame(rows).write_csv(path)
    return path


def plot_reliability(metrics: dict[str, Any], path: Path) -> Path:
    """Mean true likes against mean predicted likes per predicted-likes bin, log-log, with y = x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = metrics["calibration"]
    pred = np.array([row["mean_pred_likes"] for row in rows]) + 1
    true = np.array([row["mean_true_likes"] for row in rows]) + 1
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(pred, true, marker="o")
    low, high = min(pred.min(), true.min()), max(pred.max(), true.max())
    ax.plot([low, high], [low, high], color="black", linewidth=1, label="calibrated")
    ax.set(xscale="log", yscale="log", xlabel="mean predicted likes + 1 (per bin)",
           ylabel="mean true likes + 1",
           title=f"calibration by prediction: sum ratio {metrics['sum_ratio']:.3f}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
