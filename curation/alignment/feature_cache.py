"""On-disk feature cache: safetensors shards keyed by model id, pooling and a hash of the inputs.

A run writes `<cache>/<model-slug>/<pooling>-<hash16>/shard-00000.safetensors`, ... each holding rows
[i * shard_rows, (i + 1) * shard_rows) and the model id, pooling, input hash and row range in its
metadata. Shards already present with matching metadata are reused, so an interrupted run resumes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from curation.errors import CurationError


def input_hash(items: Iterable[str | bytes], *extra: object) -> str:
    """sha256 over the inputs in order (length-prefixed) and any settings that change the features."""
    digest = hashlib.sha256(repr(extra).encode())
    for item in items:
        data = item.encode() if isinstance(item, str) else item
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


class FeatureCache:
    """Shards of one (model, pooling, inputs) feature tensor of shape (N, layers, D)."""

    def __init__(self, root: str | Path, model_id: str, pooling: str, digest: str, *, n: int,
                 shard_rows: int = 4096) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id.strip("/"))[-120:]
        self.folder = Path(root) / slug / f"{pooling}-{digest[:16]}"
        self.meta = {"model_id": model_id, "pooling": pooling, "input_hash": digest}
        self.n, self.shard_rows = n, shard_rows

    def ranges(self) -> list[tuple[int, int]]:
        return [(start, min(start + self.shard_rows, self.n)) for start in range(0, self.n, self.shard_rows)]

    def _path(self, start: int) -> Path:
        return self.folder / f"shard-{start // self.shard_rows:05d}.safetensors"

    def has(self, start: int, stop: int) -> bool:
        path = self._path(start)
        if not path.exists():
            return False
        with safe_open(path, framework="pt") as shard:
            meta = shard.metadata() or {}
        return all(meta.get(key) == value for key, value in self.meta.items()) and \
            meta.get("rows") == f"{start}:{stop}"

    def write(self, start: int, stop: int, feats: torch.Tensor) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._path(start).with_suffix(".tmp")
        metadata = {**self.meta, "rows": f"{start}:{stop}"}
        save_file({"features": feats.contiguous().cpu()}, str(tmp), metadata=metadata)
        tmp.replace(self._path(start))

    def read(self, start: int) -> torch.Tensor:
        with safe_open(self._path(start), framework="pt") as shard:
            return shard.get_tensor("features")

    def fill(self, compute: Callable[[int, int], torch.Tensor], progress: Callable[[int], None] | None = None,
             ) -> torch.Tensor:
        """Every shard, computing (and writing) the missing ones with `compute(start, stop)`."""
        parts = []
        for start, stop in self.ranges():
            if not self.has(start, stop):
                feats = compute(start, stop)
                if feats.shape[0] != stop - start:
                    raise CurationError(f"extractor returned {feats.shape[0]} rows for {stop - start}")
                self.write(start, stop, feats)
            parts.append(self.read(start))
            if progress:
                progress(stop - start)
        return torch.cat(parts)
