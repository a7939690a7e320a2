"""`curate poems score` and `curate poems agreement`: the LLM judge and its agreement with humans.

The lead registers `score` and `agreement` on the poems group; `app` holds both for direct use.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from curation.errors import InputError
from curation.outputs import prepare_output_dir

app = typer.Typer(help="Score poems with an LLM judge and compare with human ratings.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
console = Console(stderr=True)


class Backend(StrEnum):
    openai = "openai"
    transformers = "transformers"


EXIT_SCORED, EXIT_SOME_FAILED, EXIT_ERROR, EXIT_NONE_SCORED, EXIT_ENDPOINT_DOWN = 0, 1, 2, 3, 4
TABLE_SUFFIXES = (".parquet", ".csv", ".jsonl", ".ndjson")


def read_table(path: Path, columns: list[str]):
    """Rows of a Parquet, CSV or JSONL file or a folder of `*.parquet`, with `columns` checked up front."""
    import polars as pl

    if path.is_dir():
        files = sorted(path.glob("*.parquet"))
        if not files:
            raise InputError("no *.parquet files in this folder", path=str(path))
        frame = pl.scan_parquet(files)
    elif not path.is_file():
        raise InputError("no such file or folder", path=str(path))
    elif path.suffix.lower() not in TABLE_SUFFIXES:
        raise InputError(f"cannot read '{path.suffix}' files: give a Parquet, CSV or JSONL file",
                         path=str(path))
    else:
        scan = {".csv": pl.scan_csv, ".jsonl": pl.scan_ndjson, ".ndjson": pl.scan_ndjson}
        frame = scan.get(path.suffix.lower(), pl.scan_parquet)(path)
    try:
        present = frame.collect_schema().names()
    except (pl.exceptions.PolarsError, OSError) as error:
        raise InputError(f"unreadable ({str(error).splitlines()[0]})", path=str(path)) from None
    for column in columns:
        if column not in present:
            raise InputError(f"missing column (found: {', '.join(present)})", path=str(path), field=column)
    return frame


def output_subfolder(path: Path, name: str) -> Path:
    """`path/name` when `path` is a command's output folder holding it (e.g. OUT/scored), else `path`."""
    return path / name if (path / name).is_dir() else path


def read_poems(source: str, limit: int | None):
    """The first `limit` rows of any input `poems clean` reads, as (poems to score, unreadable rows)."""
    import polars as pl

    from curation.readers import FORMAT_OF_SUFFIX, open_reader
    from curation.schema import REJECT_REASON, REJECT_STAGE

    local = Path(source)
    if local.is_dir():
        source = str(output_subfolder(local, "kept"))
    elif local.is_file() and local.suffix.lower() not in FORMAT_OF_SUFFIX:
        raise InputError(f"cannot read '{local.suffix}' files: give a Parquet, CSV or JSONL file, a folder "
                         "of Parquet files or a Kaggle forms folder", path=source)
    batches, rows = [], 0
    for batch in open_reader(source).batches():
        batches.append(batch)
        rows += batch.height
        if limit and rows >= limit:
            break
    frame = pl.concat(batches, how="diagonal_relaxed") if batches else pl.DataFrame()
    frame = frame.head(limit) if limit else frame
    if frame.height == 0:
        raise InputError("no poems to score", path=source)
    if frame.schema["text"] == pl.Null:
        frame = frame.with_columns(pl.col("text").cast(pl.String))
    if frame.schema["text"] != pl.String:
        raise InputError(f"the poem text must be strings, found {frame.schema['text']}", path=source,
                         field="text")
    reason = pl.col(REJECT_REASON) if REJECT_REASON in frame.columns else pl.lit(None, pl.String)
    frame = frame.with_columns(
        pl.when(reason.is_null() & (pl.col("text").str.strip_chars().str.len_chars().fill_null(0) == 0))
        .then(pl.lit("empty_text")).otherwise(reason).alias(REJECT_REASON))
    stage = pl.col(REJECT_STAGE) if REJECT_STAGE in frame.columns else pl.lit(None, pl.String)
    unreadable = frame.filter(pl.col(REJECT_REASON).is_not_null()).with_columns(
        stage.fill_null("read").alias(REJECT_STAGE))
    if unreadable.height == frame.height:
        reasons = unreadable[REJECT_REASON].value_counts(sort=True).rows()
        raise InputError("no row has a poem to score (" + ", ".join(f"{r} {n}" for r, n in reasons) + ")",
                         path=source)
    return frame.filter(pl.col(REJECT_REASON).is_null()).select("row_id", "text"), unreadable


