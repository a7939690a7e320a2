"""Publishing a build folder with the real huggingface_hub client and reading it back with the real datasets
client, both over HTTP against a LocalHub on 127.0.0.1. The clients run in a child process so that their
import-time settings (HF_ENDPOINT, HF_HOME, HF_HUB_DISABLE_XET) come from `LocalHub.client_env`."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from builders.publish import PublishError, publish_revisions
from curation.testing.hub_server import LocalHub

REPO = Path(__file__).resolve().parents[2]
REPO_ID = "curators/poems"
TOKEN = "hf_localSecretToken1234567890"
REVISIONS = ("large", "main", "aligned_5", "aligned_s")
CARD = """---
license: cc-by-4.0
language:
- en
task_categories:
- text-classification
configs:
- config_name: default
  data_files:
  - split: train
    path: data/*.parquet
---
# Poems ({revision})
"""

PUBLISH_AND_LOAD = """
import json, logging, sys
from pathlib import Path
import datasets
from huggingface_hub.utils import logging as hf_logging
from builders.publish import publish_revisions

build, out, token = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
logging.basicConfig(level=logging.DEBUG)
hf_logging.set_verbosity_debug()
shas = publish_revisions(build, "curators/poems", token=token)
for revision in shas:
    dataset = datasets.load_dataset("curators/poems", revision=revision, split="train")
    dataset.to_parquet(out / f"{revision}.parquet")
(out / "shas.json").write_text(json.dumps(shas))
"""

PUBLISH = """
import sys
from pathlib import Path
from builders.publish import PublishError, publish_revisions
token, *builds = sys.argv[1:]
for run, build in enumerate(builds):
    print(f"RUN {run}", file=sys.stderr, flush=True)
    try:
        print(f"RUN {run}", publish_revisions(Path(build), "curators/poems", token=token))
    except PublishError as error:
        print("PUBLISH ERROR:", error)
"""


def poems(revision: str, rows: int, offset: int = 0) -> pl.DataFrame:
    return pl.DataFrame({"text": [f"{revision} poem number {i}" for i in range(offset, offset + rows)],
                         "score": [float(i % 5 + 1) for i in range(offset, offset + rows)],
                         "form": ["haiku" if i % 2 else "sonnet" for i in range(offset, offset + rows)]})


def write_revision(build: Path, revision: str, shards: list[pl.DataFrame], card: str = CARD) -> None:
    folder = build / revision
    (folder / "data").mkdir(parents=True, exist_ok=True)
    for old in (folder / "data").glob("*.parquet"):
        old.unlink()
    (folder / "README.md").write_text(card.format(revision=revision))
    for i, shard in enumerate(shards):
        shard.write_parquet(folder / "data" / f"train-{i:05d}-of-{len(shards):05d}.parquet")


@pytest.fixture
def build(tmp_path: Path) -> Path:
    """Four revisions of different sizes; `large` has two shards, `aligned_5` a histogram PNG."""
    build = tmp_path / "build"
    write_revision(build, "large", [poems("large", 7), poems("large", 5, offset=7)])
    write_revision(build, "main", [poems("main", 6)])
    write_revision(build, "aligned_5", [poems("main", 4).vstack(poems("main", 2))])
    write_revision(build, "aligned_s", [poems("main", 3, offset=2)])
    (build / "aligned_5" / "length_hist.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (build / "build.json").write_text("{}")
    return build


@pytest.fixture
def hub(tmp_path: Path):
    with LocalHub(tmp_path / "hub", token=TOKEN) as hub:
        yield hub


def run_clients(script: str, hub: LocalHub, tmp_path: Path, *args: str,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = hub.client_env(tmp_path / "hf-home") | {"PYTHONPATH": str(REPO)} | (env or {})
    result = subprocess.run([sys.executable, "-c", script, *args], env=env, cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def local_rows(folder: Path) -> pl.DataFrame:
    return pl.read_parquet(folder / "data" / "*.parquet").sort(pl.all())


def test_every_revision_loads_back_with_exactly_its_rows(build: Path, hub: LocalHub, tmp_path: Path):
    out = tmp_path / "loaded"
    out.mkdir()
    result = run_clients(PUBLISH_AND_LOAD, hub, tmp_path, str(build), str(out), TOKEN, env={"HF_DEBUG": "1"})

    shas = json.loads((out / "shas.json").read_text())
    assert set(shas) == set(REVISIONS)
    assert shas == {revision: hub.branches(REPO_ID)[revision] for revision in REVISIONS}
    for revision in REVISIONS:
        loaded = pl.read_parquet(out / f"{revision}.parquet").sort(pl.all())
        assert loaded.equals(local_rows(build / revision)), revision
        local_files = {p.relative_to(build / revision).as_posix(): p.read_bytes()
                       for p in (build / revision).rglob("*") if p.is_file()}
        gitattributes = hub.files(REPO_ID)[".gitattributes"]
        assert hub.files(REPO_ID, revision) == local_files | {".gitattributes": gitattributes}
    assert hub.requests.count(("POST", "/api/validate-yaml")) >= len(REVISIONS)  # every card was checked
    assert hub.unhandled == []
    assert TOKEN not in result.stdout + result.stderr
    assert "DEBUG:" in result.stderr and "curl" in result.stderr  # every request was logged, token-free


def test_a_rerun_after_an_interruption_finishes_without_new_commits(build: Path, hub: LocalHub, tmp_path):
    interrupted = tmp_path / "interrupted"  # as if the first run stopped after two revisions
    for revision in ("main", "large"):
        shutil.copytree(build / revision, interrupted / revision)

    result = run_clients(PUBLISH, hub, tmp_path, TOKEN, str(interrupted), str(build), str(build))

    partial, full, again = result.stderr.split("RUN ")[1:]
    assert partial.count(": commit") == 2
    assert "main: unchanged" in full and "large: unchanged" in full and full.count(": commit") == 2
    assert again.count("unchanged, no commit") == len(REVISIONS)
    assert {revision: len(hub.history(REPO_ID, revision)) for revision in REVISIONS} == {
        "main": 2, "large": 3, "aligned_5": 3, "aligned_s": 3}  # initial, main's publish, own publish


def test_a_changed_revision_gets_one_commit_that_drops_stale_shards(build: Path, hub: LocalHub, tmp_path):
    changed = tmp_path / "changed"
    shutil.copytree(build, changed)
    write_revision(changed, "large", [poems("large", 9)])  # one shard instead of two

    result = run_clients(PUBLISH, hub, tmp_path, TOKEN, str(build), str(changed))

    before, after = (ast.literal_eval(line.split(" ", 2)[2]) for line in result.stdout.splitlines())
    assert [r for r in REVISIONS if after[r] != before[r]] == ["large"]
    assert after == hub.branches(REPO_ID) and hub.history(REPO_ID, "large")[1] == before["large"]
    assert sorted(hub.files(REPO_ID, "large")) == [
        ".gitattributes", "README.md", "data/train-00000-of-00001.parquet"]
    assert "large: commit" in result.stderr.split("RUN 1")[1]


def test_commit_rate_limits_are_waited_out(build: Path, tmp_path: Path):
    with LocalHub(tmp_path / "hub", token=TOKEN, rate_limited_commits=2) as hub:
        result = run_clients(PUBLISH, hub, tmp_path, TOKEN, str(build))

        assert hub.refused_commits == 2 and "PUBLISH ERROR" not in result.stdout
        assert {revision: len(hub.history(REPO_ID, revision)) for revision in REVISIONS} == {
            "main": 2, "large": 3, "aligned_5": 3, "aligned_s": 3}


def test_a_card_with_malformed_configs_is_rejected_before_any_upload(build: Path, hub: LocalHub, tmp_path):
    bad_card = CARD.replace("  - split: train\n", "  - splits: train\n")
    write_revision(build, "main", [poems("main", 6)], card=bad_card)

    result = run_clients(PUBLISH, hub, tmp_path, TOKEN, str(build))

    assert "PUBLISH ERROR: curators/poems@main: Invalid metadata in README.md" in result.stdout
    assert "data_files[0]" in result.stdout
    assert len(hub.history(REPO_ID, "main")) == 1  # only the initial commit


def test_a_wrong_token_is_refused_and_not_echoed(build: Path, hub: LocalHub, tmp_path: Path):
    result = run_clients(PUBLISH, hub, tmp_path, "hf_wrongToken987", str(build))

    assert "PUBLISH ERROR: the Hub refused curators/poems (HTTP 401)" in result.stdout
    assert "hf_wrongToken987" not in result.stdout + result.stderr


def test_an_unreachable_hub_is_one_clear_error(build: Path, hub: LocalHub, tmp_path: Path):
    with LocalHub(tmp_path / "stopped") as stopped:
        endpoint = stopped.endpoint
    script = PUBLISH.replace("token=token", f'token=token, endpoint="{endpoint}"')

    result = run_clients(script, hub, tmp_path, TOKEN, str(build))

    assert f"PUBLISH ERROR: cannot reach the Hub at {endpoint}" in result.stdout


def test_a_build_folder_without_revisions_is_an_error(tmp_path: Path):
    (tmp_path / "empty" / "main" / "data").mkdir(parents=True)
    with pytest.raises(PublishError, match="no revisions to publish"):
        publish_revisions(tmp_path / "empty", REPO_ID, endpoint="http://127.0.0.1:9", progress=False)


VALIDATE = """
import sys
from pathlib import Path
from huggingface_hub import DatasetCard

build = Path(sys.argv[1])
for card in sorted(build.glob("*/README.md")):
    DatasetCard.load(card, ignore_metadata_errors=False).validate(repo_type="dataset")
    print("VALID", card.parent.name)
