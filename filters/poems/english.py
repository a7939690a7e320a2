"""The English filter: a word-frequency lexicon over spaCy lookup lemmas (seeds/001), with a
second, per-token signal of English against the other `wordfreq` languages.

Tokens are runs of letters (with marks and inner apostrophes). A token counts as English when its
lemma (spaCy's lookup table, keyed by the exact surface form, then lower-cased) or its lower-cased
form is in the lexicon. `english_share` is the share of such tokens. `english_evidence` is the mean
over tokens of (English Zipf - best other language's Zipf); a token no list knows scores 0, or
`-foreign_oov_penalty` when it has letters outside a-z, which English words rarely have.

Modes: `share` is the seed's rule (share >= min_share); `share+evidence` (default) also needs
evidence >= min_evidence. Texts in scripts without word separators (Chinese, Japanese, Thai)
become long unknown tokens, so their share is near 0 and they never pass; a text with no letters
at all is rejected too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from curation.stage import reject_where
from filters.poems.lexicon import csv_lexicon, language_evidence, lemma_table, wordfreq_lexicon

TOKEN = r"\p{L}[\p{L}\p{M}]*(?:'\p{L}[\p{L}\p{M}]*)*"
FOREIGN_LETTERS = r"[^a-z']"
MODES = ("share", "share+evidence")

DEFAULT_MIN_ZIPF = 3.0
DEFAULT_MIN_SHARE = 0.8
DEFAULT_MIN_EVIDENCE = 0.0
DEFAULT_FOREIGN_OOV_PENALTY = 2.0


def tokens_of(text: pl.Expr) -> pl.Expr:
    return text.str.replace_all("[’‘`]", "'").str.extract_all(TOKEN)


@dataclass
class EnglishFilter:
    """Reject `not_english` text; adds `english_share`, `english_evidence`, `word_count`."""

    min_zipf: float = DEFAULT_MIN_ZIPF
    min_share: float = DEFAULT_MIN_SHARE
    min_evidence: float = DEFAULT_MIN_EVIDENCE
    mode: str = "share+evidence"
    lexicon_csv: str | Path | None = None
    min_count: float = 100_000
    foreign_oov_penalty: float = DEFAULT_FOREIGN_OOV_PENALTY
    name: str = "english"
    reads: tuple[str, ...] = ("text",)
    adds: tuple[str, ...] = ("word_count", "english_share", "english_evidence")
    lexicon: pl.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        words = (csv_lexicon(self.lexicon_csv, self.min_count) if self.lexicon_csv
                 else wordfreq_lexicon(self.min_zipf))
        self.lexicon = words.with_columns(pl.lit(True).alias("in_lexicon"))
        self.lemmas = lemma_table()
        self.evidence = language_evidence()

    def scores(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Per row: word_count, english_share, english_evidence (row order kept)."""
        tokens = (batch.select(tokens_of(pl.col("text")).alias("token")).with_row_index("row")
                  .explode("token").drop_nulls("token")
                  .join(self.lemmas, left_on="token", right_on="form", how="left")
                  .with_columns(pl.col("token").str.to_lowercase().alias("lower"),
                                pl.coalesce("lemma", "token").str.to_lowercase().alias("lemma"))
                  .join(self.lexicon.rename({"word": "lemma"}), on="lemma", how="left")
                  .join(self.lexicon.rename({"word": "lower", "in_lexicon": "surface_in_lexicon"}),
                        on="lower", how="left")
                  .join(self.evidence, left_on="lower", right_on="word", how="left"))
        oov_score = (pl.when(pl.col("lower").str.contains(FOREIGN_LETTERS))
                     .then(-self.foreign_oov_penalty).otherwise(0.0))
        in_lexicon = (pl.col("in_lexicon") | pl.col("surface_in_lexicon")).fill_null(False)
        per_row = tokens.group_by("row").agg(
            pl.len().alias("word_count"), in_lexicon.mean().alias("english_share"),
            pl.coalesce(pl.col("evidence"), oov_score).mean().alias("english_evidence"))
        return (pl.DataFrame({"row": pl.int_range(batch.height, eager=True, dtype=pl.UInt32)})
                .join(per_row, on="row", how="left")
                .select(pl.col("word_count").fill_null(0).cast(pl.Int32),
                        pl.col("english_share").fill_null(0.0).cast(pl.Float32),
                        pl.col("english_evidence").fill_null(0.0).cast(pl.Float32)))

    def keep(self) -> pl.Expr:
        keep = (pl.col("word_count") > 0) & (pl.col("english_share") >= self.min_share)
        if self.mode == "share+evidence":
            keep &= pl.col("english_evidence") >= self.min_evidence
        return keep

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        batch = pl.concat([batch.drop(self.adds, strict=False), self.scores(batch)], how="horizontal")
        detail = pl.format("share={} evidence={} words={}", pl.col("english_share").round(3),
                           pl.col("english_evidence").round(3), pl.col("word_count"))
        return reject_where(batch, ~self.keep(), "not_english", detail)
