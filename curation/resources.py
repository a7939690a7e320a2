"""What a stage needs to run, declared on the stage, and what a shard worker therefore asks for.

A stage may declare `resources = Resources(cpus=..., gpus=..., memory_mb=...)`; a stage with only
`needs_gpu = True` needs one GPU (or the share `--gpus-per-worker` gives). A shard worker runs every
map stage of a run, so it asks for the most CPUs and GPUs any stage needs and the memory of all of
them (models stay loaded). A stage may also have `setup()`, which each worker calls once, after
building its stages and before its first shard (load a model, open a client), so that the cost is
paid per worker rather than per shard or batch; it must be safe to call again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Resources:
    cpus: float = 1.0
    gpus: float = 0.0  # > 0: the stage needs a GPU; the engine may give it a share instead
    memory_mb: int = 0  # 0: not declared

    @property
    def needs_gpu(self) -> bool:
        return self.gpus > 0


def resources_of(stage: Any) -> Resources:
    """A stage's declared `resources`, else one CPU, and a GPU when it sets `needs_gpu`."""
    declared = getattr(stage, "resources", None)
    if isinstance(declared, Resources):
        return declared
    return Resources(gpus=1.0 if getattr(stage, "needs_gpu", False) else 0.0)


def worker_resources(stages: Sequence[Any]) -> Resources:
    """What one worker running all of `stages` needs."""
    needs = [resources_of(stage) for stage in stages] or [Resources()]
    return Resources(cpus=max(n.cpus for n in needs), gpus=max(n.gpus for n in needs),
                     memory_mb=sum(n.memory_mb for n in needs))


def set_up(stages: Sequence[Any]) -> None:
    """Call each stage's `setup()` (once per worker), where it has one."""
    for stage in stages:
        setup = getattr(stage, "setup", None)
        if callable(setup):
            setup()
