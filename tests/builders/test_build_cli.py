import json
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner
from typer.testing import Result as CliResult

from builders.build import BuildOptions, build_poems
from builders.length_sampling import EmptyBinError
from curate.build import app
from curation.errors import CurationError, InputError
from curation.writers import read_shards

REVISIONS = ("large", "main", "aligned_5", "aligned_s")


def revision_frame(out, name: str) -> pl.DataFrame:
    return pl.read_parquet(sorted((out / name / "data").glob("*.parquet")))


def test_build_writes_a_local_hub_layout_and_prints_a_summary(built):
    out, printed = built

    summary = json.loads((out / "build.json").read_text())
    assert list(summary["revisions"]) == list(REVISIONS)
    for name in REVISIONS:
        assert (out / name / "README.md").exists() and name in printed
        assert revision_frame(out, name).height == summary["revisions"][name]["rows"]
    shards = sorted(p.name for p in (out / "large" / "data").iterdir())
    assert shards == [f"train-{i:05d}-of-00004.parquet" for i in range(4)]
    for name in ("aligned_5", "aligned_s"):
        assert (out / name / "length_hist.png").exists()
        assert f"{summary['revisions'][name]['ks_statistic']:.4f}" in printed


def test_large_holds_every_kept_poem_with_annotations_and_main_the_scored_ones(built, cleaned, scored):
    out, _ = built
    kept, judged = read_shards(cleaned / "kept"), read_shards(scored / "scored")

    large, main = revision_frame(out, "large"), revision_frame(out, "main")

    assert large["row_id"].to_list() == kept["row_id"].to_list()
    for column in ("aesthetic_score", "judge_prompt_sha", "form", "form_category", "length_words",
                   "english_share", "is_duplicate", "duplicate_of"):
        assert column in large.columns, column
    assert not {"reject_reason", "reject_stage"} & set(large.columns)
    assert large.filter(pl.col("source_file").str.starts_with("/")).height == 0  # no local paths
    assert large["source_file"][0].count("/") == 1  # form/file.txt
    assert main.height == judged.filter(pl.col("judge_status") == "scored").height
    assert main["aesthetic_score"].null_count() == 0
    assert large["aesthetic_score"].null_count() == large.height - judged.height


def test_aligned_revisions_match_the_reference(built):
    out, _ = built
    summary = json.loads((out / "build.json").read_text())

    aligned_5, aligned_s = summary["revisions"]["aligned_5"], summary["revisions"]["aligned_s"]

    assert aligned_5["rows"] == summary["reference"]["texts"] and aligned_5["ks_statistic"] <= 0.05
    size, reference = aligned_s["rows"], summary["reference_bin_counts"]
    for drawn, wanted in zip(aligned_s["bin_counts"], reference, strict=True):
        assert abs(drawn / size - wanted / sum(reference)) < 1 / size
    assert aligned_s["counts"]["distinct_poems"] == size
    assert set(revision_frame(out, "aligned_s")["length_bin"].unique()) == set(range(20))


def test_the_same_seed_rebuilds_the_same_rows(built, scored, reference_csv, tmp_path):
    out, _ = built

    options = BuildOptions(reference=str(reference_csv), rows_per_shard=2000, aligned_from="large")
    build_poems(scored, tmp_path, options, progress=False)

    for name in REVISIONS:
        assert revision_frame(tmp_path, name).equals(revision_frame(out, name)), name


def test_each_revision_loads_with_datasets(built, tmp_path):
    import datasets

    out, _ = built
    for name in ("main", "aligned_5", "aligned_s"):
        loaded = datasets.load_dataset(str(out / name), split="train", cache_dir=str(tmp_path))
        assert loaded["row_id"] == revision_frame(out, name)["row_id"].to_list(), name


@pytest.fixture(scope="module")
def clean_only_build(cleaned, reference_csv, tmp_path_factory) -> tuple[Path, CliResult, CliResult]:
    """`poems build` of the clean output, refused without --main-rule all, then built with it into the
    relative folder `build_norepo` without --card-repo-id: (working folder, refused, accepted)."""
    cwd = tmp_path_factory.mktemp("clean-only")
    command = ["build", str(cleaned), "--reference", str(reference_csv), "--out", "build_norepo",
               "--no-progress"]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        refused = CliRunner().invoke(app, command)
        accepted = CliRunner().invoke(app, [*command, "--main-rule", "all", "--json"])
    return cwd, refused, accepted


