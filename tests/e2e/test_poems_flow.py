"""The README's poems job, block after block, each step reading what the one before wrote:
clean (the Kaggle corpus and a user's CSV) -> score (a stand-in judge on the README's port) ->
agreement -> build (a stand-in Hub holding the reference `minhuh/prh@wit_1024`) -> publish.
The tests run in file order and share one user folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curation.testing.chat_server import ChatServer
from curation.testing.hub_server import LocalHub
from tests.e2e.conftest import UserShell

HUB_TOKEN = "hf_standInToken"
REVISIONS = {"large", "main", "aligned_5", "aligned_s"}
UPLOAD_REFERENCE = """
import sys
from huggingface_hub import HfApi
api = HfApi()
api.create_repo("minhuh/prh", repo_type="dataset")
api.create_branch("minhuh/prh", branch="wit_1024", repo_type="dataset")
api.upload_file(path_or_fileobj=sys.argv[1], path_in_repo="data/train-00000-of-00001.parquet",
                repo_id="minhuh/prh", repo_type="dataset", revision="wit_1024")
"""


@pytest.fixture(scope="module")
def reference_hub(module_user: UserShell, shared_data: Path):
    """A stand-in for the Hub holding `minhuh/prh` at revision `wit_1024`: real image descriptions
    (ua-image-text-poem) in a `text` column, as the study's reference has."""
    descriptions = pl.read_csv(shared_data / "ua-image-text-poem" / "poems_results.csv").select("text")
    parquet = module_user.root / "reference.parquet"
    descriptions.write_parquet(parquet)
    with LocalHub(module_user.root / "hub", token=HUB_TOKEN) as hub:
        # huggingface_hub reads HF_ENDPOINT and HF_HUB_DISABLE_XET at import: a child process uploads
        subprocess.run([sys.executable, "-c", UPLOAD_REFERENCE, str(parquet)], check=True,
                       env=module_user.env(hub_env(hub, module_user)), capture_output=True)
        yield hub


def hub_env(hub: LocalHub, user: UserShell) -> dict[str, str]:
    """What a user logged in to (this stand-in for) the Hub has in the environment."""
    settings = {k: v for k, v in hub.client_env(user.home / "hf").items() if k.startswith("HF_")}
    return settings | {"HF_TOKEN": HUB_TOKEN}


def test_clean_the_corpus_and_a_users_csv(module_user: UserShell, shared_data: Path) -> None:
    pl.DataFrame({"id": ["a", "b", "c"], "text": ["caption one", "caption two", "caption three"],
                  "poem": ["The rose is red and the violet blue,\nthe honey is sweet and so are you.",
                           "Shall I compare thee to a summer's day?\nThou art more lovely, more temperate.",
                           "Le ciel est, par-dessus le toit,\nsi bleu, si calme."]}
                 ).write_csv(module_user.clone / "poems.csv")
    result = module_user.run("poems-clean")
    corpus = json.loads((module_user.clone / "out/poems/manifest.json").read_text())
    assert (corpus["rows_in"], corpus["rows_kept"]) == (6_322, 6_136)
    csv_manifest = json.loads(result.stdout[result.stdout.index("{"):])
    assert (csv_manifest["rows_in"], csv_manifest["rows_kept"]) == (3, 2)
    kept = pl.read_parquet(module_user.clone / "out/poems-csv/kept")
    assert kept["input_text"].to_list() == ["caption one", "caption two"]
    assert kept["text"].str.starts_with("The rose").any()


def test_score_with_the_judge_on_port_8000(module_user: UserShell) -> None:
    kept = pl.read_parquet(module_user.clone / "out/poems/kept", columns=["row_id"])
    human = kept.head(40).with_columns(human_score=(pl.int_range(40) % 5 + 1))
    human.write_csv(module_user.clone / "human.csv")
    with ChatServer(port=8000) as judge:
        module_user.run("poems-score", env={"OPENAI_API_KEY": "sk-user-secret"})
    assert sum(judge.counts.values()) >= 5_800  # one request per distinct text
    summary = json.loads((module_user.clone / "out/scores/judge_summary.json").read_text())
    assert summary["scored"] == 6_136
    agreement = list((module_user.clone / "out/scores/agreement").glob("*"))
    assert agreement, "agreement wrote nothing"
    for path in (module_user.clone / "out/scores").rglob("*"):
        if path.is_file() and path.suffix in {".json", ".txt", ".csv", ".parquet"}:
            assert b"sk-user-secret" not in path.read_bytes()


def test_score_offline_twice_sends_nothing_the_second_time(module_user: UserShell) -> None:
    result = module_user.run("poems-score-offline")
    assert "2 from the store" in result.output


def test_build_against_the_reference_on_the_hub(module_user: UserShell, reference_hub: LocalHub) -> None:
    result = module_user.run("poems-build", env=hub_env(reference_hub, module_user))
    build = json.loads((module_user.clone / "build/build.json").read_text())
    assert set(build["revisions"]) == REVISIONS
    assert build["revisions"]["main"]["rows"] == 6_136
    assert "minhuh/prh" in result.stdout
    card = (module_user.clone / "build/aligned_s/README.md").read_text()
    assert "ORG/NAME" in card and str(module_user.root) not in card


def test_build_a_public_domain_licence(module_user: UserShell, reference_hub: LocalHub) -> None:
    module_user.run("poems-build-public-domain", env=hub_env(reference_hub, module_user))
    card = (module_user.clone / "build-pd/main/README.md").read_text()
    assert "license_name: public-domain" in card and "The poems are in the public domain." in card


def test_sample_by_representation(module_user: UserShell) -> None:
    rng = np.random.default_rng(0)
    np.save(module_user.clone / "large.npy", rng.normal(size=(2_000, 16)))
    pl.DataFrame(rng.normal(0.5, 1.0, size=(300, 16))).write_parquet(module_user.clone / "small.parquet")
    module_user.run("poems-sample-representation")
    sample = pl.read_parquet(module_user.clone / "sample.parquet")
    assert sample.height == 500 and sample["row"].max() < 2_000


def test_publish_to_the_hub(module_user: UserShell, reference_hub: LocalHub) -> None:
    module_user.run("poems-publish", env=hub_env(reference_hub, module_user))
    assert set(reference_hub.branches("ORG/NAME")) == REVISIONS


def test_publish_to_a_local_hub_server(module_user: UserShell) -> None:
    result = module_user.run("poems-publish-offline")
    assert "me/poems" in result.output
    assert (module_user.clone / "out/hub").is_dir()
    assert HUB_TOKEN not in result.output and "hf_local" not in result.output
