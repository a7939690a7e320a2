"""Like-space analysis: the seed's error table, `describe` on real like counts, and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from curate.likes import app
from curation.errors import InputError
from curation.likes import describe_likes, read_like_column, simulate_error

SEED_TABLE = {"log1p": 10_982.25, "sqrt*log": 1_664.97, "cbrt*log": 2_299.06}
SHARED_DATA = Path(os.environ.get("SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
WERATEDOGS = SHARED_DATA / "weratedogs-likes" / "tweet_public_metrics.json"


@pytest.mark.parametrize("name", SEED_TABLE)
def test_error_simulation_reproduces_the_seed_table(name):
    curve = simulate_error(name, 200, 20_000, points=100, relative_error=0.10)
    assert curve.mean_abs_error == pytest.approx(SEED_TABLE[name], rel=1e-3)
    assert np.all(curve.over >= curve.under)  # increasing convex-in-likes transforms overshoot more


def test_simulate_error_cli_prints_json_and_saves_the_plot(tmp_path):
    plot = tmp_path / "curves.png"
    result = CliRunner().invoke(app, ["simulate-error", "--json", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    focused = json.loads(result.stdout)["mean_abs_error"]["focused"]
    assert focused == pytest.approx(SEED_TABLE, rel=1e-3)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_error_cli_table_names_every_transform(tmp_path):
    result = CliRunner().invoke(app, ["simulate-error", "--plot", str(tmp_path / "c.png")])
    assert result.exit_code == 0, result.output
    for name in SEED_TABLE:
        assert name in result.output
    assert "2,299.06" in result.output


def test_simulate_error_writes_a_plot_only_where_asked_and_says_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["simulate-error"])
    assert result.exit_code == 0, result.output
    assert list(tmp_path.iterdir()) == [] and "--plot" in result.output
    result = CliRunner().invoke(app, ["simulate-error", "--json", "--plot", "plots/curves.png"])
    assert json.loads(result.stdout)["plot"] == str(tmp_path / "plots" / "curves.png")
    assert [p.name for p in tmp_path.rglob("*.png")] == ["curves.png"]


def test_describe_summarises_raw_and_transformed_targets():
    stats = describe_likes(np.array([0.0, 85.0, 85.0, 20_000.0]), ("cbrt*log",))
    assert stats["raw"]["count"] == 4 and stats["raw"]["50%"] == 85.0
    assert stats["cbrt*log"]["min"] == pytest.approx(np.log(10))
    assert stats["cbrt*log"]["50%"] == pytest.approx(np.cbrt(86) * np.log(95))


@pytest.mark.skipif(not WERATEDOGS.exists(), reason="shared WeRateDogs data not present")
def test_describe_cli_on_real_weratedogs_like_counts():
    result = CliRunner().invoke(app, ["describe", str(WERATEDOGS), "--column", "like_count", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["raw"]["count"] == 2_327 and stats["raw"]["50%"] == 3_050 and stats["raw"]["max"] == 144_778
    assert stats["log1p"]["50%"] == pytest.approx(np.log1p(3_050))


def test_describe_names_the_file_and_field_on_bad_input(tmp_path):
    data = tmp_path / "posts.csv"
    data.write_text("likes\n3\n-2\n")
    with pytest.raises(InputError, match="row 1.*field 'likes'.*negative"):
        read_like_column(data, "likes")
    with pytest.raises(InputError, match="field 'like_count'"):
        read_like_column(data, "like_count")
