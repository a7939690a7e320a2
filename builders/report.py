"""Two-sample report of an aligned revision: KS statistic and a histogram of reference vs sample lengths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

HISTOGRAM_FILE = "length_hist.png"


@dataclass(frozen=True)
class TwoSampleReport:
    ks_statistic: float
    ks_pvalue: float
    reference_n: int
    sample_n: int
    reference_mean: float
    sample_mean: float
    reference_median: float
    sample_median: float

    def as_dict(self) -> dict:
        return {"ks_statistic": round(self.ks_statistic, 6), "ks_pvalue": float(f"{self.ks_pvalue:.6g}"),
                "reference_n": self.reference_n, "sample_n": self.sample_n,
                "reference_mean_words": round(self.reference_mean, 3),
                "sample_mean_words": round(self.sample_mean, 3),
                "reference_median_words": self.reference_median, "sample_median_words": self.sample_median}


def two_sample_report(reference: np.ndarray, sample: np.ndarray) -> TwoSampleReport:
    """Two-sided Kolmogorov-Smirnov test (scipy) between reference and sample lengths."""
    result = stats.ks_2samp(reference, sample)
    return TwoSampleReport(ks_statistic=float(result.statistic), ks_pvalue=float(result.pvalue),
                           reference_n=int(len(reference)), sample_n=int(len(sample)),
                           reference_mean=float(np.mean(reference)), sample_mean=float(np.mean(sample)),
                           reference_median=float(np.median(reference)),
                           sample_median=float(np.median(sample)))


def length_histogram(reference: np.ndarray, sample: np.ndarray, path: Path, *, title: str,
                     edges: np.ndarray | None = None) -> Path:
    """Overlaid density histograms of both length distributions, with the bin edges marked, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = np.concatenate([reference, sample]).astype(np.float64)
    upper = np.quantile(values, 0.995)
    bins = np.histogram_bin_edges(values[values <= upper], bins=40)
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    axes.hist(reference, bins=bins, density=True, alpha=0.5, label=f"reference (n={len(reference):,})")
    axes.hist(sample, bins=bins, density=True, alpha=0.5, label=f"sample (n={len(sample):,})")
    if edges is not None:
        for edge in edges:
            axes.axvline(edge, color="grey", linewidth=0.4, alpha=0.6)
    axes.set_xlabel("words")
    axes.set_ylabel("density")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
    return path
