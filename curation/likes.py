"""Like-space analysis of target transforms: the seed's error simulation and target statistics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from curation.errors import InputError
from curation.transforms import get_transform

SEED_TRANSFORMS = ("log1p", "sqrt*log", "cbrt*log")
GLOBAL_RANGE = (1.0, 100_000.0)
FOCUSED_RANGE = (200.0, 20_000.0)


@dataclass(frozen=True)
class ErrorCurve:
    """Like-space error of one transform under a constant relative error in transformed space."""

    transform: str
    likes: np.ndarray
    over: np.ndarray
    under: np.ndarray

    @property
    def mean_abs_error(self) -> float:
        """Mean of |x - f^-1(f(x) * (1 +- e))| over the grid and both signs (the seed's average)."""
        return float(np.concatenate([self.over, self.under]).mean())


def simulate_error(transform: str, low: float, high: float, points: int = 100,
                   relative_error: float = 0.10) -> ErrorCurve:
    """Perturb f(x) by +-relative_error on an evenly spaced grid and map both back to likes."""
    if not 0 <= low < high:
        raise InputError(f"need 0 <= low < high, got {low:g}..{high:g}")
    if not 0 < relative_error < 1:
        raise InputError(f"relative error must lie in (0, 1), got {relative_error:g}")
    t = get_transform(transform)
    likes = np.linspace(low, high, points)
    targets = t.forward(likes)
    floor = t.floor
    over = t.inverse(targets * (1 + relative_error)) - likes
    under = likes - t.inverse(np.maximum(targets * (1 - relative_error), floor))
    return ErrorCurve(t.name, likes, np.abs(over), np.abs(under))


def error_table(transforms: tuple[str, ...] = SEED_TRANSFORMS, relative_error: float = 0.10,
                points: int = 100, ranges: dict[str, tuple[float, float]] | None = None,
                ) -> dict[str, dict[str, ErrorCurve]]:
    """Curves per range name ('global', 'focused') and transform."""
    ranges = ranges or {"global": GLOBAL_RANGE, "focused": FOCUSED_RANGE}
    return {label: {name: simulate_error(name, lo, hi, points, relative_error) for name in transforms}
            for label, (lo, hi) in ranges.items()}


def plot_error_curves(table: dict[str, dict[str, ErrorCurve]], path: Path, relative_error: float) -> Path:
    """One panel per range: over- and under-estimate (likes) against true likes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(table), figsize=(6 * len(table), 4.5), squeeze=False)
    for ax, (label, curves) in zip(axes[0], table.items(), strict=True):
        for curve in curves.values():
            line, = ax.plot(curve.likes, curve.over, label=f"{curve.transform} (+{relative_error:.0%})")
            ax.plot(curve.likes, curve.under, linestyle="--", color=line.get_color(),
                    label=f"{curve.transform} (-{relative_error:.0%})")
        lo, hi = next(iter(curves.values())).likes[[0, -1]]
        ax.set(title=f"{label}: {lo:,.0f}-{hi:,.0f} likes", xlabel="likes", ylabel="absolute error (likes)",
               yscale="log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def read_like_column(path: Path, column: str) -> pl.Series:
    """Read one like-count column from Parquet, CSV, JSON (array) or JSONL, checking it is usable."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputError("no such file", path=str(path))
    readers = {".parquet": lambda: pl.scan_parquet(path).select(column).collect(),
               ".csv": lambda: pl.scan_csv(path).select(column).collect(),
               ".jsonl": lambda: pl.scan_ndjson(path).select(column).collect(),
               ".ndjson": lambda: pl.scan_ndjson(path).select(column).collect(),
               ".json": lambda: pl.read_json(path).select(column)}
    if suffix not in readers:
        raise InputError(f"unsupported format '{suffix}' (use .parquet, .csv, .json or .jsonl)",
                         path=str(path))
    try:
        series = readers[suffix]().to_series()
    except pl.exceptions.ColumnNotFoundError:
        raise InputError("column not found (pick one with --column)", path=str(path), field=column) from None
    if not series.dtype.is_numeric():
        raise InputError(f"like counts must be numeric, found {series.dtype}", path=str(path), field=column)
    negative = series.lt(0).arg_true()
    if len(negative):
        row = int(negative[0])
        raise InputError(f"negative like count {series[row]}", path=str(path), row=row, field=column)
    return series.drop_nulls().cast(pl.Float64)


def summarize(values: np.ndarray) -> dict[str, float]:
    """count, mean, std, min, quartiles, max: the seed's `describe()` table."""
    series = pl.Series(values)
    quartiles = {f"{q:.0%}": float(series.quantile(q, "linear")) for q in (0.25, 0.5, 0.75)}
    return {"count": float(len(series)), "mean": float(series.mean()), "std": float(series.std()),
            "min": float(series.min()), **quartiles, "max": float(series.max())}


def describe_likes(likes: np.ndarray, transforms: tuple[str, ...] = SEED_TRANSFORMS) -> dict[str, dict]:
    """Summaries of the raw like counts and of each transformed target."""
    result = {"raw": summarize(likes)}
    for name in transforms:
        result[name] = summarize(get_transform(name).forward(likes))
    return result
