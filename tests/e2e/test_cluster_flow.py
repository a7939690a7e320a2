"""README "Running on a cluster": a user's corpus cleaned by the local engine with 4 processes and by
a local Ray instance, then by a one-node Ray cluster started with `ray start --head` (worker nodes
would join it the same way); every run gives the same kept rows."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from curation.writers import read_shards
from tests.e2e.conftest import UserShell

pytest.importorskip("ray")
FORMS = ("ballad", "aubade", "allegory", "bucolic")


@pytest.fixture(scope="module")
def corpus(module_user: UserShell) -> Iterator[UserShell]:
    forms = " ".join(f"samples/poems/forms/{form}" for form in FORMS)
    module_user.run_command(f"mkdir -p corpus/forms && cp -r {forms} corpus/forms/")
    yield module_user
    module_user.bash("ray stop --force >/dev/null 2>&1 || true\n")


def kept_ids(folder) -> list[str]:
    return sorted(read_shards(folder / "kept")["row_id"].to_list())


def test_local_processes_and_a_local_ray_instance_keep_the_same_rows(corpus: UserShell) -> None:
    corpus.run("cluster-one-machine")
    local, ray = corpus.clone / "out/local", corpus.clone / "out/ray"
    for folder in (local, ray):
        assert json.loads((folder / "manifest.json").read_text())["balanced"]
    assert kept_ids(local) == kept_ids(ray) and len(kept_ids(local)) > 30


def test_a_job_on_a_running_cluster_keeps_the_same_rows(corpus: UserShell) -> None:
    corpus.run("cluster", replace={"/shared/out": "shared/out"})
    assert kept_ids(corpus.clone / "shared/out") == kept_ids(corpus.clone / "out/local")
