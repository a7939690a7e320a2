"""`build_poems`: inputs -> four revisions -> local Hub layout with cards, histograms and build.json."""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from builders.cards import front_matter, render_card
from builders.layout import DEFAULT_ROWS_PER_SHARD, write_build_summary, write_card, write_shards
from builders.length_sampling import DEFAULT_BINS
from builders.reference import Reference, load_reference
from builders.report import HISTOGRAM_FILE, length_histogram
from builders.revisions import REVISIONS, BuildInputs, MainRule, Revision, assemble_revisions, load_inputs
from curation import __version__
from curation.judge.result import FAILED, SCORED
from curation.schema import ROW_ID


@dataclass
class BuildOptions:
    reference: str
    reference_column: str = "text"
    reference_revision: str | None = None
    reference_split: str = "train"
    bins: int = DEFAULT_BINS
    seed: int = 0
    main_rule: MainRule = MainRule.scored
    main_size: int | None = None
    aligned_from: str = "main"
    rows_per_shard: int = DEFAULT_ROWS_PER_SHARD
    card_repo_id: str | None = None
    license: str = "other"
    pretty_name: str = "Aesthetic poems"
    clean_dir: Path | None = None

    def params(self) -> dict[str, Any]:
        return {name: str(value) if isinstance(value, Path | MainRule) else value
                for name, value in asdict(self).items()}


@dataclass
class BuildResult:
    out: Path
    revisions: dict[str, Revision]
    reference: Reference
    summary: dict[str, Any]


def build_poems(input_dir: Path, out: Path, options: BuildOptions, *, progress: bool = True) -> BuildResult:
    """Build large, main, aligned_5 and aligned_s from a clean or score folder into `out`."""
    out = Path(out)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), disable=not progress) as bar:
        task = bar.add_task("reading the poems", total=3 + 3 * len(REVISIONS))
        inputs = load_inputs(Path(input_dir), options.clean_dir)
        bar.update(task, advance=1, description="reading the reference")
        reference = load_reference(options.reference, options.reference_column,
                                   revision=options.reference_revision, split=options.reference_split)
        bar.update(task, advance=1, description="sampling the revisions")
        revisions = assemble_revisions(inputs, reference.lengths, bins=options.bins, seed=options.seed,
                                       main_rule=options.main_rule, main_size=options.main_size,
                                       aligned_from=options.aligned_from)
        bar.advance(task)
        summary = build_summary(input_dir, inputs, reference, revisions, options)
        for name, revision in revisions.items():
            revision_dir = out / name
            shutil.rmtree(revision_dir, ignore_errors=True)
            bar.update(task, description=f"writing {name}")
            files = write_shards(revision.frame, revision_dir, options.rows_per_shard)
            bar.advance(task)
            if revision.alignment:
                alignment = revision.alignment
                length_histogram(alignment.reference_lengths, alignment.sample_lengths,
                                 revision_dir / HISTOGRAM_FILE, title=f"{name}: words per text",
                                 edges=alignment.bins.edges)
                files.append(revision_dir / HISTOGRAM_FILE)
            bar.advance(task)
            context = card_context(revision, revisions, inputs, reference, summary, options, revision_dir)
            files.append(write_card(render_card(context), revision_dir))
            summary["revisions"][name]["files"] = [str(f.relative_to(revision_dir)) for f in files]
            bar.advance(task)
        write_build_summary(out, summary)
    return BuildResult(out, revisions, reference, summary)


def judge_facts(inputs: BuildInputs, large: pl.DataFrame) -> dict[str, Any] | None:
    if inputs.scored is None or "judge_status" not in large.columns:
        return None
    summary = inputs.judge_summary or {}
    status = large["judge_status"]
    return {"model": ", ".join(sorted(large["judge_model"].drop_nulls().unique().to_list())) or "unknown",
            "prompt_sha": ", ".join(sorted(large["judge_prompt_sha"].drop_nulls().unique().to_list())),
            "backend": summary.get("backend", "unknown"), "template": summary.get("template", "unknown"),
            "scored": int((status == SCORED).sum()), "failed": int((status == FAILED).sum()),
            "unscored": int(status.is_null().sum())}


