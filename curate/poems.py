"""`curate poems clean`: the poem cleaning job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from curate.engines import (
    EngineOption,
    GpusPerWorkerOption,
    RayAddressOption,
    ResumeOption,
    ShardRowsOption,
    WorkersOption,
    run_on_engine,
)
from curation.manifest import Manifest, StageCount

console = Console()
DEFAULT_MAX_CHARS = 200_000


def reasons_cell(stage: StageCount) -> str:
    """A stage's rejections by reason, then the kept rows it marked (duplicates), one per line."""
    lines = [f"{reason}: {count:,}" for reason, count in stage.reasons.most_common()]
    if any(stage.marked.values()):
        lines += ["[italic]marked, kept:[/]",
                  *(f"{mark}: {count:,}" for mark, count in stage.marked.most_common() if count)]
    return "\n".join(lines)


def compact_rate(rate: float) -> str:
    """Rows per second in at most 6 characters: 42,147, 126k, 1.14M."""
    if rate < 100_000:
        return f"{rate:,.0f}"
    return f"{rate / 1e3:.0f}k" if rate < 999_500 else f"{rate / 1e6:.3g}M"


def summary_table(manifest: Manifest, out: Path) -> Table:
    title = f"{manifest.command}: {manifest.rows_in:,} rows in, {manifest.rows_kept:,} kept -> {out}"
    table = Table(box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False, title=title)
    numbers = ("in", "kept", "rejected", "seconds", "rows/s")
    for column in ("stage", *numbers):
        table.add_column(column, justify="right" if column in numbers else "left", no_wrap=True)
    reasons = [reasons_cell(stage) for stage in manifest.stages]
    lines = [Text.from_markup(line) for cell in reasons for line in cell.splitlines()]
    widest = max((line.cell_len for line in lines), default=0)
    table.add_column("reasons", min_width=min(widest, 40))
    timings = {t["name"]: t for t in manifest.timings()}
    for stage, cell in zip(manifest.stages, reasons, strict=True):
        rate = timings[stage.name]["rows_per_s"]
        rate_text = "" if rate is None else compact_rate(rate)
        table.add_row(stage.name, f"{stage.rows_in:,}", f"{stage.kept:,}", f"{stage.rejected:,}",
                      f"{timings[stage.name]['seconds']:,.2f}", rate_text, cell)
    balance = "counts balance" if manifest.balanced else "[red]COUNTS DO NOT BALANCE[/red]"
    table.caption = f"{balance}; seconds: spent in each stage, summed over workers"
    return table


def report(manifest: Manifest, out: Path, as_json: bool) -> None:
    """The run's summary: the manifest as JSON, or the per-stage table."""
    if as_json:
        typer.echo(json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False))
    else:
        console.print(summary_table(manifest, out), crop=False)  # a narrow terminal wraps, never cuts


def clean(
    input_path: Annotated[str, typer.Argument(metavar="INPUT", help="Kaggle forms folder, CSV, JSONL, "
                                              "Parquet file/folder, a Hugging Face dataset (hf:ID), or an "
                                              "fsspec URL of Parquet/JSONL/CSV (s3://..., hf://...)")],
    out: Annotated[Path, typer.Option("--out", help="Output folder: kept/, rejected/, manifest.json")],
    lexicon_threshold: Annotated[float | None, typer.Option(
        help="English lexicon cut-off: Zipf frequency for wordfreq (default 2.0, about 96k words), raw "
             "count for --lexicon (default 100000)")] = None,
    lexicon: Annotated[Path | None, typer.Option(help="A word,count CSV to use instead of wordfreq")] = None,
    min_english: Annotated[float | None, typer.Option(
        help="Share of words in the lexicon needed to keep (default 0.75; 0.8 with --english-mode share)"),
    ] = None,
    min_evidence: Annotated[float | None, typer.Option(
        help="Mean per-word English-vs-other-language evidence needed (default -1.0 in mode langid, "
             "where the second opinion decides above it; -0.75 in share+evidence)")] = None,
    english_mode: Annotated[str, typer.Option(
        help="langid (lexicon, with py3langid as a second opinion where the lexicon is weak), "
             "share+evidence (lexicon only) or share (the seed's rule)")] = "langid",
    archaic_english: Annotated[bool, typer.Option(
        help="Keep Middle and Early Modern English (Chaucer, Chatterton): count their spellings as "
             "English (modes langid and share+evidence)")] = False,
    drop_duplicates: Annotated[bool, typer.Option(
        help="Reject exact duplicates instead of marking them (duplicate_of)")] = False,
    drop_near_duplicates: Annotated[bool, typer.Option(
        help="Reject near duplicates instead of marking them (near_duplicate_of)")] = False,
    text_column: Annotated[str, typer.Option(
        help="Column holding the poem text: copied into `text`, kept as it is; an input `text` column "
             "is kept as `input_text`")] = "text",
    max_chars: Annotated[int, typer.Option(
        min=1, help="Reject longer texts (too_long) as they are read, before any stage")] = DEFAULT_MAX_CHARS,
    batch_size: Annotated[int, typer.Option(help="Rows per batch")] = 2_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
    engine: EngineOption = "local",
    workers: WorkersOption = None,
    gpus_per_worker: GpusPerWorkerOption = None,
    ray_address: RayAddressOption = None,
    resume: ResumeOption = True,
    shard_rows: ShardRowsOption = 1_000,
) -> None:
    """Clean poems: strip copyright footers and author notes, keep English, tag the form category
    (when the input has a `form` column), mark duplicates. Writes kept and rejected Parquet and a
    balanced manifest."""
    from functools import partial

    from curation.outputs import prepare_output_dir
    from curation.readers import open_reader
    from filters.poems import EnglishFilter
    from filters.poems.english import DEFAULT_MIN_SHARE, DEFAULT_MIN_ZIPF
    from filters.poems.english_zones import SEED_MIN_SHARE
    from filters.poems.pipeline import has_forms, poem_stages

    default_threshold = EnglishFilter.min_count if lexicon else DEFAULT_MIN_ZIPF
    threshold = lexicon_threshold if lexicon_threshold is not None else default_threshold
    if min_english is None:
        min_english = SEED_MIN_SHARE if english_mode == "share" else DEFAULT_MIN_SHARE
    english = dict(min_zipf=threshold, min_count=threshold, lexicon_csv=lexicon, min_share=min_english,
                   min_evidence=min_evidence, mode=english_mode, archaic=archaic_english)
    reader = open_reader(input_path, text_column=text_column, batch_size=batch_size, max_chars=max_chars,
                         strings_only=True)
    tag_forms = has_forms(reader.columns())
    prepare_output_dir(out)
    stages = partial(poem_stages, english, drop_duplicates, drop_near_duplicates, tag_forms)
    params = {"lexicon": str(lexicon) if lexicon else "wordfreq:en", "lexicon_threshold": threshold,
              "min_english": min_english, "min_evidence": min_evidence, "english_mode": english_mode,
              "archaic_english": archaic_english,
              "drop_duplicates": drop_duplicates, "drop_near_duplicates": drop_near_duplicates,
              "text_column": text_column, "max_chars": max_chars, "tag_forms": tag_forms}
    options = dict(command="poems clean", params=params, progress=not as_json, resume=resume,
                   shard_rows=shard_rows)
    manifest = run_on_engine(engine, reader, stages, out, workers=workers, ray_address=ray_address,
                             gpus_per_worker=gpus_per_worker, **options)
    report(manifest, out, as_json)
