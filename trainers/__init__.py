"""The like-count regressor: model, streaming data, losses, training loop, evaluation, export.

Exported here (imported on first use): `TrainConfig`, the settings `trainers.train.train` (what
`curate likes train` runs) takes; `load_regressor(folder)` for an exported model; `Reward(folder)`,
the differentiable reward for image generators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from curation.lazy_exports import lazy_getattr

_EXPORTS = {
    "TrainConfig": "trainers.train",
    "load_regressor": "trainers.export",
    "Reward": "trainers.export",
}
__all__ = ["Reward", "TrainConfig", "load_regressor"]
__getattr__ = lazy_getattr(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from trainers.export import Reward, load_regressor
    from trainers.train import TrainConfig