def test_clean_only_input_needs_main_rule_all(clean_only_build, cleaned):
    cwd, refused, accepted = clean_only_build

    assert isinstance(refused.exception, CurationError) and "--main-rule all" in str(refused.exception)
    assert accepted.exit_code == 0, accepted.output
    revisions = json.loads(accepted.stdout)
    assert revisions["main"]["rows"] == revisions["large"]["rows"] == read_shards(cleaned / "kept").height
    assert revisions["aligned_5"]["ks_statistic"] <= 0.05
    assert "aesthetic_score" not in revision_frame(cwd / "build_norepo", "large").columns


def test_without_a_repo_id_the_cards_show_a_placeholder_not_the_build_folder(clean_only_build):
    cwd, _, _ = clean_only_build

    for name in REVISIONS:
        card = (cwd / "build_norepo" / name / "README.md").read_text()
        assert "build_norepo" not in card, name
        assert f'datasets.load_dataset("ORG/NAME", revision="{name}", split="train")' in card
        assert "replace `ORG/NAME` with the repository" in card


def test_a_small_main_leaves_a_length_bin_empty_and_the_error_names_it(cleaned, reference_csv, tmp_path):
    command = ["build", str(cleaned), "--reference", str(reference_csv), "--out", str(tmp_path),
               "--main-rule", "all", "--main-size", "200", "--no-progress"]

    refused = CliRunner().invoke(app, command)
    accepted = CliRunner().invoke(app, [*command, "--aligned-from", "large", "--json"])

    assert isinstance(refused.exception, EmptyBinError)
    assert re.search(r"no poems to draw from in bin \d+ \[\d+, \d+\) words", str(refused.exception))
    assert accepted.exit_code == 0, accepted.output
    main = revision_frame(tmp_path, "main")
    assert main.height == 200 and main["row_id"].is_unique().all()
    assert json.loads(accepted.stdout)["aligned_s"]["params"]["drawn_from"] == "large"


def test_scores_of_other_poems_are_refused(cleaned, reference_csv, tmp_path):
    (tmp_path / "score" / "scored").mkdir(parents=True)
    judged = pl.DataFrame({"row_id": ["nowhere/1"], "text": ["a poem"], "aesthetic_score": [3],
                           "aesthetic_rationale": ["ok"], "judge_model": ["m"], "judge_prompt_sha": ["s"],
                           "judge_status": ["scored"], "judge_failure_reason": [None]})
    judged.write_parquet(tmp_path / "score" / "scored" / "scored-00000.parquet")

    with pytest.raises(InputError, match="not among the kept poems"):
        build_poems(tmp_path / "score", tmp_path / "out",
                    BuildOptions(reference=str(reference_csv), clean_dir=cleaned), progress=False)


def test_publish_needs_a_build_folder(tmp_path):
    result = CliRunner().invoke(app, ["publish", str(tmp_path), "--repo", "org/poems", "--no-progress"])

    assert isinstance(result.exception, CurationError) and "build.json not found" in str(result.exception)


def test_a_public_domain_build_says_so_in_its_cards(cleaned, reference_csv, tmp_path):
    link = "https://creativecommons.org/publicdomain/mark/1.0/"
    result = CliRunner().invoke(app, [
        "build", str(cleaned), "--reference", str(reference_csv), "--reference-column", "poem",
        "--out", str(tmp_path), "--main-rule", "all", "--license", "other", "--license-name", "public-domain",
        "--license-link", link, "--copyright", "The poems are in the public domain.",
        "--source", "a public-domain sample", "--no-progress"])

    assert result.exit_code == 0, result.output
    for name in REVISIONS:
        card = (tmp_path / name / "README.md").read_text()
        assert f"license_name: public-domain\nlicense_link: {link}\n" in card
        assert "The poems are in the public domain." in card and "Source: a public-domain sample." in card
        assert "Each poem remains the copyright" not in card
        assert re.search(r"The Vendi scores were not computed for this build: 5,\d{3} texts on the CPU", card)
    reference = json.loads((tmp_path / "build.json").read_text())["reference"]
    assert (reference["column"], reference["source"]) == ("poem", "poems_results.csv")  # beside `text`


def test_licence_options_that_contradict_each_other_are_one_clear_error(cleaned, reference_csv, tmp_path):
    result = CliRunner().invoke(app, ["build", str(cleaned), "--reference", str(reference_csv), "--out",
                                      str(tmp_path), "--main-rule", "all", "--license", "cc-by-4.0",
                                      "--license-name", "mine", "--no-progress"])

    assert isinstance(result.exception, CurationError) and "--license other" in str(result.exception)
    assert not (tmp_path / "main").exists()
