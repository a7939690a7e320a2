"""The zones of the English filter's mode `langid` (see `filters.poems.english`): expressions over
the per-row scores (`word_count`, `english_share`, `english_evidence`, `latin_share`,
`not_foreign_share`, `foreign_run`, `foreign_line_share`, `second_opinion`, `second_foreign_run`)
that say where the lexicon alone decides and where the second opinion (py3langid) is asked."""

from __future__ import annotations

import polars as pl

SEED_MIN_SHARE = 0.8
EVIDENCE_REFERENCE_WORDS = 12
MIN_LATIN_SHARE = 0.9
MAX_FOREIGN_LINE_SHARE = 0.15
MIN_FOREIGN_RUN = 2
# Mode langid, chosen on the dev split of benchmarks/english_eval.py.
LANGID_MIN_EVIDENCE = -1.0
CONFIDENT_EVIDENCE = 0.4
CONFIDENT_SHARE = 0.5
CONFIDENT_FULL_SHARE = 0.95  # nearly every word English and no evidence against: confident as well
# ... "no evidence against" within a tenth of a Zipf unit: names and words that many languages share
# ("In Ireland, in Lebanon", "Nancy Reagan") pull the mean just below zero.
CONFIDENT_FULL_MIN_EVIDENCE = -0.1
MIN_SECOND_OPINION = 0.75
TINY_WORDS = 5
TINY_MIN_EVIDENCE = -0.5
SECOND_OPINION_MIN_WORDS = 4
UNKNOWN_WORDS_MIN_SHARE = 0.5
UNKNOWN_WORDS_MIN_EVIDENCE = 0.0
UNKNOWN_WORDS_MIN_NOT_FOREIGN = SEED_MIN_SHARE  # the seed's share, with unlisted words counted
SURE_MIN_SHARE = UNKNOWN_WORDS_MIN_SHARE
SURE_MIN_EVIDENCE = -0.6


def evidence_scale() -> pl.Expr:
    """sqrt(12 / n) for a text of n > 12 words, else 1: the mean of n per-word scores is less noisy
    the longer the text, so a long text must lean English more clearly."""
    return (EVIDENCE_REFERENCE_WORDS / pl.col("word_count").clip(EVIDENCE_REFERENCE_WORDS)).sqrt()


def bilingual_expression() -> pl.Expr:
    return ((pl.col("foreign_run") >= MIN_FOREIGN_RUN)
            & (pl.col("foreign_line_share") >= MAX_FOREIGN_LINE_SHARE))


def confident_expression() -> pl.Expr:
    """Mode langid: English by the lexicon alone (clear evidence, enough lexicon words), one language."""
    full = ((pl.col("english_evidence") >= CONFIDENT_FULL_MIN_EVIDENCE)
            & (pl.col("english_share") >= CONFIDENT_FULL_SHARE))
    return (confident_numbers() | full) & ~bilingual_expression()


def confident_numbers() -> pl.Expr:
    return (pl.col("english_evidence") >= CONFIDENT_EVIDENCE) & (pl.col("english_share") >= CONFIDENT_SHARE)


def tiny_expression() -> pl.Expr:
    """Mode langid: a text of at most TINY_WORDS words is English when all its words are."""
    return ((pl.col("word_count") <= TINY_WORDS) & (pl.col("english_share") >= 1.0)
            & (pl.col("english_evidence") >= TINY_MIN_EVIDENCE))


def plausible_expression(min_share: float, min_evidence: float) -> pl.Expr:
    """Worth a second opinion: enough lexicon words and not too much evidence against, or nearly
    every word in the lexicon whatever the evidence (an English poem with a foreign refrain)."""
    scale = evidence_scale()
    return (((pl.col("english_share") >= min_share) & (pl.col("english_evidence") >= min_evidence * scale))
            | (pl.col("english_share") >= CONFIDENT_FULL_SHARE))


def unknown_words_expression() -> pl.Expr:
    """Mode langid: most words English and no evidence against English: the words the lexicon lacks
    are unknown to every `wordfreq` language too (names, coinages, misspellings, or a language
    without a word list), so the second opinion reads the text line by line."""
    return ((pl.col("english_share") >= UNKNOWN_WORDS_MIN_SHARE)
            & (pl.col("not_foreign_share") >= UNKNOWN_WORDS_MIN_NOT_FOREIGN)
            & (pl.col("english_evidence") >= UNKNOWN_WORDS_MIN_EVIDENCE))


def sure_expression() -> pl.Expr:
    """Mode langid: half the words English and only mild evidence against (eye dialect, names,
    identifiers: "You k'n hide de fier", "Peer FORTEZZA chain"): too weak a case for the lexicon and
    for a hesitant second opinion, so the second opinion must be sure (`SURE_PROBABILITY`)."""
    return ((pl.col("english_share") >= SURE_MIN_SHARE)
            & (pl.col("english_evidence") >= SURE_MIN_EVIDENCE * evidence_scale()))


def ask_expressions(min_share: float, min_evidence: float) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """Mode langid: (rows the second opinion judges whole, rows it judges line by line, rows of
    unknown words it judges line by line unless old spellings make them Middle English, rows it
    must be sure of, line by line, unless old spellings make them Middle English)."""
    readable = ((pl.col("word_count") >= SECOND_OPINION_MIN_WORDS) & ~tiny_expression()
                & (pl.col("latin_share") >= MIN_LATIN_SHARE))
    plausible = plausible_expression(min_share, min_evidence)
    confident = confident_expression()
    whole = readable & plausible & ~confident & ~bilingual_expression()
    lines = readable & bilingual_expression() & (plausible | confident_numbers())
    unknown = readable & unknown_words_expression() & ~plausible & ~confident & ~lines
    sure = (readable & sure_expression() & ~plausible & ~confident & ~lines & ~unknown
            & ~bilingual_expression())
    return whole, lines, unknown, sure


def langid_keep() -> pl.Expr:
    """Mode langid: confident or tiny by the lexicon, or English by the second opinion."""
    second = ((pl.col("second_opinion") >= MIN_SECOND_OPINION)
              & (pl.col("second_foreign_run") < MIN_FOREIGN_RUN + 1)).fill_null(False)
    return ((pl.col("word_count") > 0) & (pl.col("latin_share") >= MIN_LATIN_SHARE)
            & (confident_expression() | tiny_expression() | second))
