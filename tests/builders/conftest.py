"""The full Kaggle corpus cleaned and scored once per session (real engine, real judge over HTTP),
and the image descriptions of ua-image-text-poem as the length reference."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate import app as curate
from curation.testing.chat_server import ChatServer

SCORED_POEMS = 2_500


@pytest.fixture(scope="session")
def reference_csv(shared_data: Path) -> Path:
    return shared_data / "ua-image-text-poem" / "poems_results.csv"


@pytest.fixture(scope="session")
def cleaned(kaggle_forms: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    result = CliRunner().invoke(curate, ["poems", "clean", str(kaggle_forms), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def scored(cleaned: Path, tmp_path_factory) -> Path:
    """The first SCORED_POEMS kept poems scored by the fake judge; the others stay unscored."""
    out = tmp_path_factory.mktemp("score")
    with ChatServer() as server:
        result = CliRunner().invoke(curate, ["poems", "score", str(cleaned / "kept"), "--out", str(out),
                                             "--base-url", server.base_url, "--model", "test-judge",
                                             "--limit", str(SCORED_POEMS), "--no-progress"],
                                    env={"OPENAI_API_KEY": "sk-test"})
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def built(scored: Path, reference_csv: Path, tmp_path_factory) -> tuple[Path, str]:
    """`poems build` over the partly scored corpus, aligned samples drawn from `large`: the output
    folder and what the command printed."""
    from curate.build import app as build_app

    out = tmp_path_factory.mktemp("build")
    result = CliRunner().invoke(build_app, ["build", str(scored), "--reference", str(reference_csv),
                                            "--out", str(out), "--card-repo-id", "org/poems",
                                            "--rows-per-shard", "2000", "--aligned-from", "large",
                                            "--no-diversity", "--no-progress"],  # see test_build_diversity
                                terminal_width=160)
    assert result.exit_code == 0, result.output
    return out, result.output
