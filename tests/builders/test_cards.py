import json

import pytest

from builders.cards import parse_front_matter, render_card, size_category
from curation.errors import CurationError

REVISIONS = ("large", "main", "aligned_5", "aligned_s")


@pytest.mark.parametrize("revision", REVISIONS)
def test_every_card_is_fully_rendered_with_hub_metadata(built, scored, revision):
    out, _ = built
    card = (out / revision / "README.md").read_text()
    summary = json.loads((out / "build.json").read_text())
    judge = json.loads((scored / "judge_summary.json").read_text())

    meta = parse_front_matter(card)

    assert "{{" not in card and "}}" not in card and "{%" not in card
    assert meta["configs"][0]["data_files"] == [{"split": "train", "path": "data/train-*"}]
    assert meta["license"] and meta["language"] == ["en"] and meta["task_categories"]
    assert meta["size_categories"] == [size_category(summary["revisions"][revision]["rows"])]
    assert judge["prompt_sha"] in card and "`test-judge`" in card
    for stage in summary["clean_manifest"]["stages"]:
        assert f"| `{stage['name']}` | {stage['rows_in']:,} |" in card
    for other in REVISIONS:
        assert f'datasets.load_dataset("org/poems", revision="{other}", split="train")' in card
    assert "| `seed` | `0` |" in card and "| `bins` | `20` |" in card


@pytest.mark.parametrize("revision", ("aligned_5", "aligned_s"))
def test_aligned_cards_show_the_ks_statistic_and_the_histogram(built, revision):
    out, _ = built
    card = (out / revision / "README.md").read_text()
    ks = json.loads((out / "build.json").read_text())["revisions"][revision]["ks_statistic"]

    assert f"| two-sample KS statistic vs the reference | {ks:.4f} |" in card
    assert "](length_hist.png)" in card and (out / revision / "length_hist.png").exists()


def test_hub_and_datasets_read_the_card_metadata(built):
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard

    out, _ = built
    for revision in REVISIONS:
        card = DatasetCard.load(out / revision / "README.md")
        configs = MetadataConfigs.from_dataset_card_data(card.data)
        assert configs["default"]["data_files"] == [{"split": "train", "path": "data/train-*"}], revision


def test_a_missing_value_fails_instead_of_leaving_a_blank():
    with pytest.raises(CurationError, match="'meta' is undefined"):
        render_card({})


def test_size_categories_follow_the_hub_labels():
    assert [size_category(n) for n in (0, 999, 1_000, 6_121, 10_000, 250_000)] == \
        ["n<1K", "n<1K", "1K<n<10K", "1K<n<10K", "10K<n<100K", "100K<n<1M"]
