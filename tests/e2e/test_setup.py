"""README "Set-up" and "Like counts": `make demo` and `make demo-likes` run the poems job and the
like regressor end to end from what the repository ships."""

from __future__ import annotations

import re

from tests.e2e.conftest import UserShell

REVISIONS = ("main", "large", "aligned_5", "aligned_s")


def test_make_demo_loads_the_four_revisions_back_from_a_local_hub(user: UserShell) -> None:
    # The suite has installed the package already; `-o` keeps make from re-running the install.
    result = user.run("setup", replace={
        "make demo ": "make -o .venv/.installed demo ",
        "make test ": "# make test (.ci/run runs it) ",
    }, env={"JUDGE_URL": ""})
    out = user.clone / "out" / "demo"
    assert "No judge configured" in result.stdout
    assert "loaded back through datasets.load_dataset" in result.stdout
    rows = {name: int(count.replace(",", "")) for name, count in
            re.findall(r"│ (main|large|aligned_5|aligned_s)\s+│\s+([\d,]+) │", result.stdout)}
    assert set(rows) == set(REVISIONS), result.stdout[-3000:]
    assert rows["main"] == rows["large"] > 300
    assert 0 < rows["aligned_s"] < rows["large"]
    for revision in REVISIONS:
        card = (out / "build" / revision / "README.md").read_text(encoding="utf-8")
        assert str(user.root) not in card
        assert "license_name: public-domain" in card
    assert (out / "hub").is_dir()


def test_make_demo_likes_ends_with_a_predicted_like_count(user: UserShell) -> None:
    small = "DEMO_LIKES_ARGS='--posts 30 --test-posts 12 --steps 2'"  # the suite's time; same steps
    make = f"make -o .venv/.installed demo-likes {small}"
    result = user.run("demo-likes", replace={"make demo-likes": make})
    last = result.stdout.strip().splitlines()[-1]
    assert re.match(r"predicted likes for demo-likes/new/photo\.jpg: [\d,]+ \(score", last), last
    assert (user.clone / "out" / "demo-likes" / "model" / "model.safetensors").is_file()
    assert "$ cd demo-likes/sample && curate posts clean posts.jsonl --out ../clean" in result.stdout
