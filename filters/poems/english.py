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

Mode `langid` (the default) reads the same scores in zones. Confident: evidence >= 0.4 and
share >= 0.5, or share >= 0.95 and evidence >= -0.1 (names that many languages share pull the mean
just below zero), and not bilingual: kept (this is where short poems, nonsense words and rare English
words that the lexicon lacks still show English evidence). Weak: share >= 0.75 and evidence >=
-1.0 * sqrt(12 / n), or confident but bilingual: a second opinion decides (py3langid, line by line,
`filters.poems.second_opinion`): kept when at least 75% of the words are on lines it calls
English, so a foreign epigraph or refrain stays, a poem followed by its translation goes.
Unknown words: share >= 0.5, evidence >= 0, and at least 80% of the words English or unknown to
every `wordfreq` list (`not_foreign_share`: names, coinages, misspellings such as "Bretwaldian
Altostratus", "nonsolutions", or a language without a list): the second opinion reads it line by
line too, unless old spellings of lexicon words ("broughte") make it Middle English (the default
policy rejects that; those count as words with foreign letters).
Sure: share >= 0.5 and evidence >= -0.6 * sqrt(12 / n) but in none of the zones above (eye dialect,
names, identifiers: "You k'n hide de fier", "Peer FORTEZZA chain"): the second opinion reads it line
by line and must be sure, English with probability >= 0.5 (Middle English excepted as above).
Very short texts are too short for the second opinion's n-grams: a text of at most 5 words
(`TINY_WORDS`) is kept when every word is English and the evidence is at least -0.5; one of under
4 words that is not, is rejected. Anything else is rejected. That mode also drops social-media
handles ("@name"), repairs split words before counting ("C-ouplet", "A nother", "reprehensi ble":
a single letter or two unknown fragments joined when the join is an English word), reads a
possessive "'s" off unknown words, and counts words that only English uses (English Zipf at least
1.0 above every other language) as English though they are rarer than the lexicon's cut-off.
The expressions of these zones live in `filters.poems.english_zones`.
`archaic=True` also counts Middle and Early Modern English spellings ("kynge",
"haue", "firste", "fleeth") as English when a spelling variant is in the lexicon.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import polars as pl

from curation.stage import reject_where
from filters.poems.english_zones import (
    LANGID_MIN_EVIDENCE,
    MIN_LATIN_SHARE,
    MIN_SECOND_OPINION,
    ask_expressions,
    bilingual_expression,
    evidence_scale,
    langid_keep,
    sure_expression,
    unknown_words_expression,
)
from filters.poems.lexicon import (
    HashedLookup,
    csv_lexicon,
    english_forms,
    evidence_cache_path,
    language_evidence,
    wordfreq_lexicon,
)
from filters.poems.second_opinion import SURE_PROBABILITY, SecondOpinion
from filters.poems.words import archaic_english, repair_split_words

TOKEN = r"\p{L}[\p{L}\p{M}]*(?:'\p{L}[\p{L}\p{M}]*)*"
FOREIGN_LETTERS = r"[^a-z']"
MENTION = r"@\w+"  # a social-media handle names an account: no word of any language
MODES = ("share", "share+evidence", "langid")

# Chosen on the dev split of benchmarks/english_eval.py; the seed's own rule is mode="share" at 0.8.
DEFAULT_MIN_ZIPF = 2.0
DEFAULT_MIN_SHARE = 0.75
DEFAULT_MIN_EVIDENCE = -0.75
DEFAULT_FOREIGN_OOV_PENALTY = 2.0
FOREIGN_LINE_MIN_WORDS = 3
FOREIGN_LINE_MAX_SHARE = 0.5
FOREIGN_LINE_MAX_EVIDENCE = -1.5
RARE_ENGLISH_EVIDENCE = 1.0


def tokens_of(text: pl.Expr, drop_mentions: bool = False) -> pl.Expr:
    text = text.str.replace_all(MENTION, " ") if drop_mentions else text
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
    return keep & (pl.col("english_evidence") >= min_evidence * evidence_scale()) & ~bilingual_expression()


def line_scores(tokens: pl.DataFrame) -> pl.DataFrame:
    """Per (row, line): word count, English words, evidence sum and count, and the foreign flag."""
    lines = tokens.group_by("row", "line").agg(
        pl.len().alias("words"), pl.col("english").sum().alias("english"),
        pl.col("evidence").sum().alias("evidence"), pl.col("evidence").count().alias("scored"),
        (~pl.col("english") & (pl.col("evidence") == 0.0)).sum().alias("unknown"))
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
    """Reject `not_english` text; adds `english_share`, `english_evidence`, `word_count` and the
    other columns of `adds` (`second_opinion` is null where the lexicon alone decided)."""

    min_zipf: float = DEFAULT_MIN_ZIPF
    min_share: float = DEFAULT_MIN_SHARE
    min_evidence: float | None = None
    mode: str = "langid"
    lexicon_csv: str | Path | None = None
    min_count: float = 100_000
    foreign_oov_penalty: float = DEFAULT_FOREIGN_OOV_PENALTY
    archaic: bool = False
    name: str = "english"
    reads: tuple[str, ...] = ("text",)
    adds: tuple[str, ...] = ("word_count", "english_share", "english_evidence", "latin_share",
                             "foreign_line_share", "foreign_run", "not_foreign_share", "second_opinion",
                             "second_foreign_run")

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.min_evidence is None:
            self.min_evidence = LANGID_MIN_EVIDENCE if self.mode == "langid" else DEFAULT_MIN_EVIDENCE

    def setup(self) -> None:
        """Load the word lists and the second opinion's model now (once per worker), not at the
        first batch; building the stage loads nothing, so a process that only plans a run stays quick."""
        _ = self.lexicon, self.lexicon_words, self.english_words, self.evidence, self.second

    @cached_property
    def lexicon(self) -> pl.DataFrame:
        """(word): the English lexicon, from `wordfreq` or the user's CSV."""
        return (csv_lexicon(self.lexicon_csv, self.min_count) if self.lexicon_csv
                else wordfreq_lexicon(self.min_zipf))

    @cached_property
    def lexicon_words(self) -> HashedLookup:
        """The lexicon as a set of sorted 64-bit hashes: membership without a join per batch."""
        return HashedLookup.of_words(self.lexicon["word"])

    @cached_property
    def english_words(self) -> HashedLookup:
        """The lexicon's words and every form whose spaCy lookup lemma is one of them."""
        return HashedLookup.of_words(english_forms(self.lexicon["word"]))

    @cached_property
    def evidence(self) -> HashedLookup:
        return HashedLookup.cached(evidence_cache_path(), language_evidence, "word", "evidence")

    @cached_property
    def second(self) -> SecondOpinion | None:
        return SecondOpinion() if self.mode == "langid" else None

    @cached_property
    def sure(self) -> SecondOpinion:
        """The second opinion where the lexicon's case is weak: English must be more likely than not."""
        return SecondOpinion(min_probability=SURE_PROBABILITY, english_on_top=False)

    def word_table(self, words: pl.Series) -> pl.DataFrame:
        """Per distinct lower-cased word: is it English by the lexicon, and its evidence."""
        table = words.unique().to_frame("token")
        english = self.english_words.contains(table["token"])  # the word or its lemma is in the lexicon
        if self.mode == "langid":
            english = english | self.lexicon_words.contains(table["token"].str.replace("'s$", ""))
        oov_score = (pl.when(pl.col("token").str.contains(FOREIGN_LETTERS))
                     .then(-self.foreign_oov_penalty).otherwise(0.0))
        table = table.select(
            "token", english.alias("english"),
            pl.when(pl.col("token").str.len_chars() > 1)
            .then(pl.coalesce(self.evidence(table["token"]), oov_score)).alias("evidence"))
        if self.mode == "langid":
            table = table.with_columns(pl.col("english") | (pl.col("evidence") >= RARE_ENGLISH_EVIDENCE)
                                       .fill_null(False))
        return self.archaic_spellings(table)

    def archaic_spellings(self, table: pl.DataFrame) -> pl.DataFrame:
        """With `archaic=True`, Middle and Early Modern spellings of lexicon words count as English
        (their spelling is no language evidence)."""
        if not self.archaic:
            return table
        archaic = archaic_english(table.filter(~pl.col("english"))["token"], self.lexicon_words.contains)
        word = pl.col("archaic").fill_null(False)
        return table.join(archaic, on="token", how="left").with_columns(
            pl.col("english") | word, pl.when(word).then(0.0).otherwise(pl.col("evidence")).alias("evidence"),
        ).drop("archaic")

    def old_spelling_share(self, texts: pl.Series) -> pl.Series:
        """Per text: the share of its words that no word list knows and that are old spellings of
        lexicon words ("broughte", "kynge"): Middle English, not names or coinages. Asked only of
        the few texts of unknown words (`unknown_words_expression`), as the check is slow."""
        tokens = (texts.to_frame("text").with_row_index("row")
                  .select("row", tokens_of(pl.col("text").str.to_lowercase(), True).alias("token"))
                  .explode("token"))
        table = self.word_table(tokens["token"].drop_nulls())
        unknown = table.filter(~pl.col("english") & (pl.col("evidence") == 0.0))["token"]
        old = archaic_english(unknown, self.lexicon_words.contains).filter("archaic")["token"]
        return (tokens.group_by("row").agg(pl.col("token").is_in(old.implode()).mean().fill_null(0.0))
                .sort("row")["token"])

    def scores(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Per row: word_count, english_share, english_evidence, latin_share, foreign_line_share,
        foreign_run, not_foreign_share (English words plus words no list knows; row order kept)."""
        lines = line_scores(self.tokens(batch))
        per_row = lines.group_by("row").agg(
            pl.col("words").sum().alias("word_count"),
            (pl.col("english").sum() / pl.col("words").sum()).alias("english_share"),
            (pl.col("evidence").sum() / pl.col("scored").sum()).alias("english_evidence"),
            ((pl.col("english").sum() + pl.col("unknown").sum()) / pl.col("words").sum())
            .alias("not_foreign_share"),
            foreign_line_share(), longest_foreign_run())
        return (pl.DataFrame({"row": pl.int_range(batch.height, eager=True, dtype=pl.UInt32)})
                .join(per_row, on="row", how="left")
                .select(pl.col("word_count").fill_null(0).cast(pl.Int32),
                        pl.col("english_share").fill_null(0.0).cast(pl.Float32),
                        pl.col("english_evidence").fill_nan(0.0).fill_null(0.0).cast(pl.Float32),
                        latin_share(batch["text"]),
                        pl.col("foreign_line_share").fill_nan(0.0).fill_null(0.0).cast(pl.Float32),
                        pl.col("foreign_run").fill_null(0).cast(pl.Int32),
                        pl.col("not_foreign_share").fill_null(0.0).cast(pl.Float32)))

    def tokens(self, batch: pl.DataFrame) -> pl.DataFrame:
        """One row per token: (row, line, english, evidence)."""
        tokens = (batch.select(pl.col("text").str.to_lowercase().str.split("\n").alias("line_text"))
                  .with_row_index("row").explode("line_text")
                  .with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).over("row").alias("line"))
                  .select("row", "line", tokens_of(pl.col("line_text"), self.mode == "langid").alias("token"))
                  .explode("token").drop_nulls("token"))
        words = self.word_table(tokens["token"])
        if self.mode == "langid":
            flagged = tokens.join(words, on="token", how="left", maintain_order="left")
            repaired, joins = repair_split_words(flagged, self.lexicon_words.contains, self.word_table)
            tokens, words = repaired.drop("english"), pl.concat([words, joins]).unique("token")
        words = words.with_columns(pl.col("token").hash().alias("key"))
        return tokens.select("row", "line", pl.col("token").hash().alias("key")).join(  # u64 joins faster
            words.drop("token"), on="key", how="left")

    def keep(self) -> pl.Expr:
        """The keep decision over the columns of `adds`."""
        if self.mode == "langid":
            return langid_keep()
        return keep_expression(self.min_share, self.min_evidence if self.mode == "share+evidence" else None)

    def second_opinions(self, batch: pl.DataFrame) -> pl.DataFrame:
        """`second_opinion` (English share of words, by line where the lexicon saw two languages)
        and `second_foreign_run`, for the rows the lexicon leaves open; null elsewhere."""
        share, run = [None] * batch.height, [None] * batch.height
        if self.second is not None:
            whole, lines, unknown, sure = ask_expressions(self.min_share, self.min_evidence)
            asked = batch.select(whole.alias("whole"), lines.alias("lines"), unknown.alias("unknown"),
                                 sure.alias("sure"))
            texts = batch["text"]
            for i in asked["whole"].arg_true().to_list():
                english = self.second.is_english(texts[i])
                share[i], run[i] = float(english), int(not english)
            modern = self.without_old_spellings(batch, asked["unknown"], unknown_words_expression)
            by_lines = asked["lines"].arg_true().to_list() + modern
            for i in by_lines:
                share[i], run[i] = self.second.by_lines(texts[i])
            self.ask_where_sure(batch, asked["sure"], share, run)
        return pl.DataFrame([pl.Series("second_opinion", share, dtype=pl.Float32),
                             pl.Series("second_foreign_run", run, dtype=pl.Int32)])

    def ask_where_sure(self, batch: pl.DataFrame, asked: pl.Series, share: list, run: list) -> None:
        """The sure zone into `share` and `run`: py3langid first, line by line; then the slow old-spelling
        check on the rows it calls English only, and a Middle English one gets no opinion (rejected)."""
        rows = asked.arg_true().to_list()
        for i in rows:
            share[i], run[i] = self.sure.by_lines(batch["text"][i])
        english = [i for i in rows if share[i] >= MIN_SECOND_OPINION]
        said_english = pl.int_range(batch.height, eager=True).is_in(english)
        for i in set(english) - set(self.without_old_spellings(batch, said_english, sure_expression)):
            share[i], run[i] = None, None

    def without_old_spellings(self, batch: pl.DataFrame, asked: pl.Series,
                              zone: Callable[[], pl.Expr]) -> list[int]:
        """The `asked` rows that stay in their `zone` once old spellings count as words with foreign
        letters: no longer unknown, and the foreign-letter penalty off the evidence."""
        rows = asked.arg_true()
        if rows.is_empty():
            return []
        old = pl.lit(self.old_spelling_share(batch["text"].filter(asked)))
        modern = batch.filter(asked).select(
            "word_count", pl.col("english_share"), pl.col("not_foreign_share") - old,
            pl.col("english_evidence") - self.foreign_oov_penalty * old).select(zone())
        return rows.filter(modern.to_series()).to_list()

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        batch = pl.concat([batch.drop(self.adds, strict=False), self.scores(batch)], how="horizontal")
        batch = pl.concat([batch, self.second_opinions(batch)], how="horizontal")
        detail = pl.format("share={} evidence={} latin={} words={} foreign_lines={} run={} second={} "
                           "second_run={}", pl.col("english_share").round(3),
                           pl.col("english_evidence").round(3), pl.col("latin_share").round(3),
                           pl.col("word_count"), pl.col("foreign_line_share").round(3), pl.col("foreign_run"),
                           pl.col("second_opinion").round(3).cast(pl.Utf8).fill_null("-"),
                           pl.col("second_foreign_run").cast(pl.Utf8).fill_null("-"))
        return reject_where(batch, ~self.keep(), "not_english", detail)
