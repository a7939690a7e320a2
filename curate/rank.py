"""`curate rank fit` and `curate rank score`: rank axes in an embedding space (seed 002)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from filters.posts.clip_defaults import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED

console = Console()
app = typer.Typer(help="Rank axes: fit a direction from a few labelled extremes, score datasets on it.",
                  no_args_is_help=True)

EmbedderOption = Annotated[str, typer.Option(
    help="minilm (text through the shipped all-MiniLM-L6-v2), clip (image paths through open_clip) "
         "or column (an embedding column); --features overrides it")]


def read_table(path: Path):
    import polars as pl

    from curation.errors import InputError

    readers = {".parquet": pl.read_parquet, ".csv": pl.read_csv, ".jsonl": pl.read_ndjson,
               ".ndjson": pl.read_ndjson}
    if path.suffix not in readers:
        raise InputError("expected a .parquet, .csv or .jsonl table", path=str(path))
    try:
        return readers[path.suffix](path)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise InputError(f"cannot read the table ({str(error).splitlines()[0]})", path=str(path)) from None


def load_features(table, features: Path | None, embedder: str, column: str, device: str,
                  clip_model: str, clip_pretrained: str | None):
    """(features, embedder name) for the rows of `table`."""
    import numpy as np

    from curation.errors import InputError
    from filters.rank import column_matrix, image_embeddings, text_embeddings

    if features is not None:
        matrix = np.load(features) if features.suffix == ".npy" else column_matrix(
            read_table(features).to_series(0))
        if len(matrix) != table.height:
            raise InputError(f"{len(matrix)} feature rows for {table.height} table rows", path=str(features))
        return matrix, f"features:{features.name}"
    if column not in table.columns:
        raise InputError(f"no column {column!r} (columns: {', '.join(table.columns)})")
    values = table[column]
    if embedder == "minilm":
        return text_embeddings(values.fill_null("").to_list(), device=device), "minilm"
    if embedder == "clip":
        return image_embeddings(values.to_list(), clip_model, clip_pretrained, device), "clip"
    return column_matrix(values), "column"


def fit(
    table_path: Annotated[Path, typer.Argument(metavar="TABLE", help="Parquet, CSV or JSONL rows")],
    out: Annotated[Path, typer.Option("--out", help="Axis file to write (.safetensors, with a .json)")],
    label: Annotated[str, typer.Option(help="The numeric label column (e.g. likes, a judge score)")],
    per_end: Annotated[int | None, typer.Option(
        help="Fit from the K lowest and K highest labels (difference of means); without it, a ridge "
             "direction on every label")] = None,
    column: Annotated[str, typer.Option(help="Text, image-path or embedding column")] = "text",
    embedder: EmbedderOption = "minilm",
    features: Annotated[Path | None, typer.Option(help="A .npy or Parquet of features, one row per "
                                                  "table row, instead of embedding --column")] = None,
    log_label: Annotated[bool, typer.Option(help="Use log1p(label), for counts such as likes")] = False,
    alpha: Annotated[float, typer.Option(help="Ridge strength")] = 1.0,
    clip_model: Annotated[
        str, typer.Option(help="open_clip architecture (--embedder clip)")] = DEFAULT_CLIP_MODEL,
    clip_pretrained: Annotated[str | None, typer.Option(
        help="open_clip weights tag; 'none' for random weights")] = DEFAULT_CLIP_PRETRAINED,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto")] = "cpu",
    as_json: Annotated[bool, typer.Option("--json", help="Print the axis metadata as JSON")] = False,
) -> None:
    """Fit a rank axis on TABLE's embeddings and save it (safetensors + JSON metadata)."""
    import numpy as np

    from curation.errors import InputError
    from curation.rank_axis import axis_from_extremes, axis_from_labels, extreme_rows

    table = read_table(table_path)
    if label not in table.columns:
        raise InputError(f"no label column {label!r}", path=str(table_path))
    labels = table[label].cast(float, strict=False).to_numpy().astype(np.float64)
    labels = np.log1p(labels) if log_label else labels
    matrix, embedder_name = load_features(table, features, embedder, column, device, clip_model,
                                          clip_pretrained)
    info = {"embedder": embedder_name, "label": label, "log_label": log_label, "column": column,
            "rows": table.height, "source": str(table_path)}
    if embedder_name == "clip":
        info |= {"clip_model": clip_model, "clip_pretrained": clip_pretrained}
    if per_end is not None:
        low, high = extreme_rows(labels, per_end)
        axis = axis_from_extremes(matrix, low, high, info)
    else:
        axis = axis_from_labels(matrix, labels, alpha, info)
    axis.save(out)
    scores = axis.score(matrix)
    finite = np.isfinite(labels)
    from scipy.stats import spearmanr

    info = {**axis.metadata, "out": str(out),
            "spearman_on_fit_rows": float(spearmanr(scores[finite], labels[finite]).statistic)}
    if as_json:
        print(json.dumps(info))
    else:
        console.print(f"axis ({info['method']}) saved to {out}; Spearman with {label} on the rows it "
                      f"was fitted on: {info['spearman_on_fit_rows']:.3f}")


def score(
    input_path: Annotated[str, typer.Argument(metavar="INPUT", help="Any input `curate poems clean` reads")],
    axis: Annotated[Path, typer.Option(help="An axis written by `curate rank fit`")],
    out: Annotated[Path, typer.Option("--out", help="Output folder: kept/, rejected/, manifest.json")],
    column: Annotated[str, typer.Option(help="Text, image-path or embedding column")] = "text",
    embedder: EmbedderOption = "minilm",
    min_score: Annotated[float | None, typer.Option(
        help="Reject rows scoring below this (reason below_rank_threshold)")] = None,
    device: Annotated[str, typer.Option(help="cpu or cuda")] = "cpu",
    batch_size: Annotated[int, typer.Option(help="Rows per batch")] = 256,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON")] = False,
) -> None:
    """Add `rank_score` to every row of INPUT, as a stage run by the engine (kept, rejected, manifest)."""
    from functools import partial

    from curation.engine import run
    from curation.readers import open_reader
    from filters.rank import rank_stages

    rank_stages(axis, embedder, "text", min_score, device)  # a bad axis fails here, before any work
    reader = open_reader(input_path, text_column=column, batch_size=batch_size)  # read into `text`
    stages = partial(rank_stages, axis, embedder, "text", min_score, device)
    params = {"axis": str(axis), "embedder": embedder, "column": column, "min_score": min_score}
    manifest = run(reader, stages, out, command="rank score", params=params, progress=not as_json,
                   description="scoring")
    if as_json:
        print(json.dumps(manifest.to_dict()))
    else:
        console.print(f"{manifest.rows_kept:,} rows scored into {out}/kept, "
                      f"{manifest.rows_rejected:,} rejected")


app.command("fit")(fit)
app.command("score")(score)
