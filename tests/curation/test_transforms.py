"""Target transforms: forward values, exact round trips on 0..1e7, domain errors, user registry."""

from __future__ import annotations

import numpy as np
import pytest

from curation.transforms import (
    TransformDomainError,
    available_transforms,
    get_transform,
    register_transform,
)

BUILT_IN = ("log1p", "sqrt*log", "cbrt*log")


def test_forward_matches_the_seed_formulas():
    x = np.array([0.0, 85.0, 2_000.0])
    assert np.allclose(get_transform("log1p").forward(x), np.log1p(x))
    assert np.allclose(get_transform("sqrt*log").forward(x), np.sqrt(x) * np.log(x + 10))
    assert np.allclose(get_transform("cbrt*log").forward(x), np.power(x + 1, 1 / 3) * np.log(x + 10))
    assert get_transform("cbrt*log").floor == pytest.approx(2.302585, abs=1e-6)  # the seed's min 2.30


@pytest.mark.parametrize("name", BUILT_IN)
def test_round_trip_from_zero_to_ten_million(name):
    likes = np.concatenate([[0.0, 1e-4, 0.5, 1.0, 3.0], np.geomspace(1, 1e7, 20_000), np.arange(0, 500)])
    recovered = get_transform(name).inverse(get_transform(name).forward(likes))
    assert np.all(np.abs(recovered - likes) <= 1e-6 * np.maximum(likes, 1.0))


def test_inverse_keeps_the_input_shape():
    t = get_transform("cbrt*log")
    grid = np.array([[1.0, 10.0], [100.0, 1e6]])
    assert t.inverse(t.forward(grid)).shape == (2, 2)


@pytest.mark.parametrize("name", BUILT_IN)
def test_negative_likes_and_targets_below_f0_are_rejected(name):
    t = get_transform(name)
    with pytest.raises(TransformDomainError, match=">= 0"):
        t.forward([3.0, -1.0])
    with pytest.raises(TransformDomainError, match="f\\(0\\)"):
        t.inverse([t.floor - 0.5])
    with pytest.raises(TransformDomainError, match="finite"):
        t.inverse([np.nan])


def test_torch_forward_matches_numpy_and_is_differentiable():
    torch = pytest.importorskip("torch")
    x = torch.tensor([0.0, 85.0, 20_000.0], dtype=torch.float64, requires_grad=True)
    for name in BUILT_IN:
        y = get_transform(name).torch_forward(x)
        assert np.allclose(y.detach().numpy(), get_transform(name).forward(x.detach().numpy()))
    y.sum().backward()
    assert torch.all(x.grad > 0)


def test_user_transform_is_inverted_numerically():
    t = register_transform("test-log-squared", lambda x: np.log1p(x) ** 2 + np.log1p(x), replace=True)
    likes = np.array([0.0, 7.0, 123_456.0])
    assert np.allclose(t.inverse(t.forward(likes)), likes, rtol=1e-9, atol=1e-9)
    assert "test-log-squared" in available_transforms()


def test_user_transform_is_inverted_beyond_a_quadrillion_likes_and_where_its_forward_overflows():
    slow = register_transform("test-log", np.log1p, replace=True)
    assert slow.inverse([40.0])[0] == pytest.approx(np.expm1(40.0), rel=1e-9)  # 2.4e17 likes
    fast = register_transform("test-power", lambda x: x**25 + x, replace=True)  # inf from 1e13 likes
    likes = np.array([0.0, 0.5, 300.0, 7e6])
    assert np.allclose(fast.inverse(fast.forward(likes)), likes, rtol=1e-9, atol=1e-9)


def test_non_increasing_user_transform_is_refused():
    from curation.errors import CurationError

    with pytest.raises(CurationError, match="strictly increasing"):
        register_transform("test-bad", lambda x: -x, replace=True)
    with pytest.raises(CurationError, match="unknown transform"):
        get_transform("nope")
