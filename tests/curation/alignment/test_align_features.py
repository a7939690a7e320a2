"""Per-layer features from tiny models built from configs and from the real MiniLM; the on-disk cache."""

import shutil

import pytest
import torch
from safetensors import safe_open

from curation.alignment.features import image_features, load_text_model, text_features

TEXTS = [
    "the moon is a silver coin",
    "rain",
    "an old pond, a frog jumps in, the sound of water",
    "a plain sentence about the weather today",
    "stars",
]


@pytest.mark.parametrize("model_fixture", ["tiny_gpt2", "tiny_llama"])
def test_mean_pooling_covers_every_layer_and_ignores_padding(request, model_fixture):
    model_id = request.getfixturevalue(model_fixture)
    batched = text_features(TEXTS, model_id, batch_size=5, device="cpu")
    one_by_one = torch.cat([text_features([t], model_id, device="cpu") for t in TEXTS])
    assert batched.shape == (5, 3, 32)  # embeddings + 2 blocks
    torch.testing.assert_close(batched, one_by_one, atol=1e-4, rtol=1e-4)


def test_mean_and_last_token_match_the_hidden_states(tiny_gpt2):
    tokenizer, model = load_text_model(tiny_gpt2, torch.device("cpu"))
    ids = tokenizer([TEXTS[2]], return_tensors="pt")
    states = model(**ids, output_hidden_states=True).hidden_states
    mean = text_features([TEXTS[2]], tiny_gpt2, device="cpu")[0]
    last = text_features([TEXTS[2]], tiny_gpt2, pooling="last", device="cpu")[0]
    for layer, state in enumerate(states):
        torch.testing.assert_close(mean[layer], state[0].mean(dim=0), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(last[layer], state[0, -1], atol=1e-5, rtol=1e-5)


def test_real_minilm_gives_seven_layers_of_384(minilm_path):
    feats = text_features(TEXTS, str(minilm_path), batch_size=2, device="cpu")
    assert feats.shape == (5, 7, 384)
    assert torch.isfinite(feats).all()
    assert not torch.allclose(feats[0], feats[1])


def test_features_are_cached_in_safetensors_shards_and_reused(tmp_path, tiny_gpt2):
    model_copy = tmp_path / "model"
    shutil.copytree(tiny_gpt2, model_copy)
    cache = tmp_path / "cache"
    first = text_features(TEXTS, str(model_copy), device="cpu", cache_dir=cache, shard_rows=2)
    shards = sorted(cache.rglob("*.safetensors"))
    assert len(shards) == 3
    with safe_open(shards[0], framework="pt") as shard:
        meta = shard.metadata()
    assert meta["model_id"] == str(model_copy) and meta["pooling"] == "mean" and len(meta["input_hash"]) == 64
    shutil.rmtree(model_copy)  # the second run must not need the model
    assert torch.equal(
        text_features(TEXTS, str(model_copy), device="cpu", cache_dir=cache, shard_rows=2), first
    )
    with pytest.raises(Exception, match="cannot load model"):
        text_features(TEXTS[:2], str(model_copy), device="cpu", cache_dir=cache, shard_rows=2)


@pytest.mark.parametrize("model_fixture,layers", [("tiny_vit", 3), ("tiny_dinov2", 2)])
def test_vision_features_are_the_cls_token_after_each_block(request, image_files, model_fixture, layers):
    from PIL import Image
    from transformers import AutoImageProcessor, AutoModel

    model_id = request.getfixturevalue(model_fixture)
    feats = image_features(image_files, model_id, batch_size=4, device="cpu")
    assert feats.shape == (6, layers, 32)
    model, processor = (
        AutoModel.from_pretrained(model_id).eval(),
        AutoImageProcessor.from_pretrained(model_id),
    )
    pixels = processor(images=[Image.open(image_files[5]).convert("RGB")], return_tensors="pt")[
        "pixel_values"
    ]
    with torch.inference_mode():
        states = model(pixel_values=pixels, output_hidden_states=True).hidden_states
    torch.testing.assert_close(feats[5, -1], states[-1][0, 0], atol=1e-5, rtol=1e-5)