def score(
    poems: str = typer.Argument(..., metavar="POEMS", help="What to score: a `poems clean` output folder "
                                "(its kept/), or any input `poems clean` reads (Parquet, CSV, JSONL, ...) "
                                "with a text column; row_id is taken from the input or made from file and "
                                "row."),
    out: Path = typer.Option(..., "--out", help="Output folder: scored/*.parquet, summary, judge_store/."),
    backend: Backend = typer.Option(Backend.openai, help="An OpenAI-compatible endpoint or a local LM."),
    model: str | None = typer.Option(None, help="Model name [env CURATE_JUDGE_MODEL; default gpt-4o]."),
    base_url: str | None = typer.Option(None, help="Endpoint base URL, e.g. http://localhost:8000/v1 "
                                                   "[env OPENAI_BASE_URL; default https://api.openai.com/v1]."),
    api_key: str | None = typer.Option(None, envvar="OPENAI_API_KEY", show_default=False,
                                       help="API key; prefer the OPENAI_API_KEY environment variable."),
    concurrency: int = typer.Option(32, min=1, help="Requests in flight (openai back-end)."),
    template: Path | None = typer.Option(None, help="Prompt template file with a {poem} placeholder."),
    limit: int | None = typer.Option(None, min=1, help="Score only the first N poems."),
    timeout: float = typer.Option(60.0, help="Seconds per request before it is retried."),
    max_retries: int = typer.Option(5, min=0, help="Retries of a request on timeouts, 429 and 5xx."),
    max_failures_in_a_row: int = typer.Option(
        16, min=0, help="Stop the run (exit 4) when this many requests in a row get no answer (closed "
                        "port, DNS failure, connection refused or reset, timeout) or a 5xx. 0: never."),
    max_reasks: int = typer.Option(2, min=0, help="Re-asks when a reply is malformed (openai back-end)."),
    temperature: float = typer.Option(0.0, help="Sampling temperature (openai back-end)."),
    batch_size: int = typer.Option(8, min=1, help="Poems per generation batch (transformers back-end)."),
    max_new_tokens: int = typer.Option(512, min=1, help="Reply length limit in tokens."),
    retry_failed: bool = typer.Option(False, help="Also re-ask poems whose stored judgement failed for a "
                                                  "lasting reason (unusable reply, HTTP 4xx). Transient "
                                                  "failures (timeout, connection, 429, 5xx) are always "
                                                  "retried."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Score poems 1-5 with the LLM judge; re-running the same command resumes where it stopped.

    Exit codes: 0 every poem scored; 1 some failed; 2 bad input or options, or the endpoint refused the
    key, model or URL; 3 no poem scored; 4 the endpoint is down: stopped, re-run to resume."""
    from curation.judge import JudgeStore, PromptTemplate, score_poems
    from curation.judge.breaker import JudgeUnavailableError

    prompt = PromptTemplate.from_file(template) if template else PromptTemplate.default()
    frame, unreadable = read_poems(poems, limit)
    judge = _make_judge(backend, model, base_url, api_key=api_key, concurrency=concurrency, timeout=timeout,
                        max_retries=max_retries, max_failures_in_a_row=max_failures_in_a_row,
                        max_reasks=max_reasks, temperature=temperature, batch_size=batch_size,
                        max_new_tokens=max_new_tokens)
    try:
        with JudgeStore(out / "judge_store") as store:
            run = score_poems(frame, judge, store, prompt, retry_failed=retry_failed, show_progress=progress)
    except JudgeUnavailableError as error:
        from curate import fail

        fail(str(error), EXIT_ENDPOINT_DOWN)
    _write_shards(out / "scored", "scored", run.frame)
    _write_shards(out / "rejected", "read", unreadable)
    summary = {**run.summary(), "rejected_at_read": unreadable.height, "backend": backend.value,
               "model": judge.model, "prompt_sha": prompt.sha, "template": prompt.source, "input": poems}
    summary["exit_code"] = score_exit_code(summary)
    (out / "judge_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _print_summary(summary, out)
    raise typer.Exit(summary["exit_code"])


def score_exit_code(summary: dict) -> int:
    if not summary["failed"]:
        return EXIT_SCORED
    return EXIT_SOME_FAILED if summary["scored"] else EXIT_NONE_SCORED


def _write_shards(folder: Path, prefix: str, frame) -> None:
    """Replace the shards of an earlier run in `folder` with `frame`'s rows."""
    from curation.writers import ParquetShardWriter

    for old in folder.glob("*.parquet"):
        old.unlink()
    ParquetShardWriter(folder, prefix=prefix).close_with(frame)


def _print_summary(summary: dict, out: Path) -> None:
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in summary["failed_by_reason"].items())
    lines = [f"scored {summary['scored']:,} of {summary['poems']:,} poems, failed {summary['failed']:,}"
             + (f" ({reasons})" if reasons else "")
             + f"; {summary['requested_this_run']:,} requested, {summary['reused_from_store']:,} from the "
               f"store -> {out}"]
    if summary["rejected_at_read"]:
        lines.append(f"{summary['rejected_at_read']:,} unreadable or empty rows not scored -> "
                     f"{out / 'rejected'}")
    if summary["failed_transient"]:
        lines.append(f"{summary['failed_transient']:,} failed for a transient reason (timeout, connection, "
                     "429, 5xx): re-run the same command to retry them")
    if summary["failed_other"]:
        lines.append(f"{summary['failed_other']:,} failed otherwise (unusable reply, HTTP 4xx): re-run with "
                     "--retry-failed to ask again")
    for line in lines:
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def _make_judge(backend: Backend, model: str | None, base_url: str | None, **options):
    if backend is Backend.transformers:
        from curation.errors import CurationError
        from curation.judge.transformers_backend import TransformersJudge

        if not model:
            raise CurationError("--model is required with --backend transformers (a Hub name or local path)")
        return TransformersJudge(model, batch_size=options["batch_size"],
                                 max_new_tokens=options["max_new_tokens"])
    from curation.judge import OpenAIConfig, OpenAIJudge

    config = OpenAIConfig.from_env(base_url=base_url, model=model, api_key=options["api_key"],
                                   concurrency=options["concurrency"],
                                   timeout=options["timeout"], max_retries=options["max_retries"],
                                   max_failures_in_a_row=options["max_failures_in_a_row"],
                                   max_reasks=options["max_reasks"], temperature=options["temperature"],
                                   max_tokens=options["max_new_tokens"])
    return OpenAIJudge(config)


def agreement(
    scored: Path = typer.Argument(..., help="Scored poems: the `poems score` output folder, its scored/, "
                                            "or a Parquet, CSV or JSONL file."),
    human: Path = typer.Option(..., "--human", help="Human ratings (CSV or Parquet): key and 1-5 score."),
    out: Path | None = typer.Option(None, "--out", help="Folder for agreement.json and confusion.png "
                                    "(default: agreement/ beside the scores)."),
    key: str = typer.Option("row_id", help="Column joining poems and ratings."),
    human_column: str = typer.Option("human_score", help="Human rating column (several rows per poem are "
                                                         "averaged, then rounded)."),
) -> None:
    """Spearman, Kendall tau, quadratic-weighted kappa and confusion matrix of judge vs human scores."""
    import polars as pl

    from curation.judge.agreement import agreement as measure
    from curation.judge.agreement import plot_confusion

    judged = (read_table(output_subfolder(scored, "scored"), [key, "aesthetic_score"])
              .select(key, "aesthetic_score").collect())
    ratings = (read_table(human, [key, human_column]).group_by(key)
               .agg(pl.col(human_column).cast(pl.Float64).mean().round(0).cast(pl.Int64).alias("human"))
               .collect())
    if ratings.filter(~pl.col("human").is_between(1, 5)).height:
        raise InputError("human ratings must lie in 1-5", path=str(human), field=human_column)
    pairs = ratings.join(judged.with_columns(pl.col(key).cast(ratings.schema[key])), on=key, how="inner")
    paired = pairs.drop_nulls("aesthetic_score")
    if paired.height < 2:
        raise InputError(f"only {paired.height} rated poem(s) have a judge score", path=str(human))
    result = measure(paired["human"].to_numpy(), paired["aesthetic_score"].to_numpy())
    out = prepare_output_dir(out or _beside_scores(scored) / "agreement")
    report = {**result.as_dict(), "human_ratings": ratings.height, "unmatched": ratings.height - pairs.height,
              "judge_failed": pairs.height - paired.height}
    (out / "agreement.json").write_text(json.dumps(report, indent=2) + "\n")
    plot_confusion(result, out / "confusion.png")
    _print_agreement(report)
    typer.echo(f"wrote {out / 'agreement.json'} and {out / 'confusion.png'}")


def _beside_scores(scored: Path) -> Path:
    """The `poems score` output folder that `scored` is, holds, or lies in."""
    folder = scored if scored.is_dir() else scored.parent
    return folder.parent if folder.name == "scored" else folder


def _print_agreement(report: dict) -> None:
    from rich.table import Table

    table = Table(title=f"judge vs human ({report['n']} poems)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name in ("spearman", "kendall_tau", "quadratic_weighted_kappa", "exact_match"):
        value = report[name]
        table.add_row(name, "undefined" if value is None else f"{value:.3f}")
    Console().print(table)


app.command("score")(score)
app.command("agreement")(agreement)
