"""Exported regressors: a folder with model.safetensors, config.json and a README model card.

A calibration fitted on held-out posts (`trainers.calibration`: the retransformation fix or the tail
stretch) is stored in config.json and re-attached on load, so scores and rewards include it.

`load_regressor(folder)` rebuilds the backbone from the stored config (no download, no pickle) and
loads the weights; `Reward(folder)` is a plain callable, images -> tensor, for RL fine-tuning of
image generators.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_model, save_model

from curation.errors import CurationError
from trainers.calibration import (
    Calibration,
    attach_calibration,
    calibration_from_dict,
    calibration_to_dict,
    describe_calibration,
    model_calibration,
)
from trainers.data import decode_image
from trainers.evaluate import to_likes
from trainers.model import LikeRegressor, RegressorConfig

FORMAT = "aesthetic-curation/like-regressor"


def export_regressor(model: LikeRegressor, folder: Path, metrics: dict[str, Any] | None = None,
                     name: str | None = None) -> Path:
    """Write weights, config (backbone config + transform) and a model card with the eval table."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_model(model, str(folder / "model.safetensors"))
    config = {"format": FORMAT, "regressor": model.config.to_dict()}
    calibration = model_calibration(model)
    if calibration is not None:
        config["calibration"] = calibration_to_dict(calibration)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    (folder / "README.md").write_text(model_card(model.config, metrics, name or folder.name, calibration))
    if metrics is not None:
        (folder / "eval_metrics.json").write_text(json.dumps(metrics, indent=2))
    return folder


def model_card(config: RegressorConfig, metrics: dict[str, Any] | None, name: str,
               calibration: Calibration | None = None) -> str:
    """Markdown card: what it predicts, how to load it, and the like-space evaluation table."""
    lines = ["---", "library_name: aesthetic-curation", "tags: [aesthetic, reward-model, image-regression]",
             "---", f"# {name}", "",
             f"Predicts `{config.transform}` of an image's like count from a `{config.backbone}` "
             f"backbone ({'frozen, ' if config.freeze_backbone else ''}{config.head} head).", "",
             "```python", "from trainers.export import load_regressor, Reward",
             f'model = load_regressor("{name}")', f'reward = Reward("{name}")  # images -> tensor', "```"]
    if calibration is not None:
        lines += ["", f"Calibration (fitted on held-out posts, applied by the model): "
                  f"{describe_calibration(calibration)}."]
    if metrics:
        lines += ["", "## Evaluation", "", f"n = {metrics['n']:,}; transformed-space RMSE "
                  f"{metrics['rmse']:.3f}, MSE {metrics['mse']:.3f}; Spearman {metrics['spearman']:.3f}; "
                  f"sum of predicted / true likes {metrics['sum_pred_likes']:,.0f} / "
                  f"{metrics['sum_true_likes']:,.0f}.", "",
                  "| like band | n | mean abs error | mean signed error |", "|---|---:|---:|---:|"]
        lines += [f"| {band} | {row['n']:,} | {row['mean_abs_error']:,.1f} | "
                  f"{row['mean_signed_error']:,.1f} |" for band, row in metrics["bands"].items()]
        lines += calibration_card(metrics)
    return "\n".join(lines) + "\n"


def calibration_card(metrics: dict[str, Any]) -> list[str]:
    """The calibration-by-prediction table for the model card (absent in older metrics)."""
    if "calibration" not in metrics:
        return []
    lines = ["", "Bands above are by true likes (regression to the mean is built in); calibration by "
             "predicted likes:", "", "| bin | n | predicted likes | mean predicted | mean true | ratio |",
             "|---:|---:|---|---:|---:|---:|"]
    return lines + [f"| {row['bin']} | {row['n']:,} | {row['pred_low']:,.0f}-{row['pred_high']:,.0f} | "
                    f"{row['mean_pred_likes']:,.1f} | {row['mean_true_likes']:,.1f} | {row['ratio']:.2f} |"
                    for row in metrics["calibration"]]


def load_regressor(folder: str | Path, device: str = "cpu") -> LikeRegressor:
    """Rebuild from config.json and load model.safetensors (never unpickles)."""
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.exists() or not (folder / "model.safetensors").exists():
        raise CurationError(f"{folder}: not an exported regressor (needs config.json and model.safetensors)")
    stored = json.loads(config_path.read_text())
    if stored.get("format") != FORMAT:
        raise CurationError(f"{config_path}: unknown format {stored.get('format')!r}")
    model = LikeRegressor(RegressorConfig.from_dict(stored["regressor"]), pretrained=False)
    load_model(model, str(folder / "model.safetensors"), device=device)
    if "calibration" in stored:
        attach_calibration(model, calibration_from_dict(stored["calibration"]))
    return model.to(device).eval()


def images_to_tensor(images: Sequence[Any] | torch.Tensor, size: int) -> torch.Tensor:
    """Paths, PIL images or a (B, 3, H, W) tensor -> (B, 3, size, size) uint8/float tensor."""
    if isinstance(images, torch.Tensor):
        if images.shape[-2:] != (size, size):
            images = torch.nn.functional.interpolate(images.float(), size=(size, size), mode="bilinear",
                                                     antialias=True)
        return images
    tensors = []
    for image in images:
        if isinstance(image, Image.Image):
            rgb = image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
            tensors.append(torch.from_numpy(np.asarray(rgb).copy()).permute(2, 0, 1))
        else:
            tensors.append(decode_image(str(image), size))
    return torch.stack(tensors)


class Reward:
    """reward(images) -> (B,) tensor of predicted transformed likes (or likes with space='likes').

    Tensor input in [0, 1] keeps the graph, so gradients flow back to a generator's pixels.
    """

    def __init__(self, folder: str | Path, device: str = "cpu", space: str = "transformed") -> None:
        if space not in ("transformed", "likes"):
            raise CurationError("space must be 'transformed' or 'likes'")
        self.model, self.device, self.space = load_regressor(folder, device), device, space
        self.model.requires_grad_(False)

    def __call__(self, images: Sequence[Any] | torch.Tensor) -> torch.Tensor:
        pixels = images_to_tensor(images, self.model.config.image_size).to(self.device)
        scores = self.model(pixels)
        if self.space == "likes":
            likes = to_likes(scores.detach().float().cpu().numpy(), self.model.config.transform)
            return torch.as_tensor(likes, dtype=torch.float32)
        return scores
