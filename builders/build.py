"""`build_poems`: inputs -> four revisions -> local Hub layout with cards, histograms and build.json."""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from builders.card_context import card_context
from builders.cards import CardLicence, card_data, check_card, render_card
from builders.counts import count_revision
from builders.layout import DEFAULT_ROWS_PER_SHARD, write_build_summary, write_card, write_shards
from builders.length_sampling import DEFAULT_BINS
from builders.provenance import folder_digest, public_input, public_name, public_params
from builders.reference import Reference, load_reference
from builders.report import HISTOGRAM_FILE, length_histogram
from builders.revisions import REVISIONS, BuildInputs, MainRule, Revision, assemble_revisions, load_inputs
from curation import __version__
from curation.judge.result import FAILED, SCORED

AUTO_DIVERSITY_TEXTS = 2_000

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
    license_name: str | None = None
    license_link: str | None = None
    copyright: str | None = None
    source: str | None = None
    pretty_name: str = "Aesthetic poems"
    clean_dir: Path | None = None
    diversity: bool | None = None
    device: str = "cpu"

    def params(self) -> dict[str, Any]:
        """The options as build.json records them: local paths by their names only."""
        return public_params({name: str(value) if isinstance(value, Path | MainRule) else value
                              for name, value in asdict(self).items()})

    def licence(self) -> CardLicence:
        return CardLicence(self.license, self.license_name, self.license_link, self.copyright).resolved()


@dataclass
class BuildResult:
    out: Path
    revisions: dict[str, Revision]
    reference: Reference
    summary: dict[str, Any]


def build_poems(input_dir: Path, out: Path, options: BuildOptions, *, progress: bool = True) -> BuildResult:
    """Build large, main, aligned_5 and aligned_s from a clean or score folder into `out`."""
    out, licence = Path(out), options.licence()
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
        summary = build_summary(Path(input_dir), inputs, reference, revisions, options)
        summary["diversity_skipped"] = diversity_skipped(options, revisions)
        if summary["diversity_skipped"] is None:
            bar.update(task, description="embedding the poems (diversity)")
            add_diversity(summary, revisions, options.device)
        for name, revision in revisions.items():
            bar.update(task, description=f"writing {name}")
            files = write_revision(revision, out / name, summary, options, licence)
            summary["revisions"][name]["files"] = [str(f.relative_to(out / name)) for f in files]
            bar.advance(task, 3)
        write_build_summary(out, summary)
    return BuildResult(out, revisions, reference, summary)


def write_revision(revision: Revision, revision_dir: Path, summary: dict[str, Any], options: BuildOptions,
                   licence: CardLicence) -> list[Path]:
    """The revision's Parquet shards, its histogram (aligned revisions) and its checked card."""
    shutil.rmtree(revision_dir, ignore_errors=True)
    files = write_shards(revision.frame, revision_dir, options.rows_per_shard)
    if revision.alignment:
        alignment = revision.alignment
        files.append(length_histogram(alignment.reference_lengths, alignment.sample_lengths,
                                      revision_dir / HISTOGRAM_FILE, title=f"{revision.name}: words per text",
                                      edges=alignment.bins.edges))
    table = revision.frame.to_arrow()
    meta = card_data(schema=table.schema, rows=table.num_rows, num_bytes=table.nbytes,
                     download_size=sum(f.stat().st_size for f in files if f.suffix == ".parquet"),
                     pretty_name=options.pretty_name, licence=licence, scored=summary["judge"] is not None,
                     tags=["poetry", "aesthetics", "llm-as-a-judge"])
    card = render_card(card_context(revision, summary, licence, source=options.source) | {"meta": meta})
    check_card(card, revision.frame.height)
    files.append(write_card(card, revision_dir))
    return files


