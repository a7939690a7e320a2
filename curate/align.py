"""`curate align`: representation alignment between models on a dataset (seed 001's study)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer
from rich.console import Console

from curation.errors import InputError

app = typer.Typer(
    help="Representation alignment between models: mutual k-NN and companions.", no_args_is_help=True
)
console = Console()


@app.callback()
def _group() -> None:
    """Representation alignment between models: mutual k-NN and companions."""


def _read_table(path: Path):
    import polars as pl

    readers = {
        ".parquet": pl.read_parquet,
        ".csv": pl.read_csv,
        ".jsonl": pl.read_ndjson,
        ".json": pl.read_json,
    }
    if not path.exists():
        raise InputError("no such file", path=str(path))
    if path.suffix not in readers:
        raise InputError(f"unsupported format {path.suffix!r}; use {', '.join(readers)}", path=str(path))
    return readers[path.suffix](path)


def _require(df, column: str, path: Path) -> None:
    if column not in df.columns:
        raise InputError(f"missing column; has {', '.join(df.columns)}", path=str(path), field=column)


def _write_matrix(matrix, out: Path, name: str, title: str) -> None:
    from curation.alignment.analyses import axis_labels, heatmap

    (out / f"{name}.json").write_text(json.dumps(matrix.to_dict(), indent=2))
    with open(out / f"{name}.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", *matrix.cols])
        writer.writerows(
            [row, *map(float, values)] for row, values in zip(matrix.rows, matrix.scores, strict=True)
        )
    xlabel, ylabel = axis_labels(matrix.metric)
    path = out / f"{name}.png"
    heatmap(matrix.scores, matrix.rows, matrix.cols, path, title=title, xlabel=xlabel, ylabel=ylabel)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@app.command()
def run(
    models: str = typer.Option(..., help="Comma-separated language model ids or local paths."),
    data: Path = typer.Option(..., help="Dataset: .parquet, .csv, .jsonl or .json."),
    out: Path = typer.Option(..., help="Output folder for matrices (JSON/CSV), heatmaps and analyses."),
    column: str = typer.Option("text", help="Text column."),
    vision_models: str = typer.Option(
        "", help="Comma-separated vision model ids (language x vision matrix)."
    ),
    image_column: str = typer.Option("", help="Column of image paths (relative to the data file)."),
    subset: list[str] = typer.Option([], help="Boolean column to compare true vs false rows (repeatable)."),
    covariate: list[str] = typer.Option(
        [], help="Numeric column to regress per-sample scores on (repeatable)."
    ),
    metric: str = typer.Option(
        "mutual_knn",
        help="mutual_knn, cycle_knn, lcs_knn, edit_distance_knn, cknna, cka, unbiased_cka, svcca.",
    ),
    svcca_reduction: str = typer.Option(
        "exact", help="SVCCA reduction: exact (full SVD) or lowrank (the reference's torch.svd_lowrank)."
    ),
    seed: int = typer.Option(0, help="Seed of the lowrank SVCCA reduction's random matrix."),
    k: int = typer.Option(10, help="Neighbours for the k-NN metrics."),
    pooling: str = typer.Option("mean", help="Language features: mean over tokens, or last token."),
    batch_size: int = typer.Option(16),
    max_length: int = typer.Option(512),
    limit: int = typer.Option(0, help="Use only the first N rows (0: all)."),
    device: str = typer.Option(None, help="cuda or cpu (default: cuda when present)."),
    cache: Path = typer.Option(None, help="Feature cache folder (default: OUT/features)."),
    perplexity_model: str = typer.Option("", help="Causal LM for per-text perplexity as a covariate."),
    embedder: str = typer.Option("", help="Sentence embedder for mean pairwise cosine and k-means."),
    clusters: int = typer.Option(2, help="k-means clusters for --embedder."),
) -> None:
    """Features of every model, the model x model matrix, subsets, covariates and semantics."""
    from curation.alignment.analyses import alignment_matrix
    from curation.alignment.features import text_features
    from curation.alignment.layers import METRICS, SVCCA_REDUCTIONS

    if metric not in METRICS:
        raise InputError(f"unknown metric; choose from {', '.join(METRICS)}", field="metric")
    if svcca_reduction not in SVCCA_REDUCTIONS:
        raise InputError(f"choose from {', '.join(SVCCA_REDUCTIONS)}", field="svcca_reduction")
    df = _read_table(data)
    for name in [column, *subset, *covariate] + ([image_column] if image_column else []):
        _require(df, name, data)
    df = df.head(limit) if limit else df
    if len(df) <= k:
        raise InputError(f"needs more than k={k} rows, has {len(df)}", path=str(data))
    out.mkdir(parents=True, exist_ok=True)
    cache = cache or out / "features"
    texts = df[column].cast(str).to_list()
    options = dict(batch_size=batch_size, max_length=max_length, device=device, cache_dir=cache)
    feats = {m: text_features(texts, m, pooling=pooling, **options) for m in _split(models)}
    settings = dict(metric=metric, k=k, device=device, svcca_reduction=svcca_reduction, seed=seed)
    matrix = alignment_matrix(feats, **settings)
    _write_matrix(matrix, out, "matrix", f"{metric} (k={k}), N={matrix.n}")
    summary = {"matrix": matrix.to_dict()}
    vision: dict = {}

    if vision_models:
        vision = _vision_features(df, data, image_column, vision_models, batch_size, device, cache)
        cross = alignment_matrix(feats, vision, **settings)
        _write_matrix(cross, out, "language_x_vision", f"language x vision {metric}")
        summary["language_x_vision"] = cross.to_dict()

    duplicated, summary["duplicate_feature_rows"] = _duplicates(feats, vision)
    for name in subset:
        summary[f"subset_{name}"] = _subset(df, name, data, feats, matrix, out, settings)

    if matrix.per_sample is not None:
        summary["slopes"] = _covariates(
            df, texts, matrix.per_sample, covariate, perplexity_model, out, device, duplicated
        )
    if embedder:
        summary["semantics"] = _semantics(texts, embedder, clusters, options)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    console.print(
        f"[green]align:[/] {len(feats)} models x {matrix.n} samples, mean off-diagonal "
        f"{metric} {_off_diagonal_mean(matrix.scores):.4f} -> {out}",
        highlight=False,
    )



def _vision_features(df, data: Path, image_column: str, vision_models: str, batch_size: int,
                     device: str | None, cache: Path) -> dict:
    """Features of the images in `image_column` (paths relative to the data file) per vision model."""
    from curation.alignment.features import image_features

    if not image_column:
        raise InputError("--vision-models needs --image-column", field="image_column")
    paths = [data.parent / p for p in df[image_column].to_list()]
    return {m: image_features(paths, m, batch_size=batch_size, device=device, cache_dir=cache)
            for m in _split(vision_models)}


def _subset(df, name: str, data: Path, feats: dict, matrix, out: Path, settings: dict) -> dict:
    """The matrix on the rows where boolean column `name` is true, on the others, and their difference."""
    from curation.alignment.analyses import alignment_matrix, axis_labels, heatmap

    k, metric = settings["k"], settings["metric"]
    mask = df[name].cast(bool).to_numpy()
    if min(mask.sum(), (~mask).sum()) <= k:
        raise InputError(f"subset needs more than k={k} rows on each side, has {mask.sum()} / "
                         f"{(~mask).sum()}", path=str(data), field=name)
    parts = {flag: alignment_matrix(feats, mask=mask == flag, **settings) for flag in (True, False)}
    for flag, part in parts.items():
        _write_matrix(part, out, f"subset_{name}_{str(flag).lower()}", f"{name} = {flag}, N={part.n}")
    difference = parts[True].scores - parts[False].scores
    heatmap(difference, matrix.rows, matrix.cols, out / f"subset_{name}_difference.png",
            title=f"{name}: true - false", diverging=True,
            **dict(zip(("xlabel", "ylabel"), axis_labels(metric), strict=True)))
    return {"true": parts[True].to_dict(), "false": parts[False].to_dict(),
            "difference": difference.round(8).tolist()}

def _off_diagonal_mean(scores) -> float:
    import numpy as np

    if len(scores) < 2:
        return float(scores.mean())
    return float(scores[~np.eye(len(scores), dtype=bool)].mean())


def _duplicates(*models: dict):
    """Rows whose features exactly equal another row's (in some layer): where the tie rule decides.

    Returns the per-row flag (any model) and the report for summary.json.
    """
    import numpy as np

    from curation.alignment.analyses import TIE_RULE, duplicate_rows

    found = {name: duplicate_rows(feats) for group in models for name, feats in group.items()}
    anywhere = np.any([marked for marked, _ in found.values()], axis=0)
    return anywhere, {
        "tie_rule": TIE_RULE,
        "rows": np.flatnonzero(anywhere).tolist(),
        "models": {
            name: {"rows": int(marked.sum()), "groups_equal_in_every_layer": groups}
            for name, (marked, groups) in found.items()
        },
    }


def _covariates(df, texts, per_sample, covariate, perplexity_model, out, device, duplicated) -> list[dict]:
    """Per-sample scores (mean over model pairs) against length, perplexity and any numeric columns."""
    import dataclasses

    import numpy as np
    import polars as pl

    from curation.alignment.analyses import perplexity, score_vs_covariate

    table = {"alignment": per_sample, "length_words": [len(t.split()) for t in texts]}
    if perplexity_model:
        table["perplexity"] = perplexity(texts, perplexity_model, device=device)
    for name in covariate:
        table[name] = df[name].cast(float).to_numpy()
    pl.DataFrame({**table, "duplicate_features": duplicated}).write_csv(out / "per_sample.csv")
    slopes = []
    for name, values in table.items():
        values = np.asarray(values, dtype=float)
        if name == "alignment":
            continue
        if np.unique(values[np.isfinite(values)]).size < 2:  # no line to fit through one x value
            slopes.append({"covariate": name, "skipped": "the same value for every sample"})
            continue
        fit = score_vs_covariate(per_sample, values, name, out / f"score_vs_{name}.png")
        slopes.append(dataclasses.asdict(fit))
    return slopes


def _semantics(texts, embedder, clusters, options) -> dict:
    from curation.alignment.analyses import semantic_clusters, sentence_embeddings

    result = semantic_clusters(sentence_embeddings(texts, embedder, **options), clusters)
    result["labels"] = result["labels"].tolist()
    return result
