"""The whole Kaggle poems-by-form corpus through `curate poems clean`."""

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from curate import app
from curation.writers import read_shards

NON_ENGLISH_OPENINGS = [
    "Ne vous étonnez pas, objets sacrés",        # French (Chénier)
    "Nazakat husn se mashroot hoti",             # romanised Urdu
    "Woyese to hum mile na kahin",               # romanised Urdu
    "आज अपने ही खटकने लग गए",                    # Hindi
    "Nu scylun hergan hefaenricaes uard",        # Old English
    "Hindi Original~\nGoree soye sej pe",        # romanised Hindi, then its translation
    "Mein Nadi Ke Kinare Khada Huya",            # romanised Hindi, then its translation
    "Original ~\npyaas to hai par jaam",         # Hindi ghazal, then its translation
    "THEOPHILE BEING DENY'D",                    # French epigram, then its translation
]


@pytest.fixture(scope="module")
def cleaned(kaggle_forms, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    result = CliRunner().invoke(app, ["poems", "clean", str(kaggle_forms), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


def test_manifest_balances_over_the_full_corpus(cleaned):
    out, summary = cleaned
    assert summary["rows_in"] == 6322 and summary["balanced"]
    for stage in summary["stages"]:
        assert stage["rows_in"] == stage["kept"] + stage["rejected"]
    assert summary["rows_kept"] == read_shards(out / "kept").height
    assert summary["rows_rejected"] == read_shards(out / "rejected").height


def test_the_duplicates_marked_and_kept_are_counted(cleaned):
    out, summary = cleaned
    dedup = next(stage for stage in summary["stages"] if stage["name"] == "dedup")
    kept = read_shards(out / "kept")
    assert dedup["marked"] == {"exact_duplicate": 212, "near_duplicate": 33}  # the double dactyl filed twice
    assert dedup["marked"]["exact_duplicate"] == kept["duplicate_of"].is_not_null().sum()
    assert dedup["marked"]["near_duplicate"] == kept["near_duplicate_of"].is_not_null().sum()


def test_kept_poems_have_no_footers_or_notes_and_every_form_survives(cleaned):
    kept = read_shards(cleaned[0] / "kept")
    assert kept.filter(pl.col("text").str.contains(r"(?im)^\s*(©|\(c\)|copyright)|©")).height == 0
    assert kept.filter(pl.col("text").str.contains(r"(?m)^\s*- - -")).height == 0
    assert kept["form"].n_unique() == 135
    assert kept.filter(pl.col("form") != pl.col("row_id").str.split("/").list.first()).height == 0


def test_known_non_english_poems_are_rejected_as_not_english(cleaned):
    rejected = read_shards(cleaned[0] / "rejected")
    for opening in NON_ENGLISH_OPENINGS:
        hits = rejected.filter(pl.col("text").str.strip_chars().str.starts_with(opening))
        assert hits["reject_reason"].to_list() and set(hits["reject_reason"]) == {"not_english"}, opening
