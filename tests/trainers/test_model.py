"""The regressor on tiny random SigLIP / SigLIP2 (NaFlex) / DINOv2 backbones built from configs."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_backbone_config

from trainers.model import (
    TINY_BACKBONES,
    LikeRegressor,
    RegressorConfig,
    default_image_size,
    naflex_inputs,
)


def tiny_regressor(kind: str, **options) -> LikeRegressor:
    torch.manual_seed(0)
    config = RegressorConfig(backbone=f"tiny-{kind}", backbone_config=tiny_backbone_config(kind),
                             image_size=32, **options)
    return LikeRegressor(config)


@pytest.mark.parametrize("kind", ["siglip", "siglip2", "dinov2"])
def test_forward_and_backward_reach_every_layer(kind):
    model = tiny_regressor(kind, head="mlp", head_hidden=(16, 8))
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    scores = model(images)
    assert scores.shape == (4,)
    torch.nn.functional.mse_loss(scores, torch.full((4,), 20.0)).backward()
    assert model.head[0].weight.grad.abs().sum() > 0
    patch_weights = [p for name, p in model.backbone.named_parameters() if "patch_embed" in name]
    assert patch_weights and all(p.grad.abs().sum() > 0 for p in patch_weights)


def test_uint8_and_unit_float_images_give_the_same_scores():
    model = tiny_regressor("siglip").eval()
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    assert torch.allclose(model(images), model(images.float() / 255), atol=1e-5)


def test_frozen_backbone_trains_the_head_only():
    model = tiny_regressor("dinov2", freeze_backbone=True).train()
    model(torch.rand(2, 3, 32, 32)).sum().backward()
    assert not model.backbone.training
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.head[0].weight.grad is not None


def test_naflex_patches_match_the_siglip2_image_processor_layout():
    from transformers.models.siglip2.image_processing_siglip2 import convert_image_to_patches

    image = torch.rand(3, 32, 48)
    inputs = naflex_inputs(image[None], patch_size=8)
    assert torch.equal(inputs["pixel_values"][0], convert_image_to_patches(image, 8))
    assert inputs["spatial_shapes"].tolist() == [[4, 6]]
    assert inputs["pixel_attention_mask"].sum() == 24


@pytest.mark.parametrize("name", TINY_BACKBONES)
def test_tiny_backbones_are_built_offline_by_name(name):
    torch.manual_seed(0)
    by_name = LikeRegressor(RegressorConfig(backbone=name, image_size=32))  # the tiny ones have no weights
    assert by_name.config.backbone_config == tiny_backbone_config(name.removeprefix("tiny-"))
    assert by_name(torch.zeros(2, 3, 32, 32, dtype=torch.uint8)).shape == (2,)
    assert default_image_size(name) == 32 and default_image_size("google/siglip2-base-patch16-224") == 224
