"""The English filter: a word-frequency lexicon over spaCy lookup lemmas (seeds/001), with a
second, per-token signal of English against the other `wordfreq` languages.

Tokens are runs of letters (with marks and inner apostrophes) of the lower-cased text. A token
counts as English when it or its lemma (spaCy's English lookup table) is in the lexicon;
`english_share` is the share of such tokens. `english_evidence` is the mean over tokens of
(English Zipf - best other language's Zipf); a token no list knows scores 0, or
`-foreign_oov_penalty` when it has letters outside a-z, which English words rarely have.

Modes: `share` is the seed's rule (share >= min_share); `share+evidence` (default) also needs
evidence >= min_evidence * sqrt(12 / n) for a text of n > 12 words: the mean of n per-word scores is
less noisy the longer the text, so long texts must lean English more clearly (which also catches
bilingual poems). One-letter tokens (acrostics, "A is for...") carry no language evidence.
In both modes at least 90% of the letters must be Latin (`latin_share`): texts in scripts without
word separators (Chinese, Japanese, Thai) would otherwise count one long run as a single token.
Texts in those scripts
become long unknown tokens, so their share is near 0 and they never pass; a text with no letters
at all is rejected too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from curation.stage import reject_where
from filters.poems.lexicon import HashedLookup, csv_lexicon, language_evidence, lemma_table, wordfreq_lexicon

TOKEN = r"\p{L}[\p{L}\p{M}]*(?:'\p{L}[\p{L}\p{M}]*)*"
FOREIGN_LETTERS = r"[^a-z']"
MODES = ("share", "share+evidence")

# Chosen on the dev split of benchmarks/english_eval.py; the seed's own rule is mode="share" at 0.8.
DEFAULT_MIN_ZIPF = 2.0
DEFAULT_MIN_SHARE = 0.75
SEED_MIN_SHARE = 0.8
DEFAULT_MIN_EVIDENCE = -0.75
DEFAULT_FOREIGN_OOV_PENALTY = 2.0
EVIDENCE_REFERENCE_WORDS = 12
MIN_LATIN_SHARE = 0.9


def tokens_of(text: pl.Expr) -> pl.Expr:
    return text.str.replace_all("[’‘`]", "'").str.extract_all(TOKEN)


def latin_share(text: pl.Series) -> pl.Series:
    letters = text.str.count_matches(r"\p{L}")
    latin = text.str.count_matches(r"\p{Latin}")
    return (latin / letters.clip(1)).fill_null(0.0).cast(pl.Float32).alias("latin_share")


def keep_expression(min_share: float, min_evidence: float | None) -> pl.Expr:
    """The keep decision over `word_count`, `english_share`, `english_evidence`."""
    keep = ((pl.col("word_count") > 0) & (pl.col("english_share") >= min_share)
            & (pl.col("latin_share") >= MIN_LATIN_SHARE))
    if min_evidence is None:
        return keep
    scale = (EVIDENCE_REFERENCE_WORDS / pl.col("word_count").clip(EVIDENCE_REFERENCE_WORDS)).sqrt()
    return keep & (pl.col("english_evidence") >= min_evidence * scale)


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
    adds: tuple[str, ...] = ("word_count", "english_share", "english_evidence", "latin_share")
    lexicon: pl.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        words = (csv_lexicon(self.lexicon_csv, self.min_count) if self.lexicon_csv
                 else wordfreq_lexicon(self.min_zipf))
        self.lexicon = words.with_columns(pl.lit(True).alias("in_lexicon"))
        self.lemmas = lemma_table()
        self.evidence = HashedLookup(language_evidence(), "word", "evidence")

    def word_table(self, words: pl.Series) -> pl.DataFrame:
        """Per distinct lower-cased word: is it English by the lexicon, and its evidence."""
        table = (words.unique().to_frame("token")
                 .join(self.lemmas, left_on="token", right_on="form", how="left")
                 .with_columns(pl.col("lemma").str.to_lowercase().fill_null(pl.col("token")))
                 .join(self.lexicon.rename({"word": "lemma"}), on="lemma", how="left")
                 .join(self.lexicon.rename({"word": "token", "in_lexicon": "surface_in_lexicon"}),
                       on="token", how="left"))
        oov_score = (pl.when(pl.col("token").str.contains(FOREIGN_LETTERS))
                     .then(-self.foreign_oov_penalty).otherwise(0.0))
        return table.select(
            "token", (pl.col("in_lexicon") | pl.col("surface_in_lexicon")).fill_null(False).alias("english"),
            pl.when(pl.col("token").str.len_chars() > 1)
            .then(pl.coalesce(self.evidence(table["token"]), oov_score)).alias("evidence"))

    def scores(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Per row: word_count, english_share, english_evidence, latin_share (row order kept)."""
        tokens = (batch.select(tokens_of(pl.col("text").str.to_lowercase()).alias("token"))
                  .with_row_index("row").explode("token").drop_nulls("token"))
        tokens = tokens.join(self.word_table(tokens["token"]), on="token", how="left")
        per_row = tokens.group_by("row").agg(pl.len().alias("word_count"), pl.col("english").mean()
                                             .alias("english_share"), pl.col("evidence").mean()
                                             .alias("english_evidence"))
        return (pl.DataFrame({"row": pl.int_range(batch.height, eager=True, dtype=pl.UInt32)})
                .join(per_row, on="row", how="left")
                .select(pl.col("word_count").fill_null(0).cast(pl.Int32),
                        pl.col("english_share").fill_null(0.0).cast(pl.Float32),
                        pl.col("english_evidence").fill_null(0.0).cast(pl.Float32),
                        latin_share(batch["text"])))

    def keep(self) -> pl.Expr:
        return keep_expression(self.min_share, self.min_evidence if self.mode == "share+evidence" else None)

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        batch = pl.concat([batch.drop(self.adds, strict=False), self.scores(batch)], how="horizontal")
        detail = pl.format("share={} evidence={} latin={} words={}", pl.col("english_share").round(3),
                           pl.col("english_evidence").round(3), pl.col("latin_share").round(3),
                           pl.col("word_count"))
        return reject_where(batch, ~self.keep(), "not_english", detail)
