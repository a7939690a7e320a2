"""The English filter against py3langid and lingua on multilingual sentences, in one run.

    python benchmarks/english_eval.py [--split test] [--repeats 3] [--no-lingua] [--per-language]
                                      [--all-english]

Build the corpus first (benchmarks/multilingual/). The filter's constants were chosen on the `dev`
split; `test` (the default) is only ever reported. Up to 1,000 sentences of at least 5 words per
language. A filter "accepts" a sentence when it keeps it as English: ours when `reject_reason` is
null, py3langid when English is its top language, lingua (all its languages loaded, high- and
low-accuracy mode) when it detects English. Printed: English kept, mean non-English acceptance over
languages, the worst language, and CPU seconds. `--all-english` also runs every filter on ALL the
English sentences of the split (about 18,800; one sentence of the 1,000 sampled is 0.1%) and prints
English kept over them. Ours and py3langid are timed --repeats times,
interleaved, each after a warm-up (models loaded); lingua once, on its accuracy pass. The machine
is shared, so prefer the ratios to the seconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from filters.poems.english import EnglishFilter

REPO = Path(__file__).resolve().parents[1]
BATCH_ROWS = 2_000


def sample(corpus: pl.DataFrame, split: str, per_language: int) -> pl.DataFrame:
    return (corpus.filter(pl.col("split") == split)
            .filter(pl.int_range(pl.len()).shuffle(seed=0).over("lang") < per_language))


def ours(english: EnglishFilter) -> Callable[[list[str]], list[bool]]:
    def accepts(texts: list[str]) -> list[bool]:
        kept = []
        for start in range(0, len(texts), BATCH_ROWS):
            out = english(pl.DataFrame({"text": texts[start:start + BATCH_ROWS]}))
            kept += out["reject_reason"].is_null().to_list()
        return kept
    return accepts


def py3langid_filter() -> Callable[[list[str]], list[bool]]:
    import py3langid

    return lambda texts: [py3langid.classify(text)[0] == "en" for text in texts]


def lingua_filter(low_accuracy: bool) -> Callable[[list[str]], list[bool]]:
    from lingua import Language, LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_all_languages()
    detector = (builder.with_low_accuracy_mode() if low_accuracy else builder).build()
    return lambda texts: [detector.detect_language_of(text) == Language.ENGLISH for text in texts]


def cpu_seconds(accepts: Callable[[list[str]], list[bool]], texts: list[str]) -> tuple[float, list[bool]]:
    started = time.process_time()
    kept = accepts(texts)
    return time.process_time() - started, kept


def summary(sentences: pl.DataFrame, kept: list[bool]) -> dict:
    rates = (sentences.with_columns(pl.Series("kept", kept)).group_by("lang")
             .agg(pl.col("kept").mean().alias("accepted")).sort("lang"))
    foreign = rates.filter(pl.col("lang") != "en").sort("accepted", "lang", descending=[True, False])
    return {"english": rates.filter(pl.col("lang") == "en")["accepted"][0],
            "mean_foreign": foreign["accepted"].mean(), "worst": foreign.row(0, named=True),
            "rates": rates}


def timed_runs(filters: dict, texts: list[str], repeats: int, timed: tuple[str, ...]) -> tuple[dict, dict]:
    """CPU seconds (median) and the accept list of each filter; the `timed` ones are interleaved."""
    seconds: dict[str, list[float]] = {name: [] for name in filters}
    kept = {}
    for name in timed:
        filters[name](texts[:200])  # warm-up: tables and models loaded
    for _ in range(repeats):
        for name in timed:
            spent, kept[name] = cpu_seconds(filters[name], texts)
            seconds[name].append(spent)
    for name in (name for name in filters if name not in timed):
        spent, kept[name] = cpu_seconds(filters[name], texts)
        seconds[name].append(spent)
    return ({name: statistics.median(values) for name, values in seconds.items()},
            {name: kept[name] for name in filters})


def report(sentences: pl.DataFrame, seconds: dict, kept: dict, console: Console, per_language: bool) -> None:
    table = Table(title=f"English filters on {sentences.height:,} sentences, "
                        f"{sentences['lang'].n_unique()} languages")
    for column in ("filter", "English kept", "non-English accepted, mean", "worst language",
                   "CPU s", "sentences/s", "CPU vs ours"):
        table.add_column(column, justify="left" if column in ("filter", "worst language") else "right")
    base = seconds["ours"]
    stats = {name: summary(sentences, kept[name]) for name in kept}
    for name, result in stats.items():
        worst = result["worst"]
        table.add_row(name, f"{result['english']:.2%}", f"{result['mean_foreign']:.3%}",
                      f"{worst['lang']} {worst['accepted']:.2%}", f"{seconds[name]:.1f}",
                      f"{sentences.height / seconds[name]:,.0f}", f"x{seconds[name] / base:.1f}")
    console.print(table)
    if per_language:
        rates = pl.concat([s["rates"].rename({"accepted": name}) for name, s in stats.items()],
                          how="align")
        with pl.Config(tbl_rows=-1, tbl_cols=-1, float_precision=4):
            console.print(rates)


def all_english(corpus: pl.DataFrame, split: str, filters: dict, console: Console) -> None:
    """English kept by each filter over every English sentence of the split, not only the sample."""
    english = corpus.filter((pl.col("split") == split) & (pl.col("lang") == "en"))["text"].to_list()
    table = Table(title=f"English kept over all {len(english):,} English sentences of the {split} split")
    for column in ("filter", "English kept", "rejected"):
        table.add_column(column, justify="left" if column == "filter" else "right")
    for name, accepts in filters.items():
        kept = sum(accepts(english))
        table.add_row(name, f"{kept / len(english):.2%} ({kept:,})", f"{len(english) - kept:,}")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REPO / ".cache" / "multilingual" / "sentences.parquet")
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--per-language-max", type=int, default=1_000)
    parser.add_argument("--min-words", type=int, default=5,
                        help="sentence-level: drop UI fragments shorter than this many words")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-lingua", action="store_true", help="skip lingua (its high-accuracy "
                        "mode takes several CPU-minutes)")
    parser.add_argument("--per-language", action="store_true", help="print every language's rates")
    parser.add_argument("--all-english", action="store_true", help="also report English kept over all "
                        "the split's English sentences, not only the sample")
    args = parser.parse_args()
    corpus = (pl.read_parquet(args.corpus).select("lang", "text", "split")
              .filter(pl.col("text").str.split(" ").list.len() >= args.min_words))
    sentences = sample(corpus, args.split, args.per_language_max)
    filters = {"ours": ours(EnglishFilter()),
               "ours, lexicon only (share+evidence)": ours(EnglishFilter(mode="share+evidence")),
               "seed share rule (top-50k, 0.8)": ours(EnglishFilter(min_zipf=2.55, min_share=0.8,
                                                                    mode="share")),
               "py3langid": py3langid_filter()}
    if not args.no_lingua:
        filters |= {"lingua, low accuracy": lingua_filter(True), "lingua": lingua_filter(False)}
    console = Console()
    console.print(f"split {args.split}: {sentences.height:,} sentences; timing ours and py3langid "
                  f"x{args.repeats}, interleaved")
    seconds, kept = timed_runs(filters, sentences["text"].to_list(), args.repeats, ("ours", "py3langid"))
    report(sentences, seconds, kept, console, args.per_language)
    if args.all_english:
        all_english(corpus, args.split, filters, console)


if __name__ == "__main__":
    main()
