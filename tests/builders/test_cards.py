"""The cards of the session build (the full corpus, partly scored): every count a card states is read back
and compared with the rows of the Parquet files it describes, and the metadata parses as huggingface_hub and
datasets read it."""

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from builders.cards import CardError, CardLicence, check_card, parse_front_matter, render_card, size_category
from curation.errors import CurationError
from curation.writers import read_shards

REVISIONS = ("large", "main", "aligned_5", "aligned_s")


def revision_frame(out: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(sorted((out / name / "data").glob("*.parquet")))


def number(text: str) -> int:
    return int(text.strip().replace(",", ""))


def table_after(card: str, marker: str) -> list[list[str]]:
    """The cells of the first Markdown table after the line holding `marker` (header and rule dropped)."""
    lines = card[card.index(marker):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def normalised(text: str) -> str:
    """The dedup stage's normalisation, written out in Python: lower case, letters and digits, one space."""
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def expected_counts(frame: pl.DataFrame) -> dict[str, int]:
    """The counts a card must state, computed here from the rows alone."""
    poems = {row["row_id"]: row for row in frame.iter_rows(named=True)}
    texts = {normalised(row["text"]) for row in poems.values()}
    originals = [row for row in poems.values() if row["duplicate_of"] is None]
    clusters = {row["near_duplicate_of"] or row["row_id"] for row in originals}
    return {"rows": frame.height, "distinct_poems": len(poems), "repeated_draws": frame.height - len(poems),
            "distinct_texts": len(texts), "exact_duplicates": len(poems) - len(texts),
            "near_duplicates": len(originals) - len(clusters),
            "flagged_exact": sum(row["is_duplicate"] for row in poems.values()),
            "flagged_near": sum(row["is_near_duplicate"] for row in poems.values()),
            "scored": frame.filter(pl.col("judge_status") == "scored").height}


DUPLICATE_ROWS = {"rows": "rows", "distinct poems": "distinct_poems", "repeated draws": "repeated_draws",
                  "distinct texts": "distinct_texts", "exact duplicates kept": "exact_duplicates",
                  "near duplicates kept": "near_duplicates", "poems flagged `is_duplicate`": "flagged_exact",
                  "poems flagged `is_near_duplicate`": "flagged_near", "rows with a judge score": "scored"}


def stated_counts(card: str) -> dict[str, int]:
    """The "Rows and duplicates" table, by count name."""
    return {DUPLICATE_ROWS[label.split(" (")[0]]: number(value)
            for label, value in table_after(card, "### Rows and duplicates")}


@pytest.fixture(scope="module")
def frames(built) -> dict[str, pl.DataFrame]:
    out, _ = built
    return {name: revision_frame(out, name) for name in REVISIONS}


@pytest.fixture(scope="module")
def expected(frames) -> dict[str, dict[str, int]]:
    return {name: expected_counts(frame) for name, frame in frames.items()}


@pytest.mark.parametrize("revision", REVISIONS)
def test_every_count_a_card_states_is_the_count_of_its_rows(built, expected, revision):
    out, _ = built
    card = (out / revision / "README.md").read_text()
    summary = json.loads((out / "build.json").read_text())
    counts = expected[revision]

    heading = re.search(r"holds \*\*([\d,]+) rows\*\*.*?They are ([\d,]+) distinct poems and ([\d,]+) "
                        r"distinct texts", card, re.DOTALL)
    assert [number(g) for g in heading.groups()] == [counts[key] for key in
                                                      ("rows", "distinct_poems", "distinct_texts")]
    assert stated_counts(card) == counts
    assert summary["revisions"][revision]["counts"] == counts
    assert summary["revisions"][revision]["rows"] == counts["rows"]
    for name, rows, poems, texts, _ in table_after(card, "### Dataset Description"):
        other = expected[name.strip("`")]
        assert [number(rows), number(poems), number(texts)] == [
            other["rows"], other["distinct_poems"], other["distinct_texts"]], name
    info = parse_front_matter(card)["dataset_info"]
    assert info["splits"] == [{"name": "train", "num_bytes": info["dataset_size"],
                               "num_examples": counts["rows"]}]
    assert parse_front_matter(card)["size_categories"] == [size_category(counts["rows"])]


def test_the_large_card_counts_the_corpus_duplicates_the_clean_run_marked(frames, expected):
    large = expected["large"]

    assert large["exact_duplicates"] == large["flagged_exact"] == frames["large"]["is_duplicate"].sum() > 0
    assert large["near_duplicates"] == large["flagged_near"] > 0
    assert large["distinct_texts"] == large["rows"] - large["exact_duplicates"] < large["distinct_poems"]


def test_the_cleaning_and_judge_counts_are_those_of_the_clean_and_score_outputs(built, cleaned, frames):
    out, _ = built
    card = (out / "main" / "README.md").read_text()
    kept = read_shards(cleaned / "kept").height
    rejected = Counter()
    for path in (cleaned / "rejected").glob("*.parquet"):
        rejected[path.name.split("-")[0]] += pl.read_parquet(path).height
    status = frames["large"]["judge_status"]

    read = re.search(r"read ([\d,]+) poems and kept ([\d,]+)", card).groups()
    assert [number(n) for n in read] == [kept + sum(rejected.values()), kept]
    for stage, rows_in, stage_kept, dropped, _ in table_after(card, "| stage | in | kept |"):
        assert number(rows_in) - number(stage_kept) == number(dropped) == rejected[stage.strip("`")]
    judged = re.search(r"Of the ([\d,]+)\s+poems of `large`, ([\d,]+) were scored, ([\d,]+) failed.*?"
                       r"and ([\d,]+) were not sent", card, re.DOTALL)
    assert [number(n) for n in judged.groups()] == [frames["large"].height, (status == "scored").sum(),
                                                    (status == "failed").sum(), status.is_null().sum()]


@pytest.mark.parametrize("revision", ("aligned_5", "aligned_s"))
def test_the_bin_table_counts_the_rows_drawn_and_available_per_bin(built, frames, reference_csv, revision):
    out, _ = built
    card = (out / revision / "README.md").read_text()
    summary = json.loads((out / "build.json").read_text())
    edges = np.array(summary["bin_edges"])
    reference = pl.read_csv(reference_csv)["text"].str.count_matches(r"\S+").to_numpy()
    candidates = frames[summary["revisions"][revision]["params"]["drawn_from"]]["length_words"].to_numpy()

    def per_bin(lengths: np.ndarray) -> list[int]:
        inside = lengths[(lengths >= edges[0]) & (lengths <= edges[-1])]
        bins = np.searchsorted(edges[1:-1], inside, side="right")
        return np.bincount(bins, minlength=len(edges) - 1).tolist()

    table = table_after(card, "| bin | words |")
    drawn = frames[revision]["length_bin"].value_counts().sort("length_bin")
    assert [number(row[2]) for row in table] == per_bin(reference)
    assert [number(row[4]) for row in table] == per_bin(candidates)
    assert {k: number(row[5]) for k, row in enumerate(table) if number(row[5])} == dict(drawn.iter_rows())
    sampled = re.search(r"reference texts / sampled rows \| ([\d,]+) / ([\d,]+)", card).groups()
    assert [number(n) for n in sampled] == [len(reference), frames[revision].height]


@pytest.mark.parametrize("revision", REVISIONS)
def test_every_card_is_fully_rendered_with_hub_metadata(built, scored, revision):
    out, _ = built
    card = (out / revision / "README.md").read_text()
    summary = json.loads((out / "build.json").read_text())
    judge = json.loads((scored / "judge_summary.json").read_text())

    meta = parse_front_matter(card)

    assert "{{" not in card and "}}" not in card and "{%" not in card
    assert meta["configs"][0]["data_files"] == [{"split": "train", "path": "data/train-*"}]
    assert meta["language"] == ["en"] and meta["task_categories"] and meta["annotations_creators"]
    assert (meta["license"], meta["license_name"], meta["license_link"]) == ("other", "authors-copyright",
                                                                          "README.md")
    assert [f["name"] for f in meta["dataset_info"]["features"]] == revision_frame(out, revision).columns
    assert meta["size_categories"] == [size_category(summary["revisions"][revision]["rows"])]
    assert judge["prompt_sha"] in card and "`test-judge`" in card
    for other in REVISIONS:
        assert f'datasets.load_dataset("org/poems", revision="{other}", split="train")' in card
    assert "| `seed` | `0` |" in card and "| `bins` | `20` |" in card


@pytest.mark.parametrize("section", [
    "## Uses", "### Direct Use", "### Out-of-Scope Use", "## Dataset Structure", "## Dataset Creation",
    "### Source Data", "#### Annotation process", "## Bias, Risks, and Limitations", "**Judge bias.**",
    "**English only.**", "**Length alignment.**", "## Licence and copyright", "## Citation",
    "@misc{org_poems_", "@misc{shen2025universalaesthetics"])
def test_cards_follow_the_hub_template_with_licence_limits_and_citation(built, section):
    out, _ = built

    assert section in (out / "main" / "README.md").read_text()


def test_the_authors_keep_their_copyright_unless_the_build_says_otherwise(built):
    out, _ = built
    card = (out / "large" / "README.md").read_text()

    assert "Each poem remains the copyright of its author" in card
    assert "url          = {https://huggingface.co/datasets/org/poems}" in card


@pytest.mark.parametrize("revision", ("aligned_5", "aligned_s"))
def test_aligned_cards_show_the_ks_statistic_and_the_histogram(built, revision):
    out, _ = built
    card = (out / revision / "README.md").read_text()
    ks = json.loads((out / "build.json").read_text())["revisions"][revision]["ks_statistic"]

    assert f"| two-sample KS statistic vs the reference | {ks:.4f} |" in card
    assert "](length_hist.png)" in card and (out / revision / "length_hist.png").exists()


def test_hub_and_datasets_read_the_card_metadata(built):
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard

    out, _ = built
    for revision in REVISIONS:
        card = DatasetCard.load(out / revision / "README.md", ignore_metadata_errors=False)
        configs = MetadataConfigs.from_dataset_card_data(card.data)
        info = DatasetInfosDict.from_dataset_card_data(card.data)["default"]
        assert configs["default"]["data_files"] == [{"split": "train", "path": "data/train-*"}], revision
        assert info.splits["train"].num_examples == revision_frame(out, revision).height, revision
        assert list(info.features) == revision_frame(out, revision).columns, revision


def test_a_card_whose_metadata_disagrees_with_its_rows_is_not_written(built):
    out, _ = built
    card = (out / "main" / "README.md").read_text()
    rows = revision_frame(out, "main").height

    check_card(card, rows)
    with pytest.raises(CardError, match=f"train split's {rows + 1:,} rows"):
        check_card(card, rows + 1)
    with pytest.raises(CardError, match="license_name"):
        check_card(re.sub(r"license_name: .*\n", "", card), rows)


def test_licence_options_are_checked_and_other_defaults_to_the_authors_copyright():
    assert CardLicence().resolved() == CardLicence("other", "authors-copyright", "README.md",
                                                   CardLicence().resolved().copyright)
    public = CardLicence("other", "public-domain", "https://creativecommons.org/publicdomain/mark/1.0/",
                         "The poems are in the public domain.").resolved()
    assert public.metadata() == {"license": "other", "license_name": "public-domain",
                                 "license_link": "https://creativecommons.org/publicdomain/mark/1.0/"}
    assert CardLicence("cc0-1.0").resolved().metadata() == {"license": "cc0-1.0"}
    with pytest.raises(CardError, match="--license other"):
        CardLicence("cc-by-4.0", name="mine").resolved()
    with pytest.raises(CardError, match="lower case"):
        CardLicence("other", name="Public Domain").resolved()


def test_a_missing_value_fails_instead_of_leaving_a_blank():
    with pytest.raises(CurationError, match="is undefined"):
        render_card({})


def test_size_categories_follow_the_hub_labels():
    assert [size_category(n) for n in (0, 999, 1_000, 6_121, 10_000, 250_000)] == \
        ["n<1K", "n<1K", "1K<n<10K", "1K<n<10K", "10K<n<100K", "100K<n<1M"]
