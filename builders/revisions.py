"""The four revisions of the poems dataset, assembled from the output of `poems clean` / `poems score`.

- `large`: every kept poem with every annotation (judge scores where present, form, category,
  lengths, language shares, duplicate flags);
- `main`: the scored working set (selection rule and size are options);
- `aligned_5`: length-matched to a reference, drawn with replacement, as many as the reference has;
- `aligned_s`: length-matched without replacement, the largest sample keeping the bin proportions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
import polars as pl

from builders.length_sampling import (
    LengthBins,
    LengthSample,
    sample_with_replacement,
    sample_without_replacement,
    word_counts,
)
from builders.report import TwoSampleReport, two_sample_report
from curation.errors import CurationError, InputError
from curation.judge.result import SCORED
from curation.schema import BOOKKEEPING, ROW_ID, SOURCE_FILE
from curation.writers import read_shards

REVISIONS = ("large", "main", "aligned_5", "aligned_s")
JUDGE_COLUMNS = ("aesthetic_score", "aesthetic_rationale", "judge_model", "judge_prompt_sha", "judge_status",
                 "judge_failure_reason")


class MainRule(StrEnum):
    scored = "scored"
    all = "all"


@dataclass
class BuildInputs:
    """The kept poems and manifest of a clean run, and the judge's scores when the input was scored."""

    clean_dir: Path
    kept: pl.DataFrame
    manifest: dict
    scored: pl.DataFrame | None = None
    judge_summary: dict | None = None


@dataclass
class Alignment:
    bins: LengthBins
    sample: LengthSample
    reference_lengths: np.ndarray
    sample_lengths: np.ndarray
    report: TwoSampleReport


@dataclass
class Revision:
    name: str
    frame: pl.DataFrame
    description: str
    params: dict = field(default_factory=dict)
    alignment: Alignment | None = None


def load_inputs(input_dir: Path, clean_dir: Path | None = None) -> BuildInputs:
    """Read a `poems clean` folder (kept/, manifest.json) or a `poems score` folder (scored/,
    judge_summary.json, whose `input` leads back to the clean folder unless `clean_dir` is given)."""
    input_dir = Path(input_dir)
    scored = judge_summary = None
    if (input_dir / "scored").is_dir():
        scored = read_shards(input_dir / "scored")
        summary_path = input_dir / "judge_summary.json"
        judge_summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
        clean_dir = clean_dir or _clean_dir_behind(input_dir, judge_summary)
    elif (input_dir / "kept").is_dir():
        clean_dir = clean_dir or input_dir
    elif not input_dir.exists():
        raise InputError("no such folder", path=str(input_dir))
    else:
        raise InputError("expected the output of `curate poems clean` (kept/) or `curate poems score` "
                         "(scored/)", path=str(input_dir))
    manifest_path = Path(clean_dir) / "manifest.json"
    if not manifest_path.exists():
        raise InputError("no manifest.json: not the output folder of `curate poems clean`",
                         path=str(clean_dir))
    kept = read_shards(Path(clean_dir) / "kept")
    if kept.height == 0:
        raise InputError("no kept poems", path=str(Path(clean_dir) / "kept"))
    return BuildInputs(Path(clean_dir), kept, json.loads(manifest_path.read_text()), scored, judge_summary)


def _clean_dir_behind(score_dir: Path, judge_summary: dict | None) -> Path:
    scored_from = Path(judge_summary["input"]) if judge_summary and judge_summary.get("input") else None
    for candidate in (scored_from, scored_from.parent if scored_from else None):
        if candidate is not None and (candidate / "manifest.json").exists():
            return candidate
    raise InputError("cannot find the `poems clean` output these scores came from; pass --clean",
                     path=str(score_dir))


def annotate_large(kept: pl.DataFrame, scored: pl.DataFrame | None) -> pl.DataFrame:
    """Every kept poem with lengths, duplicate flags and, where present, the judge's columns."""
    frame = kept.drop([c for c in BOOKKEEPING if c in kept.columns]).with_columns(
        pl.Series("length_words", word_counts(kept["text"])),
        pl.col("text").str.strip_chars().str.count_matches(r"(?m)^\s*\S").alias("length_lines"),
        pl.col("text").str.len_chars().alias("length_chars"))
    flags = [pl.col(source).is_not_null().alias(flag) for source, flag in
             (("duplicate_of", "is_duplicate"), ("near_duplicate_of", "is_near_duplicate"))
             if source in frame.columns]
    frame = frame.with_columns(flags)
    if SOURCE_FILE in frame.columns:  # publish `form/file.txt`, not this machine's absolute path
        frame = frame.with_columns(pl.col(SOURCE_FILE).str.replace(r"^.*?([^/\\]+[/\\][^/\\]+)$", "$1"))
    if scored is None:
        return frame
    return frame.join(_judge_columns(frame, scored), on=ROW_ID, how="left", maintain_order="left")


