"""README "Using the filters in your own pipeline": each adapter example runs as a user would type
it and keeps exactly the poems `curate poems clean` keeps on the same JSONL file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from tests.e2e.conftest import UserShell


@pytest.fixture(scope="module")
def cli_kept(module_user: UserShell) -> set[str]:
    module_user.run("library-input")
    module_user.run("library-cli")
    kept = pl.read_parquet(module_user.clone / "out/cli/kept/*.parquet")["row_id"].to_list()
    rejected = pl.read_parquet(module_user.clone / "out/cli/rejected/*.parquet")
    assert len(kept) > 300 and rejected.height > 0  # the sample has French and footer-only texts
    return set(kept)


def test_datasets_map_keeps_what_the_cli_keeps(module_user: UserShell, cli_kept: set[str]) -> None:
    result = module_user.run("library-datasets")
    kept = pl.read_parquet(module_user.clone / "out/datasets/kept.parquet")
    assert set(kept["row_id"]) == cli_kept
    assert f"{len(cli_kept)} of " in result.stdout
    assert kept["reject_reason"].null_count() == kept.height


@pytest.mark.timeout(300)
def test_ray_data_keeps_what_the_cli_keeps(module_user: UserShell, cli_kept: set[str]) -> None:
    pytest.importorskip("ray")
    module_user.run("library-ray")
    kept = pl.read_parquet(module_user.clone / "out/ray/kept")
    assert set(kept["row_id"]) == cli_kept and kept.height == len(cli_kept)


def test_datatrove_keeps_what_the_cli_keeps(module_user: UserShell, cli_kept: set[str]) -> None:
    pytest.importorskip("datatrove")
    module_user.run("library-datatrove")
    kept = _documents(module_user.clone / "out/datatrove/kept")
    rejected = _documents(module_user.clone / "out/datatrove/rejected")
    assert {doc["id"] for doc in kept} == cli_kept and len(kept) == len(cli_kept)
    assert {doc["metadata"]["reject_stage"] for doc in rejected} <= {"strip_footer", "english"}
    assert all(doc["metadata"]["reject_reason"] == doc["metadata"]["filter_reason"] for doc in rejected)


def _documents(folder: Path) -> list[dict]:
    documents = []
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            documents += [json.loads(line) for line in lines if line.strip()]
    return documents
