"""Training losses on the transformed target: MSE (the seed's), Huber, band-reweighted MSE, plus an
optional pairwise ranking term. Each is one option of `LossConfig`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from curation.errors import CurationError
from curation.transforms import get_transform

LIKE_BAND_EDGES = (200.0, 2_000.0, 20_000.0)


@dataclass
class LossConfig:
    """name: 'mse' | 'huber' | 'band-mse'; rank_weight > 0 adds the pairwise ranking term."""

    name: str = "mse"
    huber_delta: float = 1.0
    band_weights: tuple[float, float, float, float] = (1.0, 1.0, 2.0, 4.0)
    rank_weight: float = 0.0


class RegressionLoss(nn.Module):
    """loss(pred, target) on transformed targets; band edges are the like bands mapped through f."""

    def __init__(self, config: LossConfig, transform: str) -> None:
        super().__init__()
        if config.name not in ("mse", "huber", "band-mse"):
            raise CurationError(f"unknown loss '{config.name}' (use mse, huber or band-mse)")
        if len(config.band_weights) != len(LIKE_BAND_EDGES) + 1:
            raise CurationError(f"band-mse needs {len(LIKE_BAND_EDGES) + 1} band weights")
        self.config = config
        edges = get_transform(transform).forward(np.array(LIKE_BAND_EDGES))
        self.register_buffer("edges", torch.tensor(edges, dtype=torch.float32), persistent=False)
        weights = torch.tensor(config.band_weights, dtype=torch.float32)
        self.register_buffer("weights", weights, persistent=False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred, target = pred.float(), target.float()
        if self.config.name == "mse":
            loss = F.mse_loss(pred, target)
        elif self.config.name == "huber":
            loss = F.huber_loss(pred, target, delta=self.config.huber_delta)
        else:
            weight = self.weights[torch.bucketize(target, self.edges)]
            loss = (weight * (pred - target).square()).sum() / weight.sum()
        if self.config.rank_weight > 0:
            loss = loss + self.config.rank_weight * pairwise_rank_loss(pred, target)
        return loss


def pairwise_rank_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """RankNet over every ordered pair in the batch, in units of the batch's target spread."""
    scale = target.std().clamp_min(1e-6).detach()
    diff_pred = (pred[:, None] - pred[None, :]) / scale
    better = target[:, None] > target[None, :]
    if not better.any():
        return pred.sum() * 0.0
    return F.softplus(-diff_pred[better]).mean()
