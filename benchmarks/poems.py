"""Throughput and memory of the poem clean stage, against a per-poem Python baseline.

    python benchmarks/poems.py [--corpus ../shared/data/kaggle-poems-forms] [--scales 1,8]

Each measurement runs in a fresh process so peak memory (ru_maxrss) is its own. The baseline is
the straightforward way: spaCy `nlp.pipe` (lookup lemmatizer, same tokens) and Python set/dict
look-ups per poem, making the English filter's decisions; the two sets of decisions are compared.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]


def load_poems(corpus: Path, scale: int):
    import polars as pl

    from curation.readers import open_reader

    poems = pl.concat(list(open_reader(corpus).batches()))
    return pl.concat([poems.with_columns(pl.format("{}#{}", "row_id", pl.lit(i)).alias("row_id"))
                      for i in range(scale)])


def measure_clean(corpus: Path, scale: int) -> dict:
    """The whole clean stage (footer, English, form, duplicates) through the engine, streaming the
    corpus from disk (`scale` linked copies of every file)."""
    import tempfile

    from scale import replicate

    from curation.engine import run
    from curation.readers import open_reader
    from filters.poems import EnglishFilter, FormCategory, MarkDuplicates, StripFooter

    stages = [StripFooter(), EnglishFilter(), FormCategory(), MarkDuplicates()]
    with tempfile.TemporaryDirectory() as tmp:
        reader = open_reader(replicate(corpus.resolve(), scale, Path(tmp) / "corpus"))
        started = time.perf_counter()
        manifest = run(reader, stages, Path(tmp) / "out", progress=False)
        elapsed = time.perf_counter() - started
    return {"what": f"clean stage x{scale}", "poems": manifest.rows_in, "seconds": elapsed,
            "balanced": manifest.balanced}


def measure_english(corpus: Path, scale: int) -> dict:
    """The vectorised English filter alone, on footer-stripped poems."""
    import polars as pl

    from filters.poems import EnglishFilter, StripFooter

    poems = StripFooter()(load_poems(corpus, scale)).filter(pl.col("reject_reason").is_null())
    english = EnglishFilter(mode="share+evidence")  # the lexicon rule the spaCy baseline replicates
    started = time.perf_counter()
    keep = pl.concat([english.scores(poems.slice(i, 2_000)) for i in range(0, poems.height, 2_000)]) \
        .select(english.keep())["word_count"].to_list()
    elapsed = time.perf_counter() - started
    Path("/tmp/english_vectorised.json").write_text(json.dumps(keep))
    return {"what": f"English filter, vectorised x{scale}", "poems": poems.height, "seconds": elapsed}


def measure_baseline(corpus: Path, scale: int) -> dict:
    """spaCy nlp.pipe + per-token set and dict look-ups, one poem at a time."""
    import math

    import polars as pl
    import regex
    import spacy
    from spacy.tokens import Doc

    from filters.poems import EnglishFilter, StripFooter
    from filters.poems.english import (
        FOREIGN_LINE_MAX_EVIDENCE,
        FOREIGN_LINE_MAX_SHARE,
        FOREIGN_LINE_MIN_WORDS,
        TOKEN,
    )
    from filters.poems.english_zones import (
        EVIDENCE_REFERENCE_WORDS,
        MAX_FOREIGN_LINE_SHARE,
        MIN_FOREIGN_RUN,
        MIN_LATIN_SHARE,
    )
    from filters.poems.lexicon import language_evidence

    poems = StripFooter()(load_poems(corpus, scale)).filter(pl.col("reject_reason").is_null())
    english = EnglishFilter(mode="share+evidence")
    lexicon = set(english.lexicon["word"].to_list())
    evidence = dict(zip(*language_evidence().get_columns(), strict=True))
    token_re, foreign = regex.compile(TOKEN), regex.compile(r"[^a-z']")
    nlp = spacy.blank("en")
    nlp.tokenizer = lambda text: Doc(nlp.vocab, words=token_re.findall(
        regex.sub("[’‘`]", "'", text.lower())) or [""])
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"}).initialize()

    def is_english(token) -> bool:
        return token.lemma_.lower() in lexicon or token.text in lexicon

    def score(token) -> float | None:
        if len(token.text) < 2:
            return None
        return evidence.get(token.text, -english.foreign_oov_penalty if foreign.search(token.text) else 0.0)

    def bilingual(words: list, text: str) -> bool:
        """Line by line: a run of foreign lines holding enough of the words."""
        per_line = [len(token_re.findall(regex.sub("[’‘`]", "'", line.lower()))) for line in text.split("\n")]
        flags, weights, start = [], [], 0
        for n in per_line:
            line, start = words[start:start + n], start + n
            if n < FOREIGN_LINE_MIN_WORDS:
                continue
            scores = [x for x in map(score, line) if x is not None]
            flags.append(sum(map(is_english, line)) < FOREIGN_LINE_MAX_SHARE * n
                         or sum(scores) < FOREIGN_LINE_MAX_EVIDENCE * len(scores))
            weights.append(n)
        run = longest = 0
        for flag in flags:
            run = run + 1 if flag else 0
            longest = max(longest, run)
        share = sum(w for f, w in zip(flags, weights, strict=True) if f) / max(sum(weights), 1)
        return longest >= MIN_FOREIGN_RUN and share >= MAX_FOREIGN_LINE_SHARE - 1e-6

    def decide(doc, text: str) -> bool:
        words = [t for t in doc if t.text]
        if not words:
            return False
        share = sum(map(is_english, words)) / len(words)
        scores = [x for x in map(score, words) if x is not None]
        mean = sum(scores) / len(scores) if scores else 0.0
        letters = len(regex.findall(r"\p{L}", text))
        latin = len(regex.findall(r"\p{Latin}", text)) / max(letters, 1)
        threshold = english.min_evidence * math.sqrt(EVIDENCE_REFERENCE_WORDS / max(len(words),
                                                                                     EVIDENCE_REFERENCE_WORDS))
        return (share >= english.min_share and mean >= threshold - 1e-6 and latin >= MIN_LATIN_SHARE
                and not bilingual(words, text))

    texts = poems["text"].to_list()
    started = time.perf_counter()
    keep = [decide(doc, text) for doc, text in zip(nlp.pipe(texts, batch_size=256), texts, strict=True)]
    elapsed = time.perf_counter() - started
    vectorised = json.loads(Path("/tmp/english_vectorised.json").read_text())
    same = sum(a == b for a, b in zip(keep, vectorised, strict=True))
    return {"what": f"English filter, spaCy per-poem baseline x{scale}", "poems": len(texts),
            "seconds": elapsed, "same_decisions": f"{same}/{len(texts)}"}


def child(args: argparse.Namespace) -> None:
    measure = {"clean": measure_clean, "english": measure_english, "baseline": measure_baseline}[args.child]
    result = measure(args.corpus, args.scale)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "data" / "kaggle-poems-forms")
    parser.add_argument("--scales", default="1,8")
    parser.add_argument("--child", choices=["clean", "english", "baseline"])
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    if args.child:
        return child(args)
    from rich.console import Console
    from rich.table import Table

    table = Table(title="poems clean: throughput and peak memory (fresh process each)")
    for column in ("what", "poems", "seconds", "poems/s", "peak RSS MiB", "notes"):
        table.add_column(column, justify="left" if column in ("what", "notes") else "right")
    runs = [("clean", s) for s in map(int, args.scales.split(","))] + [("english", 1), ("baseline", 1)]
    results = {}
    for kind, scale in runs:
        out = subprocess.run([sys.executable, __file__, "--child", kind, "--scale", str(scale),
                              "--corpus", str(args.corpus)], capture_output=True, text=True, check=True)
        r = results[kind, scale] = json.loads(out.stdout.strip().splitlines()[-1])
        notes = r.get("same_decisions", "") and f"same decisions: {r['same_decisions']}"
        if "balanced" in r:
            notes = f"manifest balanced: {r['balanced']}"
        rate = r["poems"] / r["seconds"]
        table.add_row(r["what"], f"{r['poems']:,}", f"{r['seconds']:.2f}", f"{rate:,.0f}",
                      f"{r['peak_rss_mib']:,.0f}", notes)
    speedup = results["baseline", 1]["seconds"] / results["english", 1]["seconds"]
    table.caption = f"vectorised English filter vs spaCy baseline: {speedup:.1f}x"
    Console().print(table)


if __name__ == "__main__":
    main()
