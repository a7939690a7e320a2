"""Per-layer features from language and vision models through `transformers`, cached on disk.

Language models (any id or local path that `AutoModel` loads, causal LMs included): the mean over real
tokens of every hidden state, the embedding layer included -> (N, L + 1, D); or the last real token.
Inputs are left-padded, with position ids counted from the first real token so padding never changes
a sample's features. Vision models: the CLS token after each block -> (N, L, D). bf16 on CUDA,
float32 on CPU. With `cache_dir`, features go to safetensors shards (`feature_cache.py`) and are reused.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path

import torch
from rich.progress import Progress

from curation.alignment.feature_cache import FeatureCache, input_hash
from curation.errors import CurationError

POOLINGS = ("mean", "last")


def pick_device(device: str | None = None) -> torch.device:
    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def _dtype(device: torch.device) -> torch.dtype:
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def load_text_model(model_id: str, device: torch.device):
    """Tokenizer (left padding, a pad token) and model in eval mode."""
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_id)
        model = AutoModel.from_pretrained(model_id, dtype=_dtype(device)).to(device).eval()
    except (OSError, ValueError) as error:
        raise CurationError(f"cannot load model {model_id!r}: {str(error).splitlines()[0]}") from error
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer, model


def pool_hidden_states(
    hidden_states: Sequence[torch.Tensor], mask: torch.Tensor, pooling: str
) -> torch.Tensor:
    """(B, T, D) per layer -> (B, layers, D): the mean over real tokens, or the last (right-most) token."""
    stacked = torch.stack(hidden_states, dim=1).float()
    if pooling == "last":
        return stacked[:, :, -1]
    weights = mask[:, None, :, None].float()
    return (stacked * weights).sum(dim=2) / weights.sum(dim=2).clamp(min=1)


@torch.inference_mode()
def embed_texts(
    tokenizer,
    model,
    texts: Sequence[str],
    *,
    pooling: str = "mean",
    max_length: int = 512,
) -> torch.Tensor:
    """One batch of texts -> (B, L + 1, D) float32 features on CPU."""
    batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    batch = {name: value.to(model.device) for name, value in batch.items()}
    if "position_ids" in inspect.signature(model.forward).parameters:
        batch["position_ids"] = (batch["attention_mask"].cumsum(dim=1) - 1).clamp(min=0)
    output = model(**batch, output_hidden_states=True)
    return pool_hidden_states(output.hidden_states, batch["attention_mask"], pooling).cpu()


def text_features(
    texts: Sequence[str],
    model_id: str,
    *,
    pooling: str = "mean",
    batch_size: int = 16,
    max_length: int = 512,
    device: str | None = None,
    cache_dir: str | Path | None = None,
    shard_rows: int = 4096,
) -> torch.Tensor:
    """(N, L + 1, D) features of `texts` under `model_id`; batches are formed from similar lengths."""
    if pooling not in POOLINGS:
        raise CurationError(f"unknown pooling {pooling!r}; choose from {', '.join(POOLINGS)}")
    torch_device = pick_device(device)
    loaded: list = []

    def compute(start: int, stop: int) -> torch.Tensor:
        if not loaded:
            loaded.extend(load_text_model(model_id, torch_device))
        chunk = texts[start:stop]
        order = sorted(range(len(chunk)), key=lambda i: len(chunk[i]))
        parts = [
            embed_texts(
                *loaded, [chunk[i] for i in order[b : b + batch_size]], pooling=pooling, max_length=max_length
            )
            for b in range(0, len(order), batch_size)
        ]
        feats = torch.cat(parts)
        restored = torch.empty_like(feats)
        restored[torch.tensor(order)] = feats
        return restored.to(_dtype(torch_device))

    digest = input_hash(texts, "text", max_length)
    return _cached(texts, model_id, pooling, digest, compute, cache_dir, shard_rows)


def _cached(
    items: Sequence,
    model_id: str,
    pooling: str,
    digest: str,
    compute,
    cache_dir,
    shard_rows: int,
) -> torch.Tensor:
    if not items:
        raise CurationError("no inputs to extract features from")
    if cache_dir is None:
        return torch.cat(
            [compute(s, min(s + shard_rows, len(items))) for s in range(0, len(items), shard_rows)]
        )
    cache = FeatureCache(cache_dir, model_id, pooling, digest, n=len(items), shard_rows=shard_rows)
    with Progress(transient=True) as progress:
        task = progress.add_task(f"features {model_id}", total=len(items))
        return cache.fill(compute, lambda rows: progress.advance(task, rows))


def load_vision_model(model_id: str, device: torch.device):
    """Image processor and the vision tower of `model_id` in eval mode."""
    from transformers import AutoImageProcessor, AutoModel

    try:
        processor = AutoImageProcessor.from_pretrained(model_id)
        model = AutoModel.from_pretrained(model_id, dtype=_dtype(device))
    except (OSError, ValueError) as error:
        raise CurationError(f"cannot load model {model_id!r}: {str(error).splitlines()[0]}") from error
    model = getattr(model, "vision_model", model)
    return processor, model.to(device).eval()


@torch.inference_mode()
def embed_images(processor, model, images: Sequence) -> torch.Tensor:
    """One batch of PIL images -> (B, L, D): the CLS token after each block (the embeddings excluded)."""
    pixels = processor(images=list(images), return_tensors="pt")["pixel_values"].to(model.device, model.dtype)
    output = model(pixel_values=pixels, output_hidden_states=True)
    return torch.stack([state[:, 0] for state in output.hidden_states[1:]], dim=1).float().cpu()


def image_features(
    paths: Sequence[str | Path],
    model_id: str,
    *,
    batch_size: int = 32,
    device: str | None = None,
    cache_dir: str | Path | None = None,
    shard_rows: int = 4096,
) -> torch.Tensor:
    """(N, L, D) CLS features of the image files at `paths` under `model_id`."""
    from PIL import Image

    torch_device = pick_device(device)
    loaded: list = []

    def compute(start: int, stop: int) -> torch.Tensor:
        if not loaded:
            loaded.extend(load_vision_model(model_id, torch_device))
        parts = []
        for b in range(start, stop, batch_size):
            images = [Image.open(p).convert("RGB") for p in paths[b : min(b + batch_size, stop)]]
            parts.append(embed_images(*loaded, images))
        return torch.cat(parts).to(_dtype(torch_device))

    digest = input_hash((Path(p).read_bytes() for p in paths), "image")
    return _cached(paths, model_id, "cls", digest, compute, cache_dir, shard_rows)
