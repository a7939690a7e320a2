"""README "Artwork posts": the demo sample cleaned from a local host (allowed with
--allow-private-hosts), then the same images from a host whose robots.txt opts out."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import UserShell


@pytest.fixture(scope="module")
def demo(module_user: UserShell, shared_data) -> UserShell:
    module_user.run("posts-demo")
    return module_user


def test_the_demo_fetches_from_the_allowed_local_host(demo: UserShell) -> None:
    manifest = json.loads((demo.clone / "out" / "weratedogs-clean" / "manifest.json").read_text())
    assert manifest["balanced"] and manifest["rows_kept"] > 200
    assert manifest["params"]["consent"]["addresses"] == "public only, 127.0.0.1/32"


def test_a_host_that_opts_out_gives_no_image(demo: UserShell) -> None:
    demo.run("posts-opt-out-demo")
    manifest = json.loads((demo.clone / "out" / "weratedogs-optout" / "manifest.json").read_text())
    fetch = next(stage for stage in manifest["stages"] if stage["name"] == "fetch")
    assert fetch["reasons"] == {"opt_out:robots": 300} and manifest["rows_kept"] == 0
    assert manifest["params"]["consent"]["honoured"] == ["robots", "x-robots-tag", "tdmrep", "c2pa"]
    assert not (demo.clone / "out" / "weratedogs-optout" / "images").exists() or not any(
        (demo.clone / "out" / "weratedogs-optout" / "images").rglob("*.jpg"))