def build_summary(input_dir: Path, inputs: BuildInputs, reference: Reference, revisions: dict[str, Revision],
                  options: BuildOptions) -> dict[str, Any]:
    """What `OUT/build.json` records: inputs, parameters, reference, judge, and per revision its figures."""
    per_revision = {}
    for name, revision in revisions.items():
        entry = {"rows": revision.frame.height, "unique_rows": revision.frame[ROW_ID].n_unique(),
                 "mean_words": round(float(revision.frame["length_words"].mean() or 0.0), 3),
                 "description": revision.description, "params": revision.params}
        if revision.alignment:
            entry |= revision.alignment.report.as_dict()
            entry["bin_counts"] = revision.alignment.sample.counts.tolist()
        per_revision[name] = entry
    return {"tool": "aesthetic-curation", "version": __version__, "command": "poems build",
            "created_at": time.time(), "input": str(input_dir), "clean_dir": str(inputs.clean_dir),
            "params": options.params(), "reference": reference.as_dict(),
            "bin_edges": next(r.alignment.bins.edges.tolist() for r in revisions.values() if r.alignment),
            "reference_bin_counts": next(r.alignment.bins.reference_counts.tolist()
                                         for r in revisions.values() if r.alignment),
            "judge": judge_facts(inputs, revisions["large"].frame), "clean_manifest": inputs.manifest,
            "revisions": per_revision}


def alignment_context(revision: Revision) -> dict[str, Any] | None:
    alignment = revision.alignment
    if alignment is None:
        return None
    bins, sample = alignment.bins, alignment.sample
    drawn_total = max(int(sample.counts.sum()), 1)
    rows = [{"index": k, "words": bins.interval(k), "reference": int(bins.reference_counts[k]),
             "reference_share": bins.reference_counts[k] / bins.reference_total,
             "available": int(sample.available[k]), "drawn": int(sample.counts[k]),
             "drawn_share": sample.counts[k] / drawn_total} for k in range(bins.size)]
    return {**alignment.report.as_dict(), "bins": rows, "histogram": HISTOGRAM_FILE}


def card_context(revision: Revision, revisions: dict[str, Revision], inputs: BuildInputs,
                 reference: Reference, summary: dict[str, Any], options: BuildOptions,
                 revision_dir: Path) -> dict[str, Any]:
    """Everything the card template reads for one revision."""
    manifest = inputs.manifest
    frame = revision.frame
    return {
        "meta": front_matter(rows=frame.height, pretty_name=options.pretty_name, license_id=options.license,
                             language=["en"], task_categories=["text-classification"],
                             tags=["poetry", "aesthetics", "llm-as-a-judge"]),
        "revision": {"name": revision.name, "description": revision.description, "rows": frame.height,
                     "unique_rows": frame[ROW_ID].n_unique(), "params": revision.params,
                     "columns": [{"name": c, "dtype": str(t)} for c, t in frame.schema.items()]},
        "revisions": [{"name": r.name, "rows": r.frame.height, "description": r.description}
                      for r in revisions.values()],
        "clean": {"command": manifest.get("command", "poems clean"), "rows_in": manifest.get("rows_in", 0),
                  "rows_kept": manifest.get("rows_kept", 0), "balanced": manifest.get("balanced", False),
                  "stages": manifest.get("stages", []), "params": manifest.get("params", {}),
                  "inputs": manifest.get("inputs", [])},
        "judge": summary["judge"],
        "build": {**{k: v for k, v in options.params().items() if k not in ("clean_dir",)},
                  "input": summary["input"]},
        "reference": reference.as_dict(),
        "alignment": alignment_context(revision),
        "load": {"repo_id": options.card_repo_id, "local_path": str(revision_dir)},
    }
