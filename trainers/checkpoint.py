"""Training checkpoints without pickle: model and optimizer tensors in safetensors, the rest in JSON.

Layout: <run>/checkpoints/step_0009600/{model.safetensors, optimizer.safetensors, state.json}.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, load_model, save_file, save_model

from curation.errors import CurationError


def step_dir(root: Path, step: int) -> Path:
    return root / f"step_{step:07d}"


def latest_checkpoint(root: Path) -> Path | None:
    """The highest-step complete checkpoint under root, if any."""
    done = sorted(p for p in root.glob("step_*") if (p / "state.json").exists())
    return done[-1] if done else None


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    state = optimizer.state_dict()
    tensors = {f"state.{index}.{key}": value.detach().cpu().contiguous()
               for index, slots in state["state"].items() for key, value in slots.items()
               if isinstance(value, torch.Tensor)}
    return tensors, {"param_groups": state["param_groups"]}


def _rng_tensors() -> dict[str, torch.Tensor]:
    tensors = {"rng.cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors.update({f"rng.cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    return tensors


def save_checkpoint(root: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    state: dict[str, Any]) -> Path:
    """Write to a temporary folder, then rename, so a crash never leaves a half checkpoint."""
    final, tmp = step_dir(root, step), root / f".tmp_step_{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_model(model, str(tmp / "model.safetensors"))
    tensors, groups = _optimizer_tensors(optimizer)
    save_file({**tensors, **_rng_tensors()}, str(tmp / "optimizer.safetensors"))
    (tmp / "state.json").write_text(json.dumps({**state, "step": step, **groups}, indent=2))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None) -> dict:
    """Restore weights, optimizer slots and RNG state; return the JSON state (step, epoch, ...)."""
    if not (path / "state.json").exists():
        raise CurationError(f"{path}: not a checkpoint (no state.json)")
    state = json.loads((path / "state.json").read_text())
    load_model(model, str(path / "model.safetensors"))
    tensors = load_file(str(path / "optimizer.safetensors"))
    if optimizer is not None:
        slots: dict[int, dict[str, torch.Tensor]] = {}
        for name, value in tensors.items():
            if name.startswith("state."):
                _, index, key = name.split(".", 2)
                slots.setdefault(int(index), {})[key] = value
        optimizer.load_state_dict({"state": slots, "param_groups": state["param_groups"]})
    torch.set_rng_state(tensors["rng.cpu"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda_states)
    return state


def prune_checkpoints(root: Path, keep_steps: set[int], keep_last: int) -> None:
    """Delete checkpoints except the chosen steps and the newest `keep_last`."""
    done = sorted(p for p in root.glob("step_*") if (p / "state.json").exists())
    newest = set(done[-keep_last:]) if keep_last > 0 else set()
    for path in done:
        if path not in newest and int(path.name.removeprefix("step_")) not in keep_steps:
            shutil.rmtree(path)
