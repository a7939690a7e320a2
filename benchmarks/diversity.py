"""Vendi score time: the dual (d x d covariance) form against the direct (n x n) form.

    python benchmarks/diversity.py [--rows 100000 --dim 384 --direct-rows 5000 --repeats 3]

Random Gaussian rows (seeded). The direct form builds an n x n similarity matrix, so it is timed
only up to --direct-rows; the dual form is timed at every size. Prints wall and CPU seconds
(medians over --repeats) and the score, which both forms must agree on where both run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from builders.diversity import vendi_score


def timed(rows: np.ndarray, form: str, repeats: int) -> tuple[float, float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        score = vendi_score(rows, form=form)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--direct-rows", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    table = Table(title=f"Vendi score of random {args.dim}-d rows (medians of {args.repeats})")
    for column in ("rows", "form", "wall s", "CPU s", "Vendi"):
        table.add_column(column, justify="right")
    sizes = sorted({min(args.direct_rows, args.rows), args.rows})
    for n in sizes:
        rows = rng.normal(size=(n, args.dim)).astype(np.float32)
        forms = ("dual", "direct") if n <= args.direct_rows else ("dual",)
        for form in forms:
            wall, cpu, score = timed(rows, form, args.repeats)
            table.add_row(f"{n:,}", form, f"{wall:.2f}", f"{cpu:.2f}", f"{score:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
