"""`curate poems build`, `curate poems publish` and `curate poems sample-representation`.

The lead registers the three commands on the poems group; `app` holds them for direct use.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Build the poems dataset's revisions and publish them to the Hub.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
err_console = Console(stderr=True)


class MainRuleOption(StrEnum):
    scored = "scored"
    all = "all"


class AlignedFrom(StrEnum):
    main = "main"
    large = "large"


def build(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="Output folder of `curate poems score` "
                                      "(scored/) or of `curate poems clean` (kept/, manifest.json)"),
    reference: str = typer.Option(..., help="Reference corpus for length alignment: a CSV, JSONL or Parquet "
                                            "file/folder, or a Hugging Face dataset id (e.g. minhuh/prh with "
                                            "--reference-revision wit_1024)"),
    out: Path = typer.Option(..., "--out", help="Output folder: OUT/<revision>/README.md + data/*.parquet, "
                                                "OUT/build.json"),
    reference_column: str = typer.Option("text", help="Text column of the reference"),
    reference_revision: str | None = typer.Option(None, help="Revision of a Hub reference dataset"),
    reference_split: str = typer.Option("train", help="Split of a Hub reference dataset"),
    bins: int = typer.Option(20, min=1, help="Quantile bins of the reference word counts"),
    seed: int = typer.Option(0, help="Seed of every sampler (numpy Generator)"),
    main_rule: MainRuleOption = typer.Option(MainRuleOption.scored, help="Which poems form `main`: those "
                                             "with a valid judge score, or all kept poems"),
    main_size: int | None = typer.Option(None, min=1, help="Seeded random subset of this size for `main`"),
    aligned_from: AlignedFrom = typer.Option(AlignedFrom.main, help="Revision the aligned samples draw from"),
    clean: Path | None = typer.Option(None, help="The `poems clean` folder behind a score folder (default: "
                                                 "found from judge_summary.json)"),
    card_repo_id: str | None = typer.Option(None, help="ORG/NAME shown in the cards' load snippets and "
                                            "citation (default: an ORG/NAME placeholder)"),
    license_id: str = typer.Option("other", "--license", help="Hub licence id for the cards' metadata (e.g. "
                                   "cc-by-4.0, or other with --license-name/--license-link)"),
    license_name: str | None = typer.Option(None, help="Id of an `other` licence, e.g. public-domain "
                                            "(default: authors-copyright)"),
    license_link: str | None = typer.Option(None, help="URL or repository file of an `other` licence "
                                            "(default: README.md, the card itself)"),
    copyright_statement: str | None = typer.Option(None, "--copyright", help="Who owns the poems, for the "
                                                   "cards' licence section (default: each poem remains its "
                                                   "author's copyright)"),
    source: str | None = typer.Option(None, help="Where the poems come from, one Markdown sentence for the "
                                      "cards (default: only the input's name and hash)"),
    pretty_name: str = typer.Option("Aesthetic poems", help="Dataset name in the cards"),
    rows_per_shard: int = typer.Option(50_000, min=1, help="Rows per Parquet shard"),
    diversity: bool | None = typer.Option(None, "--diversity/--no-diversity", show_default=False,
                                          help="Vendi and quality-weighted Vendi per revision in build.json "
                                          "and the cards, on all-MiniLM-L6-v2 embeddings (default: on a GPU, "
                                          "or up to 2,000 texts on the CPU)"),
    device: str = typer.Option("cpu", help="Device for the diversity embeddings (cpu or cuda)"),
    progress: bool = typer.Option(True, help="Show a progress bar"),
    as_json: bool = typer.Option(False, "--json", help="Print build.json's revision summary as JSON"),
) -> None:
    """Build the large, main, aligned_5 and aligned_s revisions as a local Hub layout with dataset cards."""
    from builders.build import BuildOptions, build_poems
    from builders.revisions import MainRule

    options = BuildOptions(reference=reference, reference_column=reference_column,
                           reference_revision=reference_revision, reference_split=reference_split, bins=bins,
                           seed=seed, main_rule=MainRule(main_rule.value), main_size=main_size,
                           aligned_from=aligned_from.value, rows_per_shard=rows_per_shard,
                           card_repo_id=card_repo_id, license=license_id, license_name=license_name,
                           license_link=license_link, copyright=copyright_statement, source=source,
                           pretty_name=pretty_name, clean_dir=clean, diversity=diversity, device=device)
    result = build_poems(input_path, out, options, progress=progress and not as_json)
    if as_json:
        typer.echo(json.dumps(result.summary["revisions"], indent=2))
    else:
        console.print(revisions_table(result.summary, out))


def revisions_table(summary: dict, out: Path) -> Table:
    """One row per revision: rows, distinct poems and texts, mean words, KS vs the reference, shards."""
    reference = summary["reference"]
    table = Table(title=f"poems build -> {out}", caption=f"reference {reference['source']} "
                  f"({reference['texts']:,} texts, mean {reference['mean_words']} words); "
                  f"seed {summary['params']['seed']}"
                  + (f"; Vendi not computed: {summary['diversity_skipped']}"
                     if summary.get("diversity_skipped") else ""))
    for column in ("revision", "rows", "poems", "texts", "mean words", "KS", "KS p", "Vendi", "shards"):
        table.add_column(column, justify="left" if column == "revision" else "right", no_wrap=True)
    for name, entry in summary["revisions"].items():
        ks = f"{entry['ks_statistic']:.4f}" if "ks_statistic" in entry else "-"
        pvalue = f"{entry['ks_pvalue']:.3g}" if "ks_pvalue" in entry else "-"
        shards = sum(f.startswith("data/") for f in entry.get("files", []))
        counts = entry["counts"]
        vendi = f"{entry['diversity']['vendi']:.1f}" if entry.get("diversity") else "-"
        table.add_row(name, f"{entry['rows']:,}", f"{counts['distinct_poems']:,}",
                      f"{counts['distinct_texts']:,}", f"{entry['mean_words']:.1f}", ks, pvalue, vendi,
                      str(shards))
    return table


def publish(
    build_dir: Path = typer.Argument(..., metavar="OUT", help="Output folder of `curate poems build`"),
    repo: str = typer.Option(..., "--repo", help="Hub dataset repository ORG/NAME"),
    token: str | None = typer.Option(None, show_default=False, help="Hub token; by default the usual Hugging "
                                     "Face sources (HF_TOKEN, the saved login)"),
    endpoint: str | None = typer.Option(None, help="Hub endpoint (default: HF_ENDPOINT or the Hub)"),
    private: bool = typer.Option(False, help="Create the repository as private"),
    progress: bool = typer.Option(True, help="Show a progress bar"),
) -> None:
    """Upload each revision of a build as one commit on its own branch of the Hub dataset REPO."""
    from builders.layout import read_build_summary
    from builders.publish import publish_revisions

    carded = read_build_summary(build_dir)["params"].get("card_repo_id")
    if carded != repo:
        err_console.print(f"note: the cards' load snippets name {carded or 'no repository'}; rebuild with "
                          f"--card-repo-id {repo} to show this one")
    commits = publish_revisions(build_dir, repo, token=token, endpoint=endpoint, private=private,
                                progress=progress)
    if not progress:
        typer.echo(json.dumps(commits, indent=2))


def sample_representation(
    large: Path = typer.Argument(..., help="Features of the large set (.npy, or Parquet)"),
    small: Path = typer.Argument(..., help="Features of the small set (.npy, or Parquet)"),
    out: Path = typer.Option(..., "--out", help="Parquet file of the drawn rows (row, weight); a .json "
                                                "summary lands beside it"),
    size: int | None = typer.Option(None, min=1, help="Rows to draw (default: as many as the small set)"),
    components: int = typer.Option(50, min=1, help="PCA components"),
    replace: bool = typer.Option(False, help="Draw with replacement"),
    seed: int = typer.Option(0, help="Seed of PCA, the classifier and the draw"),
    feature_column: str | None = typer.Option(None, help="Parquet column holding the feature vectors "
                                              "(default: the one list column, else every numeric column)"),
) -> None:
    """Draw rows of LARGE with weights p(small | x): logistic regression on standardised PCA features."""
    import polars as pl

    from builders.representation_sampling import load_features, sample_by_representation

    sample = sample_by_representation(load_features(large, feature_column),
                                      load_features(small, feature_column), size, components=components,
                                      replace=replace, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"row": sample.rows, "weight": sample.weights[sample.rows]}).write_parquet(out)
    summary = {**sample.summary(), "large": str(large), "small": str(small), "seed": seed, "out": str(out)}
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    table = Table(title=f"representation sample -> {out}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in summary.items():
        table.add_row(name, str(value))
    console.print(table)


app.command("build")(build)
app.command("publish")(publish)
app.command("sample-representation")(sample_representation)
