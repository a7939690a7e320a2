import json
import sys

import numpy as np
import polars as pl
import pytest
from safetensors import safe_open
from typer.testing import CliRunner

from curate import main
from curate.posts_models import app
from curation.errors import InputError, StageError
from curation.schema import with_bookkeeping
from filters.posts.embedding import ImageEmbedder
from filters.posts.probe import Probe, ProbeFilter, fit_probe
from tests.filters.posts.clip_helpers import labelled_folder, tiny_clip_config


@pytest.fixture(scope="module")
def embedder() -> ImageEmbedder:
    return ImageEmbedder(tiny_clip_config(), None, "cpu", batch_size=16)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    return labelled_folder(tmp_path_factory.mktemp("labelled"), per_class=32, names=("human", "ai"))


@pytest.fixture(scope="module")
def probe(labelled, embedder) -> Probe:
    return fit_probe(labelled, embedder, positive="ai")


def test_a_probe_on_random_clip_embeddings_separates_two_visual_classes(probe, capsys):
    with capsys.disabled():
        print(f"\nprobe held-out accuracy: {probe.info.held_out_accuracy:.3f} "
              f"on {probe.info.held_out_images} images")
    assert probe.info.held_out_images == 16 and probe.info.train_images == 48
    assert probe.info.held_out_accuracy >= 0.8


def test_probe_round_trips_through_safetensors_with_json_metadata(probe, tmp_path, labelled, embedder):
    path = probe.save(tmp_path / "ai.safetensors")

    with safe_open(str(path), framework="numpy") as f:
        metadata = json.loads(f.metadata()["probe"])
    assert metadata["classes"] == ["ai", "human"] and metadata["embedder"] == embedder.identity
    loaded = Probe.load(path)
    embeddings = embedder.embed_files(sorted((labelled / "ai").glob("*.jpg"))[:4])
    np.testing.assert_allclose(loaded.score(embeddings), probe.score(embeddings), rtol=1e-6)


def test_probe_filter_rejects_images_the_probe_calls_ai(probe, tmp_path, labelled, embedder):
    path = probe.save(tmp_path / "ai.safetensors")
    files = sorted((labelled / "ai").glob("*.jpg"))[-3:] + sorted((labelled / "human").glob("*.jpg"))[-3:]
    frame = with_bookkeeping(pl.DataFrame({"image_path": [str(f) for f in files]}))

    out = ProbeFilter(path, embedder.identity)(embedder(frame))

    assert out["ai_probe_score"].dtype == pl.Float32
    expected = np.where(out["ai_probe_score"].to_numpy() >= 0.5, "ai_generated:probe", None)
    assert out["reject_reason"].to_list() == expected.tolist()
    assert out["reject_reason"].to_list()[:3].count("ai_generated:probe") >= 2


def test_a_probe_refuses_another_embedding_space(probe, tmp_path):
    path = probe.save(tmp_path / "ai.safetensors")

    with pytest.raises(StageError, match="ViT-B-16/laion2b"):
        ProbeFilter(path, "ViT-B-16/laion2b_s34b_b88k")


def test_files_that_are_not_probes_are_refused(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x80\x04pickle-not-safetensors")

    with pytest.raises(InputError, match="junk.safetensors"):
        Probe.load(junk)


def test_one_class_folder_is_an_input_error(tmp_path, embedder):
    labelled_folder(tmp_path, per_class=2)
    for image in (tmp_path / "noisy").iterdir():
        image.unlink()

    with pytest.raises(InputError, match="two class subfolders"):
        fit_probe(tmp_path, embedder)


def test_fit_probe_command_saves_a_protection_probe(tmp_path):
    folder = labelled_folder(tmp_path / "data", per_class=12, names=("clean", "protected"))
    out = tmp_path / "protection.safetensors"

    result = CliRunner().invoke(app, ["fit-probe", str(folder), "--out", str(out), "--kind", "protection",
                                      "--clip-model", tiny_clip_config(), "--clip-pretrained", "none",
                                      "--device", "cpu", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["positive"] == "protected" and report["held_out_images"] == 6
    assert Probe.load(out).info.held_out_accuracy == report["held_out_accuracy"]


def test_fit_probe_command_names_a_missing_positive_class(tmp_path, monkeypatch, capsys):
    folder = labelled_folder(tmp_path / "data", per_class=4)
    monkeypatch.setattr(sys, "argv", ["curate", "posts", "fit-probe", str(folder), "--out",
                                      str(tmp_path / "p.safetensors"), "--clip-model", tiny_clip_config(),
                                      "--clip-pretrained", "none"])

    with pytest.raises(SystemExit) as exit_:
        main()  # the CLI's one error handler: one line, exit 2 for bad input

    assert exit_.value.code == 2
    assert "positive class 'ai' is not a subfolder" in capsys.readouterr().err
