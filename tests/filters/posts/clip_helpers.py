"""Shared by the model-backed posts tests: a tiny random open_clip config and synthetic images."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

TINY_CLIP = {
    "embed_dim": 128,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@functools.cache
def tiny_clip_config() -> str:
    """Path of an open_clip model config for a 64-px, 2-layer ViT (random weights, no download)."""
    path = Path(tempfile.mkdtemp(prefix="tiny-clip-")) / "tiny-clip-test.json"
    path.write_text(json.dumps(TINY_CLIP))
    return str(path)


def gradient(rng: np.random.Generator, size: tuple[int, int] = (64, 64)) -> np.ndarray:
    """A smooth two-colour linear gradient in a random direction (mid-range colours, like the textures)."""
    height, width = size
    angle = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:height, 0:width] / max(size)
    t = (np.cos(angle) * x + np.sin(angle) * y)
    t = (t - t.min()) / (np.ptp(t) + 1e-9)
    start, end = rng.uniform(80, 176, 3), rng.uniform(80, 176, 3)
    return (start + t[..., None] * (end - start)).astype(np.uint8)


def noisy_texture(rng: np.random.Generator, size: tuple[int, int] = (64, 64)) -> np.ndarray:
    """Per-pixel noise around a random colour (a high-frequency texture)."""
    base = rng.uniform(100, 156, 3)
    return np.clip(base + rng.normal(0, 60, (*size, 3)), 0, 255).astype(np.uint8)


def scene(rng: np.random.Generator, size: tuple[int, int] = (300, 400)) -> np.ndarray:
    """A gradient background with a few solid rectangles: structure at several scales."""
    picture = gradient(rng, size)
    height, width = size
    for _ in range(6):
        top, left = rng.integers(0, height - 40), rng.integers(0, width - 40)
        picture[top:top + rng.integers(20, height // 2), left:left + rng.integers(20, width // 2)] = \
            rng.integers(0, 255, 3)
    return picture


def save(array: np.ndarray, path: Path, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **options)
    return path


def labelled_folder(root: Path, per_class: int = 32, seed: int = 0,
                    names: tuple[str, str] = ("smooth", "noisy")) -> Path:
    """root/<smooth>/*.jpg gradients and root/<noisy>/*.jpg textures."""
    rng = np.random.default_rng(seed)
    for i in range(per_class):
        save(gradient(rng), root / names[0] / f"{i:03d}.jpg", quality=92)
        save(noisy_texture(rng), root / names[1] / f"{i:03d}.jpg", quality=92)
    return root
