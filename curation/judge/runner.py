"""Score a frame of poems with a judge, resuming from the on-disk store, and join the results back.

Only keys missing from the store, keys whose last judgement failed for a transient reason (timeout,
connection error, 408, 429, 5xx) and, with `retry_failed`, keys whose last judgement failed for any
reason are sent to the judge; identical poems share one key and one request. Every result is appended to the
store the moment it arrives, so a crash loses at most the requests in flight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import polars as pl
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from curation.errors import InputError
from curation.judge.prompt import PromptTemplate
from curation.judge.result import FAILED, Judge, Judgement, JudgeRequest, is_transient, judge_key
from curation.judge.store import JudgeStore

OUTPUT_COLUMNS = ("aesthetic_score", "aesthetic_rationale", "judge_model", "judge_prompt_sha", "judge_status",
                  "judge_failure_reason", "judge_raw_reply", "judge_attempts")
MISSING_RESULT = "missing_result"


@dataclass
class ScoreRun:
    frame: pl.DataFrame
    requested: int = 0
    reused: int = 0
    retried: int = 0
    failures: Counter = field(default_factory=Counter)

    def summary(self) -> dict:
        status = self.frame["judge_status"].value_counts()
        by_status = dict(zip(status["judge_status"].to_list(), status["count"].to_list(), strict=True))
        transient = sum(count for reason, count in self.failures.items() if is_transient(reason))
        failed = by_status.get(FAILED, 0)
        return {"poems": self.frame.height, "scored": by_status.get("scored", 0), "failed": failed,
                "failed_by_reason": dict(self.failures.most_common()),
                "failed_transient": transient, "failed_other": failed - transient,
                "requested_this_run": self.requested, "retried_failures": self.retried,
                "reused_from_store": self.reused}


def poem_keys(poems: pl.DataFrame, template: PromptTemplate, model: str) -> pl.Series:
    sha = template.sha
    return pl.Series("judge_key", [judge_key(text, sha, model) for text in poems["text"]], dtype=pl.String)


def needs_judging(store: JudgeStore, key: str, retry_failed: bool) -> bool:
    """Not stored, or stored as failed for a transient reason (any reason with `retry_failed`)."""
    if key not in store:
        return True
    reason = store.failure_reason(key)
    return reason is not None and (retry_failed or is_transient(reason))


def score_poems(poems: pl.DataFrame, judge: Judge, store: JudgeStore, template: PromptTemplate, *,
                retry_failed: bool = False, show_progress: bool = False) -> ScoreRun:
    """Judge every poem (columns `row_id`, `text`) not yet in `store`; return all of them with results."""
    missing = [c for c in ("row_id", "text") if c not in poems.columns]
    if missing:
        raise InputError(f"poems lack column(s) {', '.join(missing)}", field=missing[0])
    poems = poems.with_columns(poem_keys(poems, template, judge.model))
    firsts = poems.unique("judge_key", keep="first", maintain_order=True)
    todo = firsts.filter(pl.Series([needs_judging(store, key, retry_failed) for key in firsts["judge_key"]],
                                   dtype=pl.Boolean))
    run = ScoreRun(frame=poems, requested=todo.height, reused=firsts.height - todo.height,
                   retried=sum(key in store for key in todo["judge_key"]))

    def requests() -> Iterator[JudgeRequest]:
        for key, text in todo.select("judge_key", "text").iter_rows():
            yield JudgeRequest(key, template.render(text))

    with _progress(show_progress) as progress:
        task = progress.add_task(f"judging with {judge.model}", total=todo.height)

        def on_result(judgement: Judgement) -> None:
            store.append(judgement)
            progress.advance(task)

        try:
            judge.judge(requests(), on_result)
        finally:
            store.sync()
    run.frame = join_results(poems, store.frame(), judge.model, template.sha)
    failed = run.frame.filter(pl.col("judge_status") == FAILED)
    run.failures = Counter(failed["judge_failure_reason"].to_list())
    return run


def join_results(poems: pl.DataFrame, results: pl.DataFrame, model: str, prompt_sha: str) -> pl.DataFrame:
    """Poems with the judge's output columns; a poem without a stored result is failed, never dropped."""
    results = results.select(
        pl.col("key").alias("judge_key"),
        pl.col("score").alias("aesthetic_score"),
        pl.col("rationale").alias("aesthetic_rationale"),
        pl.col("status").alias("judge_status"),
        pl.col("reason").alias("judge_failure_reason"),
        pl.col("raw_reply").alias("judge_raw_reply"),
        pl.col("attempts").alias("judge_attempts"))
    joined = poems.join(results, on="judge_key", how="left", maintain_order="left")
    lost = pl.col("judge_status").is_null()
    return joined.with_columns(
        pl.when(lost).then(pl.lit(FAILED)).otherwise(pl.col("judge_status")).alias("judge_status"),
        pl.when(lost).then(pl.lit(MISSING_RESULT)).otherwise(pl.col("judge_failure_reason"))
        .alias("judge_failure_reason"),
        pl.lit(model).alias("judge_model"),
        pl.lit(prompt_sha).alias("judge_prompt_sha"),
    ).select(*poems.columns, *OUTPUT_COLUMNS)


def _progress(enabled: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), disable=not enabled)
