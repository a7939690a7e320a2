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

app = typer.Typer(help="Score poems with an LLM judge and compare with human ratings.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
console = Console(stderr=True)


class Backend(StrEnum):
    openai = "openai"
    transformers = "transformers"


def read_table(path: Path, columns: list[str]):
    """Rows of a Parquet file, a folder of `*.parquet`, or a CSV file, with `columns` checked up front."""
    import polars as pl

    if path.is_dir():
        files = sorted(path.glob("*.parquet"))
        if not files:
            raise InputError("no *.parquet files in this folder", path=str(path))
        frame = pl.scan_parquet(files)
    elif path.suffix == ".csv":
        frame = pl.scan_csv(path)
    elif path.is_file():
        frame = pl.scan_parquet(path)
    else:
        raise InputError("no such file or folder", path=str(path))
    present = frame.collect_schema().names()
    for column in columns:
        if column not in present:
            raise InputError(f"missing column (found: {', '.join(present)})", path=str(path), field=column)
    return frame


def score(
    poems: Path = typer.Argument(..., help="Parquet file or folder of *.parquet with columns row_id, text."),
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
    max_reasks: int = typer.Option(2, min=0, help="Re-asks when a reply is malformed (openai back-end)."),
    temperature: float = typer.Option(0.0, help="Sampling temperature (openai back-end)."),
    batch_size: int = typer.Option(8, min=1, help="Poems per generation batch (transformers back-end)."),
    max_new_tokens: int = typer.Option(512, min=1, help="Reply length limit in tokens."),
    retry_failed: bool = typer.Option(False, help="Also re-send poems whose stored judgement failed."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Score poems 1-5 with the LLM judge; re-running the same command resumes where it stopped."""
    from curation.judge import JudgeStore, PromptTemplate, score_poems
    from curation.writers import ParquetShardWriter

    prompt = PromptTemplate.from_file(template) if template else PromptTemplate.default()
    frame = read_table(poems, ["row_id", "text"]).select("row_id", "text")
    frame = (frame.head(limit) if limit else frame).collect()
    judge = _make_judge(backend, model, base_url, api_key=api_key, concurrency=concurrency, timeout=timeout,
                        max_retries=max_retries, max_reasks=max_reasks, temperature=temperature,
                        batch_size=batch_size, max_new_tokens=max_new_tokens)
    with JudgeStore(out / "judge_store") as store:
        run = score_poems(frame, judge, store, prompt, retry_failed=retry_failed, show_progress=progress)
    for old in (out / "scored").glob("*.parquet"):
        old.unlink()
    writer = ParquetShardWriter(out / "scored", prefix="scored")
    writer.write(run.frame)
    writer.close()
    summary = {**run.summary(), "backend": backend.value, "model": judge.model, "prompt_sha": prompt.sha,
               "template": prompt.source, "input": str(poems)}
    (out / "judge_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    console.print(f"scored {summary['scored']:,}, failed {summary['failed']:,} {summary['failed_by_reason']} "
                  f"({summary['requested_this_run']:,} requested, "
                  f"{summary['reused_from_store']:,} from the store)"
                  f" -> {out}")


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
                                   max_reasks=options["max_reasks"], temperature=options["temperature"],
                                   max_tokens=options["max_new_tokens"])
    return OpenAIJudge(config)


def agreement(
    scored: Path = typer.Argument(..., help="Scored poems (Parquet file or folder, e.g. OUT/scored)."),
    human: Path = typer.Option(..., "--human", help="Human ratings (CSV or Parquet): key and 1-5 score."),
    out: Path = typer.Option(Path("agreement"), "--out", help="Folder for agreement.json and confusion.png."),
    key: str = typer.Option("row_id", help="Column joining poems and ratings."),
    human_column: str = typer.Option("human_score", help="Human rating column (several rows per poem are "
                                                         "averaged, then rounded)."),
) -> None:
    """Spearman, Kendall tau, quadratic-weighted kappa and confusion matrix of judge vs human scores."""
    import polars as pl

    from curation.judge.agreement import agreement as measure
    from curation.judge.agreement import plot_confusion

    judged = read_table(scored, [key, "aesthetic_score"]).select(key, "aesthetic_score").collect()
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
    out.mkdir(parents=True, exist_ok=True)
    report = {**result.as_dict(), "human_ratings": ratings.height, "unmatched": ratings.height - pairs.height,
              "judge_failed": pairs.height - paired.height}
    (out / "agreement.json").write_text(json.dumps(report, indent=2) + "\n")
    plot_confusion(result, out / "confusion.png")
    _print_agreement(report)


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