def diversity_skipped(options: BuildOptions, revisions: dict[str, Revision]) -> str | None:
    """Why the diversity figures are left out, or None to compute them. Unless `options.diversity`
    says, they are computed on a GPU or for up to AUTO_DIVERSITY_TEXTS texts on the CPU (MiniLM
    embeds about 35 poems a second on two CPU cores)."""
    if options.diversity is not None:
        return None if options.diversity else "not asked for (--no-diversity)"
    texts = pl.concat([r.frame.select("text") for r in revisions.values()])["text"].n_unique()
    if options.device != "cpu" or texts <= AUTO_DIVERSITY_TEXTS:
        return None
    return (f"{texts:,} texts on the CPU is more than {AUTO_DIVERSITY_TEXTS:,}; "
            "--diversity computes it anyway, --device cuda on a GPU")


def add_diversity(summary: dict[str, Any], revisions: dict[str, Revision], device: str) -> None:
    """Vendi and quality-weighted Vendi per revision, on all-MiniLM-L6-v2 embeddings of the texts."""
    from functools import partial

    from builders.diversity import revision_diversity
    from curation.text_embeddings import text_embeddings

    figures = revision_diversity({name: r.frame for name, r in revisions.items()},
                                 partial(text_embeddings, device=device), embedder="all-MiniLM-L6-v2")
    for name, entry in figures.items():
        summary["revisions"][name]["diversity"] = entry


def judge_facts(inputs: BuildInputs, large: pl.DataFrame) -> dict[str, Any] | None:
    if inputs.scored is None or "judge_status" not in large.columns:
        return None
    summary = inputs.judge_summary or {}
    status = large["judge_status"].cast(pl.Utf8)
    return {"model": ", ".join(sorted(large["judge_model"].drop_nulls().unique().to_list())) or "unknown",
            "prompt_sha": ", ".join(sorted(large["judge_prompt_sha"].drop_nulls().unique().to_list())),
            "backend": summary.get("backend", "unknown"),
            "template": public_name(summary.get("template", "unknown")),
            "scored": int((status == SCORED).sum()), "failed": int((status == FAILED).sum()),
            "unscored": int(status.is_null().sum())}


def public_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The clean run's manifest with its inputs and parameters named, not located."""
    return {**manifest, "params": public_params(manifest.get("params", {})),
            "inputs": [public_input(source) for source in manifest.get("inputs", [])]}


def build_summary(input_dir: Path, inputs: BuildInputs, reference: Reference, revisions: dict[str, Revision],
                  options: BuildOptions) -> dict[str, Any]:
    """What `OUT/build.json` records: inputs (by name and content hash), parameters, reference, judge,
    and per revision its counts and figures."""
    per_revision = {}
    for name, revision in revisions.items():
        entry = {"rows": revision.frame.height, "counts": count_revision(revision.frame).as_dict(),
                 "mean_words": round(float(revision.frame["length_words"].mean() or 0.0), 3),
                 "description": revision.description, "params": revision.params}
        if revision.alignment:
            entry |= revision.alignment.report.as_dict()
            entry["bin_counts"] = revision.alignment.sample.counts.tolist()
        per_revision[name] = entry
    scored_input = inputs.scored is not None
    return {"tool": "aesthetic-curation", "version": __version__, "command": "poems build",
            "created_at": time.time(),
            "input": {"kind": "poems score" if scored_input else "poems clean",
                      **folder_digest(input_dir, ["scored/*.parquet" if scored_input else "kept/*.parquet"])},
            "clean": {"kind": "poems clean", **folder_digest(inputs.clean_dir, ["kept/*.parquet"])},
            "params": options.params(), "reference": reference.as_dict(),
            "bin_edges": next(r.alignment.bins.edges.tolist() for r in revisions.values() if r.alignment),
            "reference_bin_counts": next(r.alignment.bins.reference_counts.tolist()
                                         for r in revisions.values() if r.alignment),
            "judge": judge_facts(inputs, revisions["large"].frame),
            "clean_manifest": public_manifest(inputs.manifest), "revisions": per_revision}
