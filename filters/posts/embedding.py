"""open_clip image embeddings for posts: one model per process, batched forward, bf16 on CUDA.

`ImageEmbedder` decodes each image once (see `image_loading`) and from that single decode writes the
L2-normalised `clip_embedding`, the `phash` used by near-duplicate detection and the
`protection_noise_floor` used by the protection stage (plus `protection_shift`, the embedding shift
under a mild purification, when `purified=True`, which costs a second forward). Rows whose image
cannot be decoded are rejected as `image_unreadable`.

`clip_model` is an open_clip architecture name, or a path to an open_clip model-config JSON file
(registered under the file's stem), which is how tests build tiny random models.
`pretrained=None` gives random weights, seeded so every process builds the same ones.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl
import torch

from curation.errors import CurationError
from curation.stage import reject_where
from filters.posts.clip_defaults import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED
from filters.posts.image_loading import ImageLoader
from filters.posts.image_signals import noise_floor, pack_bits, phash_bits, purify
from filters.posts.schema import EMBEDDING

RANDOM_WEIGHTS_SEED = 0


def resolve_device(device: str = "auto") -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def register_model(clip_model: str) -> str:
    """Accept an architecture name or a model-config JSON path; return the name open_clip knows."""
    import open_clip

    path = Path(clip_model)
    if path.suffix == ".json":
        if not path.is_file():
            raise CurationError(f"{clip_model}: open_clip model config not found")
        open_clip.add_model_config(path)
        return path.stem
    if clip_model not in open_clip.list_models():
        raise CurationError(f"unknown open_clip model '{clip_model}' (see open_clip.list_models())")
    return clip_model


def embedder_id(clip_model: str, pretrained: str | None) -> str:
    """The name of an embedding space, recorded in probes so they are not applied to another one."""
    return f"{Path(clip_model).stem}/{pretrained or f'random-seed{RANDOM_WEIGHTS_SEED}'}"


@dataclass(frozen=True, eq=False)
class ClipBundle:
    model: torch.nn.Module
    tokenizer: object
    image_size: int
    mean: torch.Tensor
    std: torch.Tensor
    device: torch.device

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        return (pixels.float().div_(255.0) - self.mean) / self.std

    @torch.inference_mode()
    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 (B, 3, S, S) crops on `device` -> L2-normalised float32 (B, D), left on `device`."""
        with self.autocast():
            features = self.model.encode_image(self.normalise(pixels))
        return torch.nn.functional.normalize(features.float(), dim=-1)

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        tokens = self.tokenizer(list(texts)).to(self.device)
        with self.autocast():
            features = self.model.encode_text(tokens)
        return torch.nn.functional.normalize(features.float(), dim=-1).cpu().numpy()

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.detach().exp())


@functools.cache
def load_clip(clip_model: str, pretrained: str | None, device: str) -> ClipBundle:
    """Build (or, once per process, fetch) the open_clip model; `pretrained=None` (or "none", as the
    CLI options spell it) gives random weights."""
    import open_clip

    pretrained = None if (pretrained or "").lower() in ("", "none") else pretrained

    name = register_model(clip_model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_WEIGHTS_SEED)
        model, _, _ = open_clip.create_model_and_transforms(name, pretrained=pretrained, device=device)
    model.eval()
    config = model.visual.preprocess_cfg
    size = config["size"] if isinstance(config["size"], int) else config["size"][0]
    as_tensor = functools.partial(torch.tensor, device=device, dtype=torch.float32)
    return ClipBundle(model=model, tokenizer=open_clip.get_tokenizer(name), image_size=size,
                      mean=as_tensor(config["mean"]).view(1, 3, 1, 1),
                      std=as_tensor(config["std"]).view(1, 3, 1, 1), device=torch.device(device))


