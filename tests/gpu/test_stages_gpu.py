"""The GPU paths of the posts stages and of mutual k-NN give what the CPU gives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.gpu


def test_mutual_knn_on_cuda_equals_the_cpu(device):
    from curation.alignment.knn import nearest_neighbors
    from curation.alignment.metrics import mutual_knn

    generator = torch.Generator().manual_seed(0)
    feats_a = torch.nn.functional.normalize(torch.randn(3000, 256, generator=generator), dim=1)
    feats_b = torch.nn.functional.normalize(feats_a + torch.randn(3000, 256, generator=generator), dim=1)
    cpu = nearest_neighbors(feats_a, 10)
    here = nearest_neighbors(feats_a.to(device), 10, block_size=700)
    assert torch.equal(here.indices.cpu(), cpu.indices)
    torch.testing.assert_close(here.values.cpu(), cpu.values, rtol=1e-5, atol=1e-5)
    score = mutual_knn(feats_a, feats_b, 10)
    assert mutual_knn(feats_a.to(device), feats_b.to(device), 10) == pytest.approx(score, abs=1e-6)
    # bf16 features (what benchmarks/align.py runs at 1M): float32 similarities, nearly the same lists
    half = mutual_knn(feats_a.to(device, torch.bfloat16), feats_b.to(device, torch.bfloat16), 10)
    assert half == pytest.approx(score, abs=0.02)


def test_open_clip_post_stages_on_cuda_equal_the_cpu(device, tmp_path):
    pytest.importorskip("open_clip")
    import polars as pl

    from filters.posts.model_stages import PostModelConfig, build_model_stages
    from tests.filters.posts.clip_helpers import noisy_texture, save, scene, tiny_clip_config

    rng = np.random.default_rng(3)
    paths = [save(scene(rng, (180, 240)) if i % 2 else noisy_texture(rng, (180, 240)), tmp_path / f"{i}.jpg",
                  quality=90) for i in range(12)]
    batch = pl.DataFrame({"row_id": [f"r{i}" for i in range(12)], "post_id": [str(i) for i in range(12)],
                          "like_count": list(range(12)), "image_path": [str(p) for p in paths]})

    def apply(on: str) -> pl.DataFrame:
        config = PostModelConfig(clip_model=tiny_clip_config(), clip_pretrained=None, device=on, batch_size=8)
        frame = batch
        for stage in build_model_stages(config):
            frame = stage(frame)
        return frame

    cpu, gpu = apply("cpu"), apply(device)
    assert cpu.columns == gpu.columns and cpu.height == gpu.height
    a, b = (np.array(frame["clip_embedding"].to_list(), dtype=np.float64) for frame in (cpu, gpu))
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() > 0.99  # bf16 autocast and GPU decode/resize against fp32 and PIL
    for column in ("artwork_score", "protection_score"):
        np.testing.assert_allclose(gpu[column].to_numpy(), cpu[column].to_numpy(), atol=0.05)
    agree = (cpu["artwork_class"] == gpu["artwork_class"]).mean()
    assert agree >= 0.9
