"""Word resources for the English filter: the English lexicon (from `wordfreq` or a user's
`word,count` CSV), spaCy's English lookup lemmas, and per-word language evidence (English
frequency against the most frequent other `wordfreq` language), cached as Parquet."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from curation.errors import InputError
from curation.shards import write_atomically

HASH_SEED = 20_241_122
EVIDENCE_FLOOR_ZIPF = 1.0  # wordfreq's lists stop near here; unseen words get this frequency


def cache_dir() -> Path:
    root = Path(os.environ.get("CURATE_CACHE", Path.home() / ".cache" / "aesthetic-curation"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def cached_parquet(path: Path, build: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    """Read `path`, or build the table and write it there atomically (workers building the same
    table at once each write their own temporary file)."""
    if path.exists():
        return pl.read_parquet(path)
    table = build()
    write_atomically(path, table.write_parquet)
    return table


@cache
def wordfreq_table(lang: str) -> pl.DataFrame:
    """(word, zipf) for one `wordfreq` language ('best' list), cached as Parquet."""
    from importlib.metadata import version

    def build() -> pl.DataFrame:
        import wordfreq  # slow to import (0.6 s): only when the cache is cold

        freqs = wordfreq.get_frequency_dict(lang, wordlist="best")
        return pl.DataFrame({"word": list(freqs), "freq": list(freqs.values())}).select(
            "word", (pl.col("freq").log10() + 9).cast(pl.Float32).alias("zipf"))

    return cached_parquet(cache_dir() / f"wordfreq{version('wordfreq')}-{lang}.parquet", build)


def wordfreq_lexicon(min_zipf: float) -> pl.DataFrame:
    """English words whose Zipf frequency is at least `min_zipf` (3.0 = once per million words)."""
    return wordfreq_table("en").filter(pl.col("zipf") >= min_zipf).select("word")


def csv_lexicon(path: str | Path, min_count: float) -> pl.DataFrame:
    """English words from a `word,count` CSV whose count is at least `min_count`."""
    path = Path(path)
    try:
        table = pl.read_csv(path, schema_overrides={"word": pl.Utf8})
    except (pl.exceptions.PolarsError, OSError) as error:
        raise InputError(f"cannot read the lexicon CSV ({error})", path=str(path)) from None
    missing = {"word", "count"} - set(table.columns)
    if missing:
        raise InputError(f"the lexicon CSV needs columns word,count (missing {sorted(missing)})",
                         path=str(path))
    return (table.filter(pl.col("count") >= min_count)
            .select(pl.col("word").str.to_lowercase()).drop_nulls().unique())


@cache
def lemma_table() -> pl.DataFrame:
    """spaCy's English lookup lemmas, keyed by the exact surface form: the same table that
    `spacy.load_lookups("en", ["lemma_lookup"])` and the lookup lemmatizer use (spacy-lookups-data;
    spaCy's own `Table` keeps only hashed keys, so the packaged JSON is read directly)."""
    import spacy_lookups_data

    path = Path(spacy_lookups_data.en["lemma_lookup"])
    packed = path.with_name(path.name + ".gz")
    with (gzip.open(packed, "rt", encoding="utf-8") if packed.exists() else open(path)) as handle:
        table = json.load(handle)
    return pl.DataFrame({"form": list(table), "lemma": list(table.values())},
                        schema={"form": pl.Utf8, "lemma": pl.Utf8})


def english_forms(lexicon: pl.Series) -> pl.Series:
    """The lexicon's words and every surface form whose spaCy lookup lemma (lower-cased) is one."""
    lemmas = lemma_table()
    forms = lemmas.filter(pl.col("lemma").str.to_lowercase().is_in(lexicon.implode()))["form"]
    return pl.concat([lexicon, forms]).unique()


def evidence_languages() -> list[str]:
    import wordfreq

    return sorted(lang for lang in wordfreq.available_languages("best") if lang != "en")


def evidence_cache_path() -> Path:
    from importlib.metadata import version

    return cache_dir() / f"evidence-wordfreq{version('wordfreq')}.parquet"  # its languages are the version's


def language_evidence() -> pl.DataFrame:
    """(word, evidence): English Zipf minus the highest Zipf of any other language, both floored
    at `EVIDENCE_FLOOR_ZIPF`. Built once from `wordfreq` (about a minute), then read from cache."""

    def build() -> pl.DataFrame:
        others = (pl.concat([wordfreq_table(lang) for lang in evidence_languages()])
                  .group_by("word").agg(pl.col("zipf").max().alias("other")))
        floor = EVIDENCE_FLOOR_ZIPF
        return (wordfreq_table("en").rename({"zipf": "en"})
                .join(others, on="word", how="full", coalesce=True)
                .select("word", (pl.col("en").fill_null(floor).clip(floor)
                                 - pl.col("other").fill_null(floor).clip(floor))
                        .cast(pl.Float32).alias("evidence"))
                .filter(pl.col("evidence") != 0))

    return cached_parquet(evidence_cache_path(), build)


class HashedLookup:
    """Look up many words at once in a large (word, value) table: words are hashed to 64 bits
    and found by binary search in numpy, which avoids hashing millions of rows per batch."""

    def __init__(self, hashes: np.ndarray, values: np.ndarray) -> None:
        self.hashes, self.values = hashes, values

    @classmethod
    def of(cls, table: pl.DataFrame, key: str, value: str) -> HashedLookup:
        hashed = table.select(pl.col(key).hash(seed=HASH_SEED).alias("h"), value).sort("h")
        return cls(hashed["h"].to_numpy(), hashed[value].to_numpy())

    @classmethod
    def cached(cls, path: Path, build: Callable[[], pl.DataFrame], key: str, value: str) -> HashedLookup:
        """Load the sorted arrays saved beside `path`, or build them from `build()` and save them
        (worker processes then start in milliseconds instead of hashing millions of words)."""
        saved = path.with_suffix(f".hashed-{HASH_SEED}.npz")
        if saved.exists():
            arrays = np.load(saved)
            return cls(arrays["hashes"], arrays["values"])
        lookup = cls.of(build(), key, value)
        write_atomically(saved, lambda handle: np.savez(handle, hashes=lookup.hashes, values=lookup.values))
        return lookup

    @classmethod
    def of_words(cls, words: pl.Series) -> HashedLookup:
        """A set of words (each with the value 1.0), for `contains`."""
        table = words.unique().drop_nulls().to_frame("word").with_columns(value=pl.lit(1.0, pl.Float32))
        return cls.of(table, "word", "value")

    def contains(self, words: pl.Series) -> pl.Series:
        """Per word: whether the table holds it (false for null)."""
        return self(words).is_not_null() & words.is_not_null()

    def __call__(self, words: pl.Series) -> pl.Series:
        hashes = words.hash(seed=HASH_SEED).to_numpy()
        order = np.argsort(hashes)
        position = np.empty_like(order)
        position[order] = np.searchsorted(self.hashes, hashes[order])  # sorted queries stay in cache
        position = position.clip(0, len(self.hashes) - 1)
        found = self.hashes[position] == hashes
        return pl.Series(words.name, np.where(found, self.values[position], np.nan)).fill_nan(None)
