"""Loss options: MSE, Huber, band-reweighted MSE with like-band edges, pairwise ranking term."""

from __future__ import annotations

import pytest
import torch

from curation.errors import CurationError
from curation.transforms import get_transform
from trainers.losses import LossConfig, RegressionLoss, pairwise_rank_loss


def targets(*likes: float) -> torch.Tensor:
    return torch.tensor(get_transform("cbrt*log").forward(list(likes)), dtype=torch.float32)


def test_mse_and_huber_match_torch():
    pred, target = torch.tensor([1.0, 5.0]), torch.tensor([2.0, 1.0])
    assert RegressionLoss(LossConfig("mse"), "cbrt*log")(pred, target).item() == pytest.approx(8.5)
    assert RegressionLoss(LossConfig("huber", huber_delta=1.0), "cbrt*log")(pred, target).item() == \
        pytest.approx((0.5 + 3.5) / 2)


def test_band_mse_weighs_errors_by_the_true_like_band():
    target = targets(100, 5_000)
    pred = target - 1.0
    loss = RegressionLoss(LossConfig("band-mse", band_weights=(1, 1, 3, 9)), "cbrt*log")
    assert loss(pred, target).item() == pytest.approx(1.0)
    pred_low_wrong = target - torch.tensor([2.0, 0.0])
    assert loss(pred_low_wrong, target).item() == pytest.approx(4 * 1 / 4)


def test_rank_term_prefers_correctly_ordered_predictions():
    target = targets(10, 1_000, 30_000)
    assert pairwise_rank_loss(target, target) < pairwise_rank_loss(target.flip(0), target)
    with_rank = RegressionLoss(LossConfig("mse", rank_weight=2.0), "cbrt*log")
    assert with_rank(target, target).item() == pytest.approx(2 * pairwise_rank_loss(target, target).item())


def test_unknown_loss_is_a_clear_error():
    with pytest.raises(CurationError, match="unknown loss"):
        RegressionLoss(LossConfig("l1"), "log1p")
