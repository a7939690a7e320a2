"""Word-level repairs for the English filter: words split by acrostics or line wrapping joined back
("C-ouplet" -> "couplet", "A nother" -> "another", "reprehensi ble" -> "reprehensible"), and
Middle / Early Modern English spellings matched to a modern lexicon word ("kynge" -> "king")."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

ARCHAIC_STEPS = (  # regex replacements, tried one at a time and one after another
    ("e$", ""), ("y", "i"), ("u([aeiou])", "v$1"), ("^v", "u"), ("eth$", "es"), ("ynge?$", "ing"),
    ("ie$", "y"), ("ll", "l"), ("tt", "t"), ("ss", "s"), ("nn", "n"),
)


def same_line_as_next() -> pl.Expr:
    """Whether the next token (rows are ordered by row, line, position) is on the same line."""
    return ((pl.col("row").shift(-1) == pl.col("row")) & (pl.col("line").shift(-1) == pl.col("line"))
            ).fill_null(False)


def join_candidates(tokens: pl.DataFrame) -> pl.Series:
    """Per token, the token joined to the next one on its line, where that join is worth a look:
    either is not English, or the token is a single letter and the next one a letter too ("I-s") or
    a fragment with clear evidence against English ("K-een"); "a is for" and "a part" stay as they are."""
    following = pl.col("token").shift(-1)
    letter = pl.col("token").str.len_chars() == 1
    worth = same_line_as_next() & (
        ~pl.col("english") | ~pl.col("english").shift(-1)
        | (letter & ((following.str.len_chars() == 1) | (pl.col("evidence").shift(-1).fill_null(0.0) < -1))))
    return tokens.select(pl.when(worth).then(pl.col("token") + following).alias("joined"))["joined"]


def apply_joins(tokens: pl.DataFrame, joined: pl.Series, good: pl.Series) -> pl.DataFrame:
    """Replace each token whose join is good by the join and drop the token it swallowed (a token
    swallowed starts no join of its own). `tokens` is ordered by row, line, position."""
    starts = good & ~good.shift(1).fill_null(False)
    swallowed = starts.shift(1).fill_null(False)
    return (tokens.with_columns(pl.when(starts).then(joined).otherwise(pl.col("token")).alias("token"))
            .filter(~swallowed))


def repair_split_words(tokens: pl.DataFrame, in_lexicon: Callable[[pl.Series], pl.Series],
                       word_table: Callable[[pl.Series], pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Join split words in (row, line, token, english, evidence) rows when the join is a lexicon
    word (`in_lexicon`: per word, true or false); returns the repaired rows and the word table of the
    joins made (token, english, evidence), which the caller adds to its own."""
    joined = join_candidates(tokens)
    good = in_lexicon(joined)
    repaired = apply_joins(tokens.drop("evidence"), joined, good)
    return repaired, word_table(joined.filter(good).unique())


def archaic_variants(words: pl.Series) -> pl.DataFrame:
    """(token, variant) pairs: each archaic spelling step on its own and the steps in sequence."""
    frames, chained = [], pl.col("token")
    for pattern, replacement in ARCHAIC_STEPS:
        single = pl.col("token").str.replace_all(pattern, replacement)
        chained = chained.str.replace_all(pattern, replacement)
        frames += [single, chained]
    table = words.to_frame("token")
    return (table.select("token", pl.concat_list(frames).alias("variant"))
            .explode("variant").filter(pl.col("variant") != pl.col("token")).unique())


def archaic_english(words: pl.Series, lexicon: pl.DataFrame) -> pl.DataFrame:
    """(token, archaic): whether some archaic spelling variant of the word is in `lexicon` (word)."""
    variants = archaic_variants(words).join(lexicon.select(pl.col("word").alias("variant")),
                                            on="variant", how="semi")
    return words.to_frame("token").select(
        "token", pl.col("token").is_in(variants["token"].implode()).alias("archaic"))