bad = DatasetCard.load(build / "main" / "README.md")
bad.data.license_name = "Authors Copyright"
try:
    bad.validate(repo_type="dataset")
except ValueError as error:
    print("REFUSED", " ".join(str(error).split()))
"""


def test_every_built_card_passes_the_hubs_validation(built, hub: LocalHub, tmp_path: Path):
    out, _ = built

    result = run_clients(VALIDATE, hub, tmp_path, str(out))

    assert result.stdout.count("VALID ") == len(REVISIONS)
    assert hub.requests.count(("POST", "/api/validate-yaml")) == len(REVISIONS) + 1
    refused = next(line for line in result.stdout.splitlines() if line.startswith("REFUSED"))
    assert "license_name" in refused and "must be lower case" in refused


def machine_paths(name: str, payload: bytes, roots: set[str]) -> list[str]:
    """`name: root` for each root that the file's text (for Parquet: any string value) contains."""
    if name.endswith(".parquet"):
        table = pq.read_table(pa.BufferReader(payload))
        texts = [value for column in table.columns if pa.types.is_string(column.type)
                 or pa.types.is_large_string(column.type) for value in column.to_pylist() if value]
    else:
        texts = [payload.decode("utf-8", errors="replace")]
    return sorted({f"{name}: {root}" for root in roots for text in texts if root in text})


