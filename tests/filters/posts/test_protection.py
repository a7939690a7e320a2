import numpy as np
import polars as pl
import pytest
import torch

from curation.schema import with_bookkeeping
from filters.posts.embedding import ImageEmbedder
from filters.posts.image_signals import noise_floor, purify
from filters.posts.probe import fit_probe
from filters.posts.protection import ProtectionScore
from tests.filters.posts.clip_helpers import gradient, labelled_folder, save, tiny_clip_config


def perturbed(image: np.ndarray, levels: float, seed: int = 0) -> np.ndarray:
    """A Glaze-like stand-in: dense +-`levels` grey-level high-frequency noise over the whole image."""
    noise = np.random.default_rng(seed).choice([-levels, levels], size=image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def as_batch(*images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


@pytest.fixture
def clean():
    return gradient(np.random.default_rng(5), (256, 256))


def test_noise_floor_measures_a_dense_perturbation_in_grey_levels(clean):
    floors = noise_floor(as_batch(clean, perturbed(clean, 4), perturbed(clean, 8))).numpy()

    assert floors[0] < 0.5
    assert 2.5 < floors[1] < 5 and 5 < floors[2] < 10


def test_edges_do_not_raise_the_noise_floor(clean):
    stripes = clean.copy()
    stripes[::32] = 0

    assert noise_floor(as_batch(stripes)).item() < 0.5


def test_purification_removes_most_of_the_perturbation(clean):
    dirty = perturbed(clean, 8)
    purified = purify(as_batch(clean, dirty))

    assert purified.shape == (2, 3, 256, 256) and purified.dtype == torch.uint8
    remaining = (purified[1].float() - purified[0].float()).abs().mean().item()
    assert remaining < 0.5 * 8


def test_heuristic_threshold_rejects_perturbed_images_only(clean, tmp_path):
    paths = [save(clean, tmp_path / "clean.png"), save(perturbed(clean, 8), tmp_path / "glazed.png")]
    frame = with_bookkeeping(pl.DataFrame({"image_path": [str(p) for p in paths]}))
    embedder = ImageEmbedder(tiny_clip_config(), None, "cpu")

    out = ProtectionScore(embedder.identity, heuristic_threshold=0.5)(embedder(frame))

    assert out["reject_reason"].to_list() == [None, "protected:perturbation"]
    assert out["protection_score"][0] < 0.2 < 0.5 < out["protection_score"][1]


def test_without_a_threshold_the_heuristic_only_scores(clean, tmp_path):
    paths = [save(perturbed(clean, 8), tmp_path / "glazed.png")]
    embedder = ImageEmbedder(tiny_clip_config(), None, "cpu", purified=True)
    frame = embedder(with_bookkeeping(pl.DataFrame({"image_path": [str(p) for p in paths]})))

    out = ProtectionScore(embedder.identity, use_shift=True)(frame)

    assert out["reject_reason"].to_list() == [None]
    assert out["protection_score"][0] > 0.5


def test_a_protection_probe_scores_and_rejects(tmp_path):
    folder = labelled_folder(tmp_path / "data", names=("clean", "protected"))
    embedder = ImageEmbedder(tiny_clip_config(), None, "cpu", batch_size=32)
    probe_path = fit_probe(folder, embedder, positive="protected").save(tmp_path / "protection.safetensors")
    files = sorted((folder / "protected").glob("*.jpg"))[:4] + sorted((folder / "clean").glob("*.jpg"))[:4]
    frame = embedder(with_bookkeeping(pl.DataFrame({"image_path": [str(f) for f in files]})))

    out = ProtectionScore(embedder.identity, probe_path)(frame)

    flagged = out["protection_score"].to_numpy() >= 0.5
    assert out["reject_reason"].to_list() == np.where(flagged, "protected:probe", None).tolist()
    assert flagged[:4].sum() >= 3 and flagged[4:].sum() <= 1
