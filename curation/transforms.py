"""Target transforms for like counts: forward maps, exact inverses, and a registry for new ones.

A transform maps a like count x >= 0 to a training target f(x). Every transform here is strictly
increasing on [0, inf), so its inverse is unique; where no closed form exists the inverse is found by
a vectorised bracketing root-finder (scipy's Chandrupatla solver) to 1e-10 relative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import elementwise

from curation.errors import CurationError

ArrayFn = Callable[[np.ndarray], np.ndarray]


class TransformDomainError(CurationError):
    """A value lies outside a transform's domain (negative likes, or a target below f(0))."""


@dataclass(frozen=True)
class Transform:
    """A strictly increasing map from like counts to targets, with its inverse."""

    name: str
    forward_fn: ArrayFn
    inverse_fn: ArrayFn | None = None
    torch_fn: Callable[[Any], Any] | None = None
    description: str = ""

    @property
    def floor(self) -> float:
        """f(0): the smallest target the transform produces."""
        return float(self.forward_fn(np.zeros(1))[0])

    def forward(self, likes: Any) -> np.ndarray:
        """Map like counts (array-like, >= 0) to targets."""
        values = np.asarray(likes, dtype=np.float64)
        _check_finite(values, "like count")
        if np.any(values < 0):
            bad = values[values < 0][0]
            raise TransformDomainError(f"{self.name}: like counts must be >= 0, got {bad:g}")
        return self.forward_fn(values)

    def inverse(self, targets: Any) -> np.ndarray:
        """Map targets back to like counts; exact where a closed form exists, else root-finding."""
        values = np.asarray(targets, dtype=np.float64)
        _check_finite(values, "target")
        floor = self.floor
        below = values < floor - 1e-12 * max(1.0, abs(floor))
        if np.any(below):
            raise TransformDomainError(
                f"{self.name}: targets must be >= f(0) = {floor:g}, got {values[below][0]:g}")
        values = np.maximum(values, floor)
        if self.inverse_fn is not None:
            return np.maximum(self.inverse_fn(values), 0.0)
        return _invert_increasing(self.forward_fn, values)

    def torch_forward(self, likes: Any) -> Any:
        """Forward on a torch tensor (differentiable); falls back to numpy for user transforms."""
        if self.torch_fn is not None:
            return self.torch_fn(likes)
        import torch

        return torch.as_tensor(self.forward(likes.detach().cpu().numpy()), dtype=likes.dtype,
                               device=likes.device)


def _check_finite(values: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(values)):
        raise TransformDomainError(f"every {what} must be a finite number (found NaN or infinity)")


def _invert_increasing(forward: ArrayFn, targets: np.ndarray) -> np.ndarray:
    """Solve forward(x) = y for x >= 0, element-wise, for a strictly increasing forward."""
    shape = targets.shape
    flat = targets.ravel()
    if flat.size == 0:
        return flat.reshape(shape)

    def residual(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return forward(x) - y

    low, high = _grid_brackets(forward, flat)
    beyond = np.isnan(high)
    if np.any(beyond):
        bracket = elementwise.bracket_root(residual, low[beyond], low[beyond] + 1.0, xmin=low[beyond],
                                           args=(flat[beyond],), maxiter=2000)
        if not np.all(bracket.success):
            raise TransformDomainError(f"could not bracket {int((~bracket.success).sum())} target(s)")
        low[beyond], high[beyond] = bracket.bracket
    root = elementwise.find_root(residual, (low, high), args=(flat,),
                                 tolerances={"xrtol": 1e-12, "xatol": 1e-12, "fatol": 0.0, "frtol": 0.0})
    return np.maximum(root.x, 0.0).reshape(shape)


_BRACKET_GRID = np.concatenate([[0.0], np.geomspace(1e-9, 1e15, 1537)])


def _grid_brackets(forward: ArrayFn, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Brackets [low, high] of each root from the forward map on a fixed log grid of like counts (a
    narrow start, so the root-finder needs a few steps); high is NaN above the grid's last value."""
    with np.errstate(all="ignore"):
        values = forward(_BRACKET_GRID)
    usable = np.isfinite(values) & (np.maximum.accumulate(values) == values)
    grid, values = _BRACKET_GRID[usable], values[usable]
    index = np.searchsorted(values, targets, side="left")
    low = np.where(index > 0, grid[np.maximum(index - 1, 0)], 0.0)
    high = np.where(index < len(grid), grid[np.minimum(index, len(grid) - 1)], np.nan)
    return low, high


def _torch_log1p(x: Any) -> Any:
    import torch

    return torch.log1p(x)


def _torch_sqrt_log(x: Any) -> Any:
    import torch

    return torch.sqrt(x) * torch.log(x + 10)


def _torch_cbrt_log(x: Any) -> Any:
    import torch

    return torch.pow(x + 1, 1 / 3) * torch.log(x + 10)


_REGISTRY: dict[str, Transform] = {}


def register_transform(name: str, forward: ArrayFn, inverse: ArrayFn | None = None, *,
                       torch_forward: Callable[[Any], Any] | None = None, description: str = "",
                       replace: bool = False) -> Transform:
    """Add a strictly increasing transform; without `inverse` it is inverted numerically."""
    if name in _REGISTRY and not replace:
        raise CurationError(f"transform '{name}' is already registered (pass replace=True to override)")
    transform = Transform(name, forward, inverse, torch_forward, description)
    probe = transform.forward_fn(np.array([0.0, 1.0, 10.0, 1e3, 1e6]))
    if not np.all(np.diff(probe) > 0):
        raise CurationError(f"transform '{name}' is not strictly increasing on [0, inf)")
    _REGISTRY[name] = transform
    return transform


def get_transform(name: str) -> Transform:
    """Look up a registered transform by name ('log1p', 'sqrt*log', 'cbrt*log', ...)."""
    key = _ALIASES.get(name, name)
    if key not in _REGISTRY:
        raise CurationError(f"unknown transform '{name}'; known: {', '.join(available_transforms())}")
    return _REGISTRY[key]


def available_transforms() -> list[str]:
    """Names of every registered transform, built-ins first."""
    return list(_REGISTRY)


register_transform("log1p", np.log1p, np.expm1, torch_forward=_torch_log1p,
                   description="log(x + 1): close to bell-shaped")
register_transform("sqrt*log", lambda x: np.sqrt(x) * np.log(x + 10), torch_forward=_torch_sqrt_log,
                   description="sqrt(x) * log(x + 10)")
register_transform("cbrt*log", lambda x: np.cbrt(x + 1) * np.log(x + 10), torch_forward=_torch_cbrt_log,
                   description="cbrt(x + 1) * log(x + 10): stretches the 200-20k band")
_ALIASES = {"sqrt_log": "sqrt*log", "cbrt_log": "cbrt*log", "sqrtxlog": "sqrt*log", "cbrtxlog": "cbrt*log"}
