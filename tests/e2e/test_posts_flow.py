"""README "Artwork posts": a user's posts.jsonl ingested and cleaned, and the two probes fitted on a
user's labelled folders. The image host stands in for the internet, so the clean line is given
`--allow-private-hosts` for it (the default policy refuses loopback), and the open_clip stages and
probes use random weights (`--clip-pretrained none`), since no weights can be downloaded."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from curation.testing.image_server import ImageServer
from tests.conftest import REPO
from tests.e2e.conftest import UserShell
from tests.filters.posts.clip_helpers import labelled_folder, tiny_clip_config

CLEAN_LINE = "curate posts clean posts.jsonl --out out/clean --min-likes 10 --normalise author"
RANDOM_WEIGHTS = f"--clip-model {tiny_clip_config()} --clip-pretrained none --device cpu"  # a 2-layer ViT


def make_posts(user: UserShell, images: Path, base_url: str) -> None:
    sample = user.root / "sample"
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_weratedogs_sample.py"), "--synthetic",
                    "--posts", "40", "--out", str(sample), "--base-url", base_url], check=True,
                   capture_output=True)
    (user.clone / "posts.jsonl").write_text((sample / "posts.jsonl").read_text())
    shutil.copytree(sample / "images", images, dirs_exist_ok=True)


def test_ingest_then_clean_a_users_posts(user: UserShell) -> None:
    images = user.root / "host"
    images.mkdir()
    with ImageServer(root=images) as host:
        make_posts(user, images, host.base_url)
        stand_ins = f"{RANDOM_WEIGHTS} --allow-private-hosts 127.0.0.1/32"
        user.run("posts", replace={CLEAN_LINE: f"{CLEAN_LINE} {stand_ins}"})
    ingest = json.loads((user.clone / "out/posts/manifest.json").read_text())
    clean = json.loads((user.clone / "out/clean/manifest.json").read_text())
    assert ingest["balanced"] and clean["balanced"]
    assert ingest["rows_in"] == clean["rows_in"] >= 40
    stages = {stage["name"]: stage for stage in clean["stages"]}
    assert stages["decode"]["rows_in"] < clean["rows_in"]  # the sample's faulty images are rejected
    assert stages["artwork"]["rows_in"] > 0  # the open_clip stages ran, on random weights
    assert clean["params"]["normalise"] == "author"


def test_fit_both_probes_on_labelled_folders(user: UserShell) -> None:
    labelled = user.clone / "labelled"
    labelled_folder(labelled, per_class=12, names=("human", "ai"))
    labelled_folder(labelled, per_class=12, seed=1, names=("clean", "protected"))
    result = user.run("posts-fit-probe", replace={
        "--kind ai ": f"--kind ai {RANDOM_WEIGHTS} ",
        "--kind protection ": f"--kind protection {RANDOM_WEIGHTS} ",
    })
    for probe in ("ai", "prot"):
        assert (user.clone / f"{probe}.safetensors").stat().st_size > 0
        assert (user.clone / f"{probe}.json").is_file() or "accuracy" in result.output
