"""The like-count regressor: a vision backbone loaded by name, a pooled embedding, a regression head.

Backbones: any `transformers` vision model (SigLIP, SigLIP2 fixed-res and NaFlex, DINOv2, CLIP) by
Hub name, or an `open_clip` model as "open_clip:ARCH" / "open_clip:ARCH/PRETRAINED_TAG", or one of
`TINY_BACKBONES` ("tiny-siglip", "tiny-siglip2", "tiny-dinov2"): a 2-layer, 32-wide randomly
initialised model of that family built offline from a config, to try the whole path without weights
(its predictions mean nothing). The model
takes images as (B, 3, H, W) uint8 in [0, 255] or float in [0, 1] and normalises them itself, so
scoring and reward callers never need a separate processor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from curation.errors import CurationError

DEFAULT_BACKBONE = "google/siglip2-base-patch16-224"
DINOV2_BACKBONE = "facebook/dinov2-large"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
HALF_MEAN, HALF_STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
_VISION_TOWERS = {"siglip": "siglip_vision_model", "siglip2": "siglip2_vision_model",
                  "clip": "clip_vision_model"}
TINY_BACKBONES = ("tiny-siglip", "tiny-siglip2", "tiny-dinov2")
TINY_IMAGE_SIZE = 32
_TINY = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
         "patch_size": 8}


def tiny_backbone_config(kind: str, image_size: int = TINY_IMAGE_SIZE) -> dict[str, Any]:
    """A 2-layer, 32-wide vision config of `kind` (siglip, siglip2, dinov2), as RegressorConfig
    stores it; no download."""
    import transformers

    if kind == "siglip":
        config = transformers.SiglipVisionConfig(image_size=image_size, **_TINY)
    elif kind == "siglip2":
        patches = (image_size // _TINY["patch_size"]) ** 2
        config = transformers.Siglip2VisionConfig(num_patches=patches, **_TINY)
    elif kind == "dinov2":
        config = transformers.Dinov2Config(image_size=image_size, **_TINY)
    else:
        raise CurationError(f"no tiny backbone of kind '{kind}' (use siglip, siglip2 or dinov2)")
    return config.to_dict()


def default_image_size(backbone: str) -> int:
    """The input side a backbone is built for: 32 for the tiny ones, else 224."""
    return TINY_IMAGE_SIZE if backbone in TINY_BACKBONES else 224


@dataclass
class RegressorConfig:
    """Everything needed to rebuild the regressor offline (the backbone config is stored inline)."""

    backbone: str = DEFAULT_BACKBONE
    backbone_config: dict[str, Any] | None = None
    transform: str = "cbrt*log"
    head: str = "linear"
    head_hidden: tuple[int, ...] = (1024, 128, 64, 16)
    dropout: float = 0.1
    freeze_backbone: bool = False
    image_size: int = 224
    image_mean: tuple[float, ...] | None = None
    image_std: tuple[float, ...] | None = None
    head_bias: float = 0.0
    embed_dim: int = field(default=0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegressorConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("head_hidden", "image_mean", "image_std"):
            if known.get(key) is not None:
                known[key] = tuple(known[key])
        return cls(**known)


def _vision_config(config: RegressorConfig, pretrained: bool) -> Any:
    from transformers import AutoConfig

    if config.backbone_config is not None:
        data = dict(config.backbone_config)
        return AutoConfig.for_model(data.pop("model_type"), **data)
    full = AutoConfig.from_pretrained(config.backbone)
    vision = getattr(full, "vision_config", None)
    return vision if vision is not None else full


class _HFBackbone(nn.Module):
    """A transformers vision tower; NaFlex SigLIP2 gets its images patchified on the fly."""

    def __init__(self, config: RegressorConfig, pretrained: bool) -> None:
        super().__init__()
        from transformers import AutoModel

        if config.backbone_config is None and config.backbone in TINY_BACKBONES:
            config.backbone_config = tiny_backbone_config(config.backbone.removeprefix("tiny-"),
                                                          config.image_size)
        vision_config = _vision_config(config, pretrained)
        if pretrained and config.backbone_config is None:
            model_class = type(AutoModel.from_config(vision_config))
            self.model = model_class.from_pretrained(config.backbone, config=vision_config)
        else:
            self.model = AutoModel.from_config(vision_config)
        self.model_type = vision_config.model_type
        self.patch_size = int(vision_config.patch_size)
        self.embed_dim = int(vision_config.hidden_size)
        config.backbone_config = vision_config.to_dict()
        default_mean, default_std = ((IMAGENET_MEAN, IMAGENET_STD) if self.model_type == "dinov2"
                                     else (HALF_MEAN, HALF_STD))
        config.image_mean = config.image_mean or default_mean
        config.image_std = config.image_std or default_std

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        if self.model_type == "siglip2_vision_model":
            return self.model(**naflex_inputs(pixels, self.patch_size)).pooler_output
        return self.model(pixel_values=pixels).pooler_output


class _OpenClipBackbone(nn.Module):
    """open_clip's image tower; `pretrained` downloads the tag named after the slash."""

    def __init__(self, config: RegressorConfig, pretrained: bool) -> None:
        super().__init__()
        import open_clip

        arch, _, tag = config.backbone.removeprefix("open_clip:").partition("/")
        model = open_clip.create_model(arch, pretrained=tag if (pretrained and tag) else None)
        self.model = model.visual
        self.embed_dim = int(self.model.output_dim)
        preprocess = getattr(self.model, "preprocess_cfg", {}) or {}
        config.image_mean = config.image_mean or tuple(preprocess.get("mean", IMAGENET_MEAN))
        config.image_std = config.image_std or tuple(preprocess.get("std", IMAGENET_STD))
        config.backbone_config = {"model_type": "open_clip", "arch": arch}

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model(pixels)


