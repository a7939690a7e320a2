"""`curate rank fit` and `curate rank score` end to end on a table with an embedding column."""

import json

import numpy as np
import polars as pl
from typer.testing import CliRunner

from curate import app
from curation.writers import read_shards


def test_fit_from_extremes_then_score_as_an_engine_stage(tmp_path):
    rng = np.random.default_rng(0)
    likes = np.round(np.exp(rng.normal(5, 2, size=200))).astype(int)
    features = rng.normal(size=(200, 16))
    features[:, 0] += 2 * np.log1p(likes)
    table = tmp_path / "rows.parquet"
    pl.DataFrame({"row_id": [str(i) for i in range(200)], "likes": likes,
                  "embedding": features.tolist()}).write_parquet(table)
    runner = CliRunner()
    fitted = runner.invoke(app, ["rank", "fit", str(table), "--out", str(tmp_path / "axis.safetensors"),
                                 "--label", "likes", "--log-label", "--per-end", "5", "--embedder", "column",
                                 "--column", "embedding", "--json"])
    assert fitted.exit_code == 0, fitted.output
    info = json.loads(fitted.stdout)
    assert info["method"] == "extremes" and info["per_end"] == [5, 5] and info["spearman_on_fit_rows"] > 0.3
    scored = runner.invoke(app, ["rank", "score", str(table), "--axis", str(tmp_path / "axis.safetensors"),
                                 "--out", str(tmp_path / "out"), "--embedder", "column", "--column",
                                 "embedding", "--json"])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["rows_kept"] == 200
    assert read_shards(tmp_path / "out" / "kept")["rank_score"].null_count() == 0


def test_a_missing_label_column_is_one_line(tmp_path):
    table = tmp_path / "rows.csv"
    table.write_text("text,likes\nhello,1\n")
    result = CliRunner().invoke(app, ["rank", "fit", str(table), "--out", str(tmp_path / "a.safetensors"),
                                      "--label", "score"])
    assert result.exit_code != 0 and "no label column 'score'" in str(result.exception)
