"""Baseline: the seed's English-share rule on the test split of the multilingual corpus.

Rule: words = runs of Unicode letters (apostrophes inside a word kept), lowercased, lemmatised with
spaCy's English lookup table; a word counts as English if its lemma or its surface form is among
wordfreq's top-50,000 English words; a sentence is kept if the English share is >= 0.8
(a sentence with no word has share 0). Prints per-language acceptance on up to --per-lang test
sentences per language (the first ones by sha1 order, so the sample is deterministic).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parents[2]
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


class ShareRule:
    """English share of lemmatised words, against wordfreq's top-N English list."""

    def __init__(self, top_n: int = 50_000, threshold: float = 0.8) -> None:
        import spacy.lookups
        import wordfreq

        self.lemmas = spacy.lookups.load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
        self.lexicon = set(wordfreq.top_n_list("en", top_n))
        self.threshold = threshold

    def share(self, text: str) -> float:
        words = WORD.findall(text.replace("’", "'").lower())
        if not words:
            return 0.0
        hits = sum(1 for w in words if w in self.lexicon or self.lemmas.get(w, w) in self.lexicon)
        return hits / len(words)

    def accepts(self, text: str) -> bool:
        return self.share(text) >= self.threshold


def test_sample(frame: pl.DataFrame, per_lang: int) -> pl.DataFrame:
    order = [hashlib.sha1(f"order\t{t}".encode()).hexdigest() for t in frame["text"].to_list()]
    return (
        frame.filter(pl.col("split") == "test")
        .with_columns(order=pl.Series(order).filter(frame["split"] == "test"))
        .sort("lang", "order")
        .group_by("lang", maintain_order=True)
        .head(per_lang)
        .drop("order")
    )


def acceptance_table(sample: pl.DataFrame) -> pl.DataFrame:
    return (
        sample.group_by("lang")
        .agg(n=pl.len(), accepted=pl.col("accepted").sum(), rate=pl.col("accepted").mean())
        .sort("lang")
    )


def print_report(sample: pl.DataFrame, show: int) -> None:
    console = Console()
    per_lang = acceptance_table(sample)
    table = Table(title="share rule (>= 0.8, wordfreq top-50k, spaCy lookup lemmas): test split")
    for column in ("lang", "n", "accepted", "acceptance %"):
        table.add_column(column, justify="left" if column == "lang" else "right")
    for lang, n, accepted, rate in per_lang.iter_rows():
        flagged = lang != "en" and rate > 0.02
        table.add_row(lang, str(n), str(accepted), f"{100 * rate:.2f}", style="red" if flagged else None)
    console.print(table)
    english = sample.filter(pl.col("lang") == "en")
    by_source = english.group_by("source").agg(n=pl.len(), recall=pl.col("accepted").mean()).sort("source")
    for source, n, recall in by_source.iter_rows():
        console.print(f"English recall on {source}: {100 * recall:.2f}% of {n}")
    others = per_lang.filter(pl.col("lang") != "en")
    full = others.filter(pl.col("n") >= 1000)
    console.print(
        f"English recall: {100 * english['accepted'].mean():.2f}% (n={english.height}) | "
        f"non-English mean acceptance: {100 * others['rate'].mean():.2f}% over {others.height} languages "
        f"({100 * full['rate'].mean():.2f}% over the {full.height} with n>=1000) | "
        f"worst: {others.sort('rate')[-1, 'lang']} {100 * others['rate'].max():.2f}% | "
        f"languages above 2%: {others.filter(pl.col('rate') > 0.02).height}"
    )
    non_english = sample.filter(pl.col("lang") != "en")
    by_register = non_english.group_by("source", "lang").agg(rate=pl.col("accepted").mean(), n=pl.len())
    for source, group in sorted(by_register.group_by("source"), key=lambda item: item[0][0]):
        worst = group.sort("rate")[-1]
        console.print(
            f"non-English from {source[0]}: {group['n'].sum()} sentences, {group.height} languages, "
            f"mean acceptance {100 * group['rate'].mean():.2f}%, worst {worst['lang'][0]} "
            f"{100 * worst['rate'][0]:.2f}% (n={worst['n'][0]})"
        )
    if show:
        accepted = sample.filter((pl.col("lang") != "en") & pl.col("accepted"))
        examples = accepted.group_by("lang").head(show).sort("lang")
        for lang, text in examples.select("lang", "text").iter_rows():
            console.print(f"  accepted [{lang}] {text}", markup=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get(
        "MULTILINGUAL_CACHE", REPO_ROOT / ".cache/multilingual")) / "sentences.parquet")
    parser.add_argument("--per-lang", type=int, default=1000, help="test sentences per language")
    parser.add_argument("--show-accepted", type=int, default=3, help="accepted examples per language")
    args = parser.parse_args(argv)
    if not args.corpus.exists():
        raise SystemExit(f"{args.corpus} not found; run benchmarks/multilingual/build_corpus.py first")
    rule = ShareRule()
    sample = test_sample(pl.read_parquet(args.corpus), args.per_lang)
    sample = sample.with_columns(accepted=pl.col("text").map_elements(rule.accepts, return_dtype=pl.Boolean))
    print_report(sample, args.show_accepted)


if __name__ == "__main__":
    main()