def naflex_inputs(pixels: torch.Tensor, patch_size: int) -> dict[str, torch.Tensor]:
    """(B, C, H, W) -> SigLIP2 NaFlex patches (B, N, p*p*C), a full mask and the patch grid shape."""
    batch, channels, height, width = pixels.shape
    rows, cols = height // patch_size, width // patch_size
    patches = pixels[:, :, :rows * patch_size, :cols * patch_size]
    patches = patches.reshape(batch, channels, rows, patch_size, cols, patch_size)
    patches = patches.permute(0, 2, 4, 3, 5, 1).reshape(batch, rows * cols, -1)
    mask = torch.ones(batch, rows * cols, dtype=torch.long, device=pixels.device)
    shapes = torch.tensor([[rows, cols]] * batch, dtype=torch.long, device=pixels.device)
    return {"pixel_values": patches, "pixel_attention_mask": mask, "spatial_shapes": shapes}


def build_head(config: RegressorConfig) -> nn.Module:
    """A linear head, or the LAION aesthetic-predictor MLP (Linear/Dropout stacks down to 1)."""
    if config.head == "linear":
        layers: list[nn.Module] = [nn.Linear(config.embed_dim, 1)]
    elif config.head == "mlp":
        layers, width = [], config.embed_dim
        for hidden in config.head_hidden:
            layers += [nn.Linear(width, hidden), nn.GELU(), nn.Dropout(config.dropout)]
            width = hidden
        layers.append(nn.Linear(width, 1))
    else:
        raise CurationError(f"unknown head '{config.head}' (use 'linear' or 'mlp')")
    head = nn.Sequential(*layers)
    nn.init.constant_(head[-1].bias, config.head_bias)
    return head


class LikeRegressor(nn.Module):
    """images -> predicted target (transformed like count), shape (B,)."""

    def __init__(self, config: RegressorConfig, pretrained: bool = False) -> None:
        super().__init__()
        self.config = config
        is_open_clip = config.backbone.startswith("open_clip:")
        self.backbone = (_OpenClipBackbone if is_open_clip else _HFBackbone)(config, pretrained)
        config.embed_dim = self.backbone.embed_dim
        self.head = build_head(config)
        self.register_buffer("mean", torch.tensor(config.image_mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(config.image_std).view(1, -1, 1, 1), persistent=False)
        if config.freeze_backbone:
            self.backbone.requires_grad_(False)

    def train(self, mode: bool = True) -> LikeRegressor:
        super().train(mode)
        if self.config.freeze_backbone:
            self.backbone.eval()
        return self

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 [0, 255] or float [0, 1] images -> the backbone's normalised input."""
        pixels = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        return (pixels - self.mean) / self.std

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled backbone embedding (no gradient when the backbone is frozen)."""
        pixels = self.normalize(images)
        if self.config.freeze_backbone:
            with torch.no_grad():
                return self.backbone(pixels)
        return self.backbone(pixels)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(images).float()).squeeze(-1)
