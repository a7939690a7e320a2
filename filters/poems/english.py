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
That mode also rejects bilingual texts (an original followed by its translation): a line of 3+ words
is foreign when under half its words are English or its evidence is below -1.5; a text is
bilingual when at least 2 such lines follow each other (`foreign_run`) and they hold at least 15%
of the words on lines of 3+ words (`foreign_line_share`).
In both modes at least 90% of the letters must be Latin (`latin_share`): texts in scripts without
word separators (Chinese, Japanese, Thai) would otherwise count one long run as a single token.
A text with no letters at all is rejected too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from curation.stage import reject_where
from filters.poems.lexicon import (
    HashedLookup,
    csv_lexicon,
    evidence_cache_path,
    language_evidence,
    lemma_table,
    wordfreq_lexicon,
)

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
FOREIGN_LINE_MIN_WORDS = 3
FOREIGN_LINE_MAX_SHARE = 0.5
FOREIGN_LINE_MAX_EVIDENCE = -1.5
MAX_FOREIGN_LINE_SHARE = 0.15
MIN_FOREIGN_RUN = 2


def tokens_of(text: pl.Expr) -> pl.Expr:
    return text.str.replace_all("[’‘`]", "'").str.extract_all(TOKEN)


def latin_share(text: pl.Series) -> pl.Series:
    """Share of letters in Latin script; only non-ASCII texts pay for the Unicode-class scan."""
    share = text.str.contains("[A-Za-z]").fill_null(False).cast(pl.Float32).to_numpy().copy()
    non_ascii = text.str.contains(r"[^\x00-\x7f]").fill_null(False).arg_true().to_numpy()
    if len(non_ascii):
        some = text.gather(non_ascii)
        latin = some.str.count_matches(r"\p{Latin}") / some.str.count_matches(r"\p{L}").clip(1)
        share[non_ascii] = latin.cast(pl.Float32).to_numpy()
    return pl.Series("latin_share", share, dtype=pl.Float32)


def keep_expression(min_share: float, min_evidence: float | None) -> pl.Expr:
    """The keep decision over `word_count`, `english_share`, `english_evidence`."""
    keep = ((pl.col("word_count") > 0) & (pl.col("english_share") >= min_share)
            & (pl.col("latin_share") >= MIN_LATIN_SHARE))
    if min_evidence is None:
        return keep
    scale = (EVIDENCE_REFERENCE_WORDS / pl.col("word_count").clip(EVIDENCE_REFERENCE_WORDS)).sqrt()
    bilingual = ((pl.col("foreign_run") >= MIN_FOREIGN_RUN)
                 & (pl.col("foreign_line_share") >= MAX_FOREIGN_LINE_SHARE))
    return keep & (pl.col("english_evidence") >= min_evidence * scale) & ~bilingual


def line_scores(tokens: pl.DataFrame) -> pl.DataFrame:
    """Per (row, line): word count, English words, evidence sum and count, and the foreign flag."""
    lines = tokens.group_by("row", "line").agg(
        pl.len().alias("words"), pl.col("english").sum().alias("english"),
        pl.col("evidence").sum().alias("evidence"), pl.col("evidence").count().alias("scored"))
    foreign = ((pl.col("english") < FOREIGN_LINE_MAX_SHARE * pl.col("words"))
               | (pl.col("evidence") < FOREIGN_LINE_MAX_EVIDENCE * pl.col("scored")))
    return lines.sort("row", "line").with_columns(
        (foreign & (pl.col("words") >= FOREIGN_LINE_MIN_WORDS)).alias("foreign"))


def foreign_line_share() -> pl.Expr:
    """Share of the words on lines of 3+ words that sit on foreign lines."""
    long_line = pl.col("words") >= FOREIGN_LINE_MIN_WORDS
    return ((pl.col("words") * pl.col("foreign")).sum() / pl.col("words").filter(long_line).sum()
            ).alias("foreign_line_share")


def longest_foreign_run() -> pl.Expr:
    """Most foreign lines in a row, counting only lines of 3+ words."""
    runs = pl.col("foreign").filter(pl.col("words") >= FOREIGN_LINE_MIN_WORDS).rle()
    return (runs.struct.field("len").filter(runs.struct.field("value")).max()
            .fill_null(0).alias("foreign_run"))


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
    adds: tuple[str, ...] = ("word_count", "english_share", "english_evidence", "latin_share",
                             "foreign_line_share", "foreign_run")
    lexicon: pl.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        words = (csv_lexicon(self.lexicon_csv, self.min_count) if self.lexicon_csv
                 else wordfreq_lexicon(self.min_zipf))
        self.lexicon = words.with_columns(pl.lit(True).alias("in_lexicon"))
        self.lemmas = lemma_table()
        self.evidence = HashedLookup.cached(evidence_cache_path(), language_evidence, "word", "evidence")

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
        """Per row: word_count, english_share, english_evidence, latin_share, foreign_line_share,
        foreign_run (row order kept)."""
        lines = line_scores(self.tokens(batch))
        per_row = lines.group_by("row").agg(
            pl.col("words").sum().alias("word_count"),
            (pl.col("english").sum() / pl.col("words").sum()).alias("english_share"),
            (pl.col("evidence").sum() / pl.col("scored").sum()).alias("english_evidence"),
            foreign_line_share(), longest_foreign_run())
        return (pl.DataFrame({"row": pl.int_range(batch.height, eager=True, dtype=pl.UInt32)})
                .join(per_row, on="row", how="left")
                .select(pl.col("word_count").fill_null(0).cast(pl.Int32),
                        pl.col("english_share").fill_null(0.0).cast(pl.Float32),
                        pl.col("english_evidence").fill_nan(0.0).fill_null(0.0).cast(pl.Float32),
                        latin_share(batch["text"]),
                        pl.col("foreign_line_share").fill_nan(0.0).fill_null(0.0).cast(pl.Float32),
                        pl.col("foreign_run").fill_null(0).cast(pl.Int32)))

    def tokens(self, batch: pl.DataFrame) -> pl.DataFrame:
        """One row per token: (row, line, english, evidence)."""
        tokens = (batch.select(pl.col("text").str.to_lowercase().str.split("\n").alias("line_text"))
                  .with_row_index("row").explode("line_text")
                  .with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).over("row").alias("line"))
                  .select("row", "line", tokens_of(pl.col("line_text")).alias("token"))
                  .explode("token").drop_nulls("token"))
        words = self.word_table(tokens["token"]).with_columns(pl.col("token").hash().alias("key"))
        return tokens.select("row", "line", pl.col("token").hash().alias("key")).join(  # u64 joins faster
            words.drop("token"), on="key", how="left")

    def keep(self) -> pl.Expr:
        return keep_expression(self.min_share, self.min_evidence if self.mode == "share+evidence" else None)

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        batch = pl.concat([batch.drop(self.adds, strict=False), self.scores(batch)], how="horizontal")
        detail = pl.format("share={} evidence={} latin={} words={} foreign_lines={} run={}",
                           pl.col("english_share").round(3), pl.col("english_evidence").round(3),
                           pl.col("latin_share").round(3), pl.col("word_count"),
                           pl.col("foreign_line_share").round(3), pl.col("foreign_run"))
        return reject_where(batch, ~self.keep(), "not_english", detail)