def _judge_columns(large: pl.DataFrame, scored: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in (ROW_ID, "text", *JUDGE_COLUMNS) if c not in scored.columns]
    if missing:
        raise InputError(f"the scored poems lack column(s) {', '.join(missing)}", field=missing[0])
    if scored[ROW_ID].n_unique() != scored.height:
        raise InputError("the scored poems repeat a row_id", field=ROW_ID)
    paired = scored.select(ROW_ID, "text").join(large.select(ROW_ID, pl.col("text").alias("kept_text")),
                                                on=ROW_ID, how="left")
    strangers = paired.filter(pl.col("kept_text").is_null() | (pl.col("text") != pl.col("kept_text")))
    if strangers.height:
        raise InputError(f"{strangers.height} scored poem(s) are not among the kept poems with the same text "
                         f"(first: {strangers[ROW_ID][0]}); score the kept poems of this clean run",
                         field=ROW_ID)
    return scored.select(ROW_ID, *JUDGE_COLUMNS)


def select_main(large: pl.DataFrame, rule: MainRule = MainRule.scored, size: int | None = None,
                seed: int = 0) -> pl.DataFrame:
    """The working set: poems with a valid judge score (or all poems), optionally a seeded subsample."""
    if rule is MainRule.scored:
        if "judge_status" not in large.columns:
            raise CurationError("no poem carries a judge score: build from the output of `curate poems "
                                "score`, or pass --main-rule all")
        large = large.filter((pl.col("judge_status") == SCORED) & pl.col("aesthetic_score").is_not_null())
        if large.height == 0:
            raise CurationError("no poem has a valid judge score; pass --main-rule all to use every poem")
    if size is None or size == large.height:
        return large
    if size > large.height:
        raise CurationError(f"--main-size {size} exceeds the {large.height} poems the rule '{rule}' selects")
    rows = np.sort(np.random.default_rng(seed).choice(large.height, size=size, replace=False))
    return large[rows]


def aligned_revision(name: str, candidates: pl.DataFrame, reference_lengths: np.ndarray, bins: LengthBins,
                     seed: int, *, replace: bool) -> Revision:
    """A length-aligned sample of `candidates` with its `length_bin` column and two-sample report."""
    lengths = candidates["length_words"].to_numpy()
    sampler = sample_with_replacement if replace else sample_without_replacement
    sample = sampler(lengths, bins, seed)
    frame = candidates[sample.rows].with_columns(pl.Series("length_bin", sample.bins_of_rows, dtype=pl.Int16))
    sample_lengths = lengths[sample.rows]
    alignment = Alignment(bins, sample, reference_lengths, sample_lengths,
                          two_sample_report(reference_lengths, sample_lengths))
    how = ("with replacement, as many poems per bin as the reference has" if replace else
           "without replacement, the largest sample keeping the reference's bin proportions")
    description = f"poems whose word-count distribution matches the reference, drawn {how}"
    return Revision(name, frame, description, {"seed": seed, "bins": bins.size, "replace": replace},
                    alignment)


def assemble_revisions(inputs: BuildInputs, reference_lengths: np.ndarray, *, bins: int, seed: int,
                       main_rule: MainRule = MainRule.scored, main_size: int | None = None,
                       aligned_from: str = "main") -> dict[str, Revision]:
    """large, main, aligned_5 and aligned_s, in that order."""
    large = annotate_large(inputs.kept, inputs.scored)
    main = select_main(large, main_rule, main_size, seed)
    length_bins = LengthBins.from_reference(reference_lengths, bins)
    candidates = {"main": main, "large": large}[aligned_from]
    revisions = {
        "large": Revision("large", large, "every kept, cleaned poem with all its annotations"),
        "main": Revision("main", main, _main_description(main_rule, main_size),
                         {"rule": str(main_rule), "size": main_size, "seed": seed}),
        "aligned_5": aligned_revision("aligned_5", candidates, reference_lengths, length_bins, seed,
                                      replace=True),
        "aligned_s": aligned_revision("aligned_s", candidates, reference_lengths, length_bins, seed,
                                      replace=False),
    }
    for name in ("aligned_5", "aligned_s"):
        revisions[name].params["drawn_from"] = aligned_from
    return revisions


def _main_description(rule: MainRule, size: int | None) -> str:
    chosen = "every poem with a valid judge score" if rule is MainRule.scored else "every kept poem"
    return chosen + (f", a seeded random subset of {size:,}" if size else "")
