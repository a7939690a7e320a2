"""`curate align run` end to end on CPU with tiny config-built models and the real MiniLM."""

import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from curate.align import app
from curation.alignment.analyses import mean_pairwise_cosine, score_vs_covariate, semantic_clusters

POEMS = [
    f"the {w} moon over the {v} sea, a quiet {u} song"
    for w, v, u in zip(
        ["pale", "red", "cold", "old", "bright", "thin", "soft", "dark", "low", "high", "round", "half"],
        ["grey", "calm", "wide", "deep", "dark", "still", "warm", "blue", "wild", "north", "south", "salt"],
        [
            "lonely",
            "tender",
            "broken",
            "endless",
            "simple",
            "hidden",
            "bitter",
            "gentle",
            "silver",
            "golden",
            "ancient",
            "little",
        ],
        strict=True,
    )
]
PLAIN = [
    f"report {i}: the store opens at {8 + i % 3} am and closes at {5 + i % 4} pm on weekdays"
    for i in range(12)
]


@pytest.fixture
def dataset(tmp_path, image_files):
    texts = POEMS + PLAIN
    frame = pl.DataFrame(
        {
            "text": texts,
            "is_poem": [True] * 12 + [False] * 12,
            "score": [float(i % 5) for i in range(24)],
            "image": [f"{image_files[i % 6].parent.name}/{image_files[i % 6].name}" for i in range(24)],
        }
    )
    path = image_files[0].parent.parent / "data.parquet"
    frame.write_parquet(path)
    return path


def test_run_writes_matrices_heatmaps_subsets_and_covariates(
    tmp_path, dataset, tiny_gpt2, tiny_llama, minilm_path, tiny_vit
):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--models",
            f"{tiny_gpt2},{tiny_llama},{minilm_path}",
            "--data",
            str(dataset),
            "--column",
            "text",
            "--out",
            str(out),
            "--k",
            "3",
            "--subset",
            "is_poem",
            "--covariate",
            "score",
            "--device",
            "cpu",
            "--perplexity-model",
            tiny_gpt2,
            "--embedder",
            str(minilm_path),
            "--vision-models",
            tiny_vit,
            "--image-column",
            "image",
        ],
    )
    assert result.exit_code == 0, result.output
    matrix = json.loads((out / "matrix.json").read_text())
    scores = np.array(matrix["scores"])
    assert scores.shape == (3, 3) and matrix["n"] == 24
    np.testing.assert_allclose(np.diag(scores), 1.0)
    np.testing.assert_allclose(scores, scores.T)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert (out / "matrix.csv").read_text().splitlines()[0].startswith("model,")
    for name in (
        "matrix.png",
        "language_x_vision.png",
        "subset_is_poem_true.png",
        "subset_is_poem_difference.png",
        "score_vs_perplexity.png",
        "per_sample.csv",
    ):
        assert (out / name).stat().st_size > 0, name
    cross = json.loads((out / "language_x_vision.json").read_text())
    assert np.array(cross["scores"]).shape == (3, 1)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["subset_is_poem"]["true"]["n"] == 12
    assert {s["covariate"] for s in summary["slopes"]} == {"length_words", "perplexity", "score"}
    assert len(summary["semantics"]["labels"]) == 24
    # a second run reuses the cached features
    shards = sorted((out / "features").rglob("*.safetensors"))
    assert len(shards) == 4  # 3 language models + 1 vision model, one shard each
    stamps = [s.stat().st_mtime_ns for s in shards]
    again = CliRunner().invoke(
        app,
        [
            "run",
            "--models",
            f"{tiny_gpt2},{tiny_llama},{minilm_path}",
            "--data",
            str(dataset),
            "--out",
            str(out),
            "--k",
            "3",
            "--device",
            "cpu",
        ],
    )
    assert again.exit_code == 0, again.output
    assert [s.stat().st_mtime_ns for s in shards] == stamps


def test_missing_column_is_one_clear_error(tmp_path, dataset, tiny_gpt2):
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--models",
            tiny_gpt2,
            "--data",
            str(dataset),
            "--column",
            "body",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code != 0
    assert "missing column" in str(result.exception)


def test_mean_pairwise_cosine_and_clusters_on_known_vectors():
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 2.0]])
    # pairs: (0,1)=1, (2,3)=1, the four cross pairs 0 -> mean 2/6
    assert mean_pairwise_cosine(vectors) == pytest.approx(2 / 6)
    result = semantic_clusters(vectors, 2)
    assert sorted(c["mean_cosine"] for c in result["clusters"].values()) == pytest.approx([1.0, 1.0])


def test_slope_of_a_planted_line():
    x = np.arange(50, dtype=float)
    fit = score_vs_covariate(0.5 - 0.01 * x, x, "length")
    assert fit.slope == pytest.approx(-0.01) and fit.intercept == pytest.approx(0.5) and fit.n == 50


def test_cycle_knn_matrix_states_its_orientation_and_duplicated_rows_are_marked(
    tmp_path, tiny_gpt2, tiny_llama
):
    texts = POEMS + PLAIN
    texts[20], texts[23] = texts[2], texts[2]  # exact duplicates: identical features, tied neighbours
    data = tmp_path / "dups.parquet"
    pl.DataFrame({"text": texts}).write_parquet(data)
    out = tmp_path / "out"
    args = ["run", "--models", f"{tiny_gpt2},{tiny_llama}", "--data", str(data), "--out", str(out)]
    args += ["--k", "3", "--device", "cpu"]
    result = CliRunner().invoke(app, [*args, "--metric", "cycle_knn"])
    assert result.exit_code == 0, result.output
    matrix = json.loads((out / "matrix.json").read_text())
    assert "scores[i][j] = cycle_knn(A = cols[j], B = rows[i])" in matrix["orientation"]
    assert matrix["best_layers_order"].startswith("[row model layer, column model layer]")
    summary = json.loads((out / "summary.json").read_text())
    duplicates = summary["duplicate_feature_rows"]
    assert duplicates["rows"] == [2, 20, 23]
    assert duplicates["models"][tiny_gpt2]["groups_equal_in_every_layer"] == [[2, 20, 23]]
    assert "lower sample index" in duplicates["tie_rule"]
    flags = pl.read_csv(out / "per_sample.csv")["duplicate_features"].to_list()
    assert [i for i, flag in enumerate(flags) if flag] == [2, 20, 23]

    lowrank = CliRunner().invoke(app, [*args, "--metric", "svcca", "--svcca-reduction", "lowrank"])
    assert lowrank.exit_code == 0, lowrank.output
    wrong = CliRunner().invoke(app, [*args, "--metric", "svcca", "--svcca-reduction", "random"])
    assert wrong.exit_code != 0 and "svcca_reduction" in str(wrong.exception)
