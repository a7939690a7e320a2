"""The English filter on the poems of the Kaggle corpus that decide its rules (issue 18): the
modern-English poems the lexicon-only filter lost, the original-plus-translation poems it rightly
rejects, and the Middle English that the `archaic` option keeps. Row ids in corpus_languages.py."""

import polars as pl
import pytest

from filters.poems.english import EnglishFilter
from filters.poems.footer import StripFooter
from tests.filters.poems import corpus_languages as corpus


def poems(kaggle_forms, row_ids: list[str]) -> pl.DataFrame:
    root = kaggle_forms / "forms" if (kaggle_forms / "forms").is_dir() else kaggle_forms
    texts = [(root / f"{row_id}.txt").read_text("utf-8-sig") for row_id in row_ids]
    return StripFooter()(pl.DataFrame({"row_id": row_ids, "text": texts}))


def rejected(english: EnglishFilter, batch: pl.DataFrame) -> dict[str, str | None]:
    out = english(batch)
    return dict(zip(out["row_id"], out["reject_reason"], strict=True))


@pytest.fixture(scope="module")
def english() -> EnglishFilter:
    return EnglishFilter()


@pytest.mark.parametrize("group", ["ACROSTICS", "VERY_SHORT", "DOUBLE_DACTYL", "EPIGRAPH_OR_REFRAIN",
                                   "SHORT_FOR_THE_SECOND_OPINION"])
def test_modern_english_poems_are_kept(english, kaggle_forms, group):
    reasons = rejected(english, poems(kaggle_forms, getattr(corpus, group)))
    assert {row_id: reason for row_id, reason in reasons.items() if reason} == {}


def test_all_25_modern_english_poems_are_kept_and_short_ones_by_the_lexicon_alone(english, kaggle_forms):
    out = english(poems(kaggle_forms, corpus.KEPT_MODERN_ENGLISH))
    assert out.height == len(set(corpus.KEPT_MODERN_ENGLISH)) == 25
    assert out["reject_reason"].null_count() == 25
    short = out.filter(pl.col("row_id").is_in(corpus.SHORT_FOR_THE_SECOND_OPINION))
    assert short["word_count"].to_list() == [5] and short["second_opinion"].to_list() == [None]


def test_the_lexicon_alone_rejected_them(kaggle_forms):
    reasons = rejected(EnglishFilter(mode="share+evidence"), poems(kaggle_forms, corpus.MODERN_ENGLISH))
    assert set(reasons.values()) == {"not_english"}


@pytest.mark.parametrize("group", ["LATIN_SCRIPT_PAIRS", "OTHER_SCRIPT_PAIRS"])
def test_poems_printed_with_their_translation_are_rejected(english, kaggle_forms, group):
    reasons = rejected(english, poems(kaggle_forms, getattr(corpus, group)))
    assert [row_id for row_id, reason in reasons.items() if reason != "not_english"] == []


def test_an_epigraph_is_read_line_by_line_and_a_translation_block_is_too_long(english, kaggle_forms):
    baudelaire = next(row_id for row_id in corpus.LATIN_SCRIPT_PAIRS if row_id.startswith("lay/"))
    batch = poems(kaggle_forms, [corpus.EPIGRAPH_OR_REFRAIN[0], baudelaire])
    out = english(batch)
    epigraph, translated = out.row(0, named=True), out.row(1, named=True)
    assert epigraph["second_foreign_run"] <= 2 and epigraph["second_opinion"] >= 0.75
    assert translated["second_foreign_run"] > 2 and translated["reject_reason"] == "not_english"


def test_middle_english_is_a_policy_option(english, kaggle_forms):
    batch = poems(kaggle_forms, corpus.ARCHAIC + corpus.OLD_ENGLISH)
    assert set(rejected(english, batch).values()) == {"not_english"}
    archaic = rejected(EnglishFilter(archaic=True), batch)
    kept = sorted(row_id for row_id, reason in archaic.items() if reason is None)
    assert "abc/AbcPoemsAnAbcPoembyGeoffreyChaucer" in kept and len(kept) >= 5
    assert archaic[corpus.OLD_ENGLISH[0]] == "not_english"  # Old English is another language