def test_nothing_built_or_published_holds_a_local_path(built, shared_data, hub: LocalHub, tmp_path: Path,
                                                        tmp_path_factory):
    out, _ = built
    run_clients(PUBLISH, hub, tmp_path, TOKEN, str(out))

    roots = {"/tmp/", "/work/", f"{Path.home()}/", f"{tempfile.gettempdir()}/",
             str(tmp_path_factory.getbasetemp()), str(shared_data), str(REPO)}
    built_files = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    published = {f"{revision}:{name}": payload for revision in REVISIONS
                 for name, payload in hub.files(REPO_ID, revision).items()}
    assert "build.json" in built_files and len(published) > len(REVISIONS) * 3
    for name, payload in (built_files | published).items():
        assert machine_paths(name, payload, roots) == [], name


QUIET = """
import sys
from pathlib import Path
from builders.publish import publish_revisions
print(publish_revisions(Path(sys.argv[1]), "curators/poems", token=sys.argv[2], progress=False))
"""


def test_without_progress_no_upload_bar_is_drawn(build: Path, hub: LocalHub, tmp_path: Path):
    result = run_clients(QUIET, hub, tmp_path, str(build), TOKEN)

    assert set(REVISIONS) <= set(result.stdout.split("'"))
    assert "%|" not in result.stderr and "it/s" not in result.stderr, result.stderr[-2000:]