@dataclass
class ImageEmbedder:
    clip_model: str = DEFAULT_CLIP_MODEL
    pretrained: str | None = DEFAULT_CLIP_PRETRAINED
    device: str = "auto"
    batch_size: int = 64
    workers: int = 4
    native_size: int = 256
    purified: bool = False
    name: str = "embed"
    needs_gpu: ClassVar[bool] = True  # the Ray engine runs it in an actor pool that loads the model once
    reads: tuple[str, ...] = ("image_path",)
    adds: tuple[str, ...] = (EMBEDDING, "phash", "protection_noise_floor")
    _loader: ImageLoader | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.purified:
            self.adds = (*self.adds, "protection_shift")

    @property
    def identity(self) -> str:
        return embedder_id(self.clip_model, self.pretrained)

    def bundle(self) -> ClipBundle:
        return load_clip(self.clip_model, self.pretrained, resolve_device(self.device))

    def loader(self) -> ImageLoader:
        if self._loader is None:
            bundle = self.bundle()
            self._loader = ImageLoader(bundle.image_size, self.native_size, str(bundle.device),
                                       self.workers, self.batch_size)
        return self._loader

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_loader": None}

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        features = self.features(batch["image_path"].to_list())
        ok = pl.lit(pl.Series(features["ok"]))
        columns = [pl.Series(EMBEDDING, features[EMBEDDING]),
                   pl.Series("phash", features["phash"], dtype=pl.UInt64),
                   pl.Series("protection_noise_floor", features["protection_noise_floor"], dtype=pl.Float32)]
        if self.purified:
            columns.append(pl.Series("protection_shift", features["protection_shift"], dtype=pl.Float32))
        batch = batch.with_columns(pl.when(ok).then(pl.lit(c)).otherwise(None).alias(c.name) for c in columns)
        errors = pl.Series(features["errors"], dtype=pl.Utf8)
        return reject_where(batch, ~ok, "image_unreadable", pl.lit(errors))

    def features(self, paths: Sequence[str | None]) -> dict[str, np.ndarray | list]:
        """Decode, embed and measure every path; rows that fail get zeros and an error message."""
        bundle = self.bundle()
        parts: dict[str, list[torch.Tensor]] = {"embedding": [], "phash": [], "noise": [], "shift": []}
        positions, errors = [], [None] * len(paths)
        for crops in self.loader().chunks(paths):
            for position, message in crops.errors.items():
                errors[position] = message
            if not crops.positions:
                continue
            positions += crops.positions
            embedding = bundle.encode_pixels(crops.pixels)
            parts["embedding"].append(embedding)
            parts["phash"].append(phash_bits(crops.pixels))
            parts["noise"].append(noise_floor(crops.native))
            if self.purified:
                shifted = bundle.encode_pixels(purify(crops.pixels))
                parts["shift"].append(1.0 - (embedding * shifted).sum(-1))
        return self._collect(parts, positions, errors, len(paths), bundle)

    def _collect(self, parts: dict[str, list[torch.Tensor]], positions: list[int], errors: list,
                 rows: int, bundle: ClipBundle) -> dict[str, np.ndarray | list]:
        """Move results to the host once per batch (one sync) and scatter them back to row order."""
        dim = bundle.model.visual.output_dim
        out = {EMBEDDING: np.zeros((rows, dim), np.float32), "phash": np.zeros(rows, np.uint64),
               "protection_noise_floor": np.zeros(rows, np.float32),
               "protection_shift": np.zeros(rows, np.float32)}
        for key, column in (("embedding", EMBEDDING), ("phash", "phash"),
                            ("noise", "protection_noise_floor"), ("shift", "protection_shift")):
            if parts[key]:
                values = torch.cat(parts[key]).cpu().numpy()
                out[column][positions] = pack_bits(values) if key == "phash" else values
        ok = np.zeros(rows, bool)
        ok[positions] = True
        return {**out, "ok": ok, "errors": errors}

    def embed_files(self, paths: Sequence[str | Path]) -> np.ndarray:
        """Embeddings of image files as a float32 (N, D) matrix; any unreadable file is an error."""
        features = self.features([str(p) for p in paths])
        bad = [(p, e) for p, e, ok in zip(paths, features["errors"], features["ok"], strict=True) if not ok]
        if bad:
            raise CurationError(f"{bad[0][0]}: cannot decode image ({bad[0][1]}); "
                                f"{len(bad)} unreadable file(s) in all")
        return features[EMBEDDING]
