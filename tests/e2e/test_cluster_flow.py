"""README "Running on a cluster": a user's corpus cleaned by the local engine with 4 processes and by
a local Ray instance, then by a one-node Ray cluster started with `ray start --head` (worker nodes
would join it the same way); every run gives the same kept rows."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from curation.testing.hub_server import LocalHub
from curation.writers import read_shards
from tests.e2e.conftest import UserShell

pytest.importorskip("ray")
pytestmark = pytest.mark.cluster  # `ray stop` would stop the Ray instances of tests running beside it
FORMS = ("ballad", "aubade", "allegory", "bucolic")
HUB_TOKEN = "hf_e2e_token"


@pytest.fixture(scope="module")
def corpus(module_user: UserShell) -> Iterator[UserShell]:
    forms = " ".join(f"samples/poems/forms/{form}" for form in FORMS)
    module_user.run_command(f"mkdir -p corpus/forms && cp -r {forms} corpus/forms/")
    yield module_user
    module_user.bash("ray stop --force >/dev/null 2>&1 || true\n")


def kept_ids(folder) -> list[str]:
    return sorted(read_shards(folder / "kept")["row_id"].to_list())


def test_local_processes_and_local_ray_keep_the_same_rows(corpus: UserShell) -> None:
    corpus.run("cluster-one-machine")
    local, ray = corpus.clone / "out/local", corpus.clone / "out/ray"
    for folder in (local, ray):
        assert json.loads((folder / "manifest.json").read_text())["balanced"]
    assert kept_ids(local) == kept_ids(ray) and len(kept_ids(local)) > 30


def test_a_job_on_a_running_cluster_keeps_the_same_rows(corpus: UserShell) -> None:
    corpus.run("cluster", replace={"/shared/out": "shared/out"})
    assert kept_ids(corpus.clone / "shared/out") == kept_ids(corpus.clone / "out/local")


@pytest.fixture
def object_stores(corpus: UserShell, tmp_path) -> Iterator[dict[str, str]]:
    """The user's poems as Parquet in an S3 bucket (a moto server) and in a Hub dataset (the local Hub),
    and the environment variables that point the clients at them."""
    boto3 = pytest.importorskip("boto3")
    server_module = pytest.importorskip("moto.server")
    shards = read_shards(corpus.clone / "out/local/kept").select("row_id", "text")
    halves = [tmp_path / "poems-0.parquet", tmp_path / "poems-1.parquet"]
    shards.head(shards.height // 2).write_parquet(halves[0])
    shards.tail(shards.height - shards.height // 2).write_parquet(halves[1])
    s3 = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    s3.start()
    try:
        endpoint = f"http://127.0.0.1:{s3._server.server_port}"
        aws = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
               "AWS_DEFAULT_REGION": "us-east-1"}
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")
        client.create_bucket(Bucket="bucket")
        for half in halves:
            client.upload_file(str(half), "bucket", f"poems/{half.name}")
        with LocalHub(tmp_path / "hub", token=HUB_TOKEN) as hub:
            hub_env = {"HF_ENDPOINT": hub.endpoint, "HF_TOKEN": HUB_TOKEN, "HF_HUB_DISABLE_XET": "1"}
            upload = ("from huggingface_hub import HfApi; api = HfApi(); "
                      "api.create_repo('org/poems', repo_type='dataset'); "
                      + "; ".join(f"api.upload_file(path_or_fileobj='{half}', path_in_repo='data/{half.name}'"
                                  ", repo_id='org/poems', repo_type='dataset')" for half in halves))
            corpus.run_command(f'python -c "{upload}"', env=hub_env)
            yield aws | hub_env
    finally:
        s3.stop()


def test_inputs_at_s3_and_hub_urls_keep_the_rows_of_the_local_files(corpus: UserShell,
                                                                     object_stores: dict[str, str]) -> None:
    corpus.run_command("ray start --head --port=6379", env=object_stores)  # workers read S3 themselves
    try:
        corpus.run("cluster-urls", replace={"/shared/poems-clean": "shared/poems-clean"}, env=object_stores)
    finally:
        corpus.run_command("ray stop --force")
    expected = kept_ids(corpus.clone / "out/local")
    for folder in ("shared/poems-clean", "out/hf-poems"):
        manifest = json.loads((corpus.clone / folder / "manifest.json").read_text())
        assert manifest["balanced"] and manifest["rows_in"] == len(expected), folder
        assert sorted(read_shards(corpus.clone / folder / "kept")["text"].to_list()) == sorted(
            read_shards(corpus.clone / "out/local/kept")["text"].to_list()), folder
