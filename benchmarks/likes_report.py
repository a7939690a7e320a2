"""Tables and verdicts of the synthetic like benchmark (`synthetic_likes.py`)."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.table import Table

MSE, FIX, FULL_FIX = "mse (seed)", "mse + retransform", "mse + retransform, aim 1.0"
ORACLE_LIFT = "oracle + achieved lift at RMSE x1.05"
ORACLE_FIX = "oracle: f(E(likes | quality))"
FIX_GOALS = "sum ratio 1.00 +- 0.03, every calibration bin within +-10%, RMSE <= x1.03"


def meets_fix_goals(m: dict) -> bool:
    return abs(m["sum_ratio"] - 1) <= 0.03 and m["calibration_error"] <= 0.10 and m["rmse_ratio"] <= 1.03


def halves(m: dict) -> bool:
    return abs(m["x_mse_head"]) <= 0.5 and m["rmse_ratio"] <= 1.05


def print_seed(console: Console, results: dict[str, dict], seed: int) -> None:
    bands = list(results[MSE]["bands"])
    table = Table(title=f"seed {seed}, test posts: mean signed error (predicted - true likes) per TRUE-like "
                        "band (regression to the mean is built in: the oracle has it too)")
    for column in ["option", "RMSE", "x MSE head", "R^2", "Spearman", "sum pred/true", *bands,
                   "2k-20k excess over oracle", "x oracle's"]:
        table.add_column(column, justify="right")
    for name, m in results.items():
        table.add_row(name, f"{m['rmse']:.3f}", f"{m['rmse_ratio']:.3f}", f"{m['r2']:.3f}",
                      f"{m['spearman']:.3f}", f"{m['sum_ratio']:.3f}",
                      *[f"{m['bands'][b]['mean_signed_error']:,.0f}" for b in bands],
                      f"{m['excess_over_oracle']:+,.0f}", f"{m['x_oracle']:.2f}")
    counts = [f"{results[MSE]['bands'][b]['n']:,}" for b in bands]
    table.add_row("(posts per band)", "", "", "", "", "", *counts)
    console.print(table)
    table = Table(title=f"seed {seed}, test posts: calibration by PREDICTED likes, mean predicted / mean "
                        "true per decile of predicted likes (calibrated: 1.00)")
    for column in ["option", *[str(k) for k in range(1, 11)], "max |x - 1|", "sum pred/true"]:
        table.add_column(column, justify="right")
    for name, m in results.items():
        table.add_row(name, *[f"{row['ratio']:.2f}" for row in m["calibration"]],
                      f"{m['calibration_error']:.3f}", f"{m['sum_ratio']:.3f}")
    console.print(table)
    verdict(console, results)


def verdict(console: Console, results: dict[str, dict]) -> None:
    """What is fixable, whether the fix reaches its goals, and the frontier with its upper bound."""
    head = results[MSE]
    console.print(f"MSE head: sum of predicted / true likes {head['sum_ratio']:.3f}, calibration by "
                  f"predicted likes off by up to {head['calibration_error']:.0%}; 2k-20k error by true likes "
                  f"{head['band_error']:,.0f}, x{head['x_oracle']:.2f} of the oracle's own "
                  f"({head['excess_over_oracle']:+,.0f} likes of it is the head's).")
    for name in (FIX, FULL_FIX, ORACLE_FIX):
        if name not in results:
            continue
        m = results[name]
        aim = f" (aim {m['aim']:.3f})" if "aim" in m else ""
        console.print(f"{name:>30}{aim}: sum {m['sum_ratio']:.3f}, calibration within "
                      f"{m['calibration_error']:.1%}, RMSE x{m['rmse_ratio']:.3f} -> "
                      f"{'meets' if meets_fix_goals(m) else 'misses'} "
                      f"({FIX_GOALS})")
    console.print(f"{'':>30}  the fix fitted on validation meets the goals on test at "
                  f"{aim_range(results[FIX])}")
    population = results[ORACLE_FIX]["population"]
    console.print(f"{'':>30}  population: f(E(likes | q)) has 2k-20k error "
                  f"{population['band_error']:,.0f} at MSE {population['mse']:.1f}; the upper bound there is "
                  f"{population['upper_bound']:,.0f}")
    bound = results[ORACLE_LIFT]["bound"]
    reach = ("reached" if bound["achieved"] >= bound["needed"] else
             "not excluded" if bound["upper_bound"] >= bound["needed"] else "out of reach")
    console.print(f"At RMSE within x1.05 of the MSE head's (population, predictions up to "
                  f"{bound['top']:.0f}): a predictor of the quality reaches a 2k-20k error of "
                  f"{bound['achieved']:,.0f} likes; none does better than {bound['upper_bound']:,.0f} "
                  f"(upper bound); halving the head's needs {bound['needed']:,.0f} -> {reach}")
    achieved, upper = results[ORACLE_LIFT]["frontier"], results[ORACLE_LIFT]["frontier_bound"]
    console.print("Frontier, x the oracle's own 2k-20k error at RMSE x the oracle's (population): "
                  + ", ".join(f"x{achieved[k]:.2f} achieved / x{upper[k]:.2f} bound at RMSE x{k}"
                              for k in achieved))


def aim_range(fix: dict) -> str:
    aims = fix.get("goal_aims", [])
    return f"aims {min(aims):.3f}-{max(aims):.3f}" if aims else "no aim from 0.950 to 1.000"


def summarize(console: Console, runs: dict[int, dict[str, dict]]) -> None:
    seeds = list(runs)
    table = Table(title=f"test split over seeds {', '.join(map(str, seeds))}, mean +- sd")
    for column in ["option", "2k-20k error by true likes", "excess over oracle", "x oracle's", "x MSE head's",
                   "sum pred/true", "max calibration |x - 1|", "RMSE x MSE head", "fix goals (seeds)",
                   "halves within x1.05 (seeds)"]:
        table.add_column(column, justify="right")

    def cell(values: np.ndarray, fmt: str) -> str:
        return f"{format(values.mean(), fmt)} +- {format(values.std(ddof=1), fmt.lstrip('+'))}"

    for name in runs[seeds[0]]:
        rows = [runs[seed][name] for seed in seeds]
        column = {key: np.array([m[key] for m in rows]) for key in
                  ("band_error", "excess_over_oracle", "x_oracle", "x_mse_head", "sum_ratio",
                   "calibration_error", "rmse_ratio")}
        table.add_row(name, cell(column["band_error"], ",.0f"), cell(column["excess_over_oracle"], "+,.0f"),
                      cell(column["x_oracle"], ".2f"), cell(column["x_mse_head"], ".2f"),
                      cell(column["sum_ratio"], ".3f"), cell(column["calibration_error"], ".3f"),
                      cell(column["rmse_ratio"], ".3f"), f"{sum(map(meets_fix_goals, rows))}/{len(rows)}",
                      f"{sum(map(halves, rows))}/{len(rows)}")
    console.print(table)
    every = set.intersection(*(set(runs[seed][FIX].get("goal_aims", [])) for seed in seeds))
    console.print("The fix meets its goals on test at " + "; ".join(
        f"seed {seed} {aim_range(runs[seed][FIX])}" for seed in seeds) + " -> on every seed at "
        + (f"aims {min(every):.3f}-{max(every):.3f}" if every else "no single aim")
        + "; the default chose " + ", ".join(f"{runs[seed][FIX]['aim']:.3f}" for seed in seeds))
    bounds = [runs[seed][ORACLE_LIFT]["bound"] for seed in seeds]
    console.print("At RMSE x1.05 of the MSE head's, 2k-20k error achieved / upper bound / halving needs: "
                  + "; ".join(f"seed {seed} {b['achieved']:,.0f} / {b['upper_bound']:,.0f} / "
                              f"{b['needed']:,.0f}" for seed, b in zip(seeds, bounds, strict=True)))
