"""The training loop, nanoGPT style: one readable function, bf16 autocast and fused AdamW on CUDA,
warm-up + cosine learning rate, gradient clipping and accumulation, optional torch.compile,
safetensors checkpoints with exact resume, and DDP when launched by `torchrun` (WORLD_SIZE > 1).
"""

from __future__ import annotations

import json
import math
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.markup import escape

from trainers.checkpoint import latest_checkpoint, load_checkpoint, prune_checkpoints, save_checkpoint
from trainers.data import LikeImageStream, make_loader
from trainers.losses import LossConfig, RegressionLoss
from trainers.model import LikeRegressor, RegressorConfig
from trainers.retransform import DEFAULT_RMSE_BUDGET, check_aim

console = Console(stderr=True)


@dataclass
class TrainConfig:
    data: str
    out_dir: Path
    model: RegressorConfig = field(default_factory=RegressorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    pretrained: bool = True
    image_column: str | None = None  # None: `image`, else `image_path` (trainers.data.IMAGE_COLUMNS)
    like_column: str = "like_count"
    batch_size: int = 64
    grad_accum: int = 1
    max_steps: int = 1000
    lr: float = 1e-5
    head_lr: float | None = None
    min_lr: float = 1e-6
    warmup_steps: int = 100
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    checkpoint_every: int = 500
    keep_steps: tuple[int, ...] = ()
    keep_last: int = 1
    resume: bool = True
    compile: bool = False
    device: str | None = None
    dist_backend: str | None = None  # None: nccl on CUDA, gloo on CPU; gloo also runs 2 ranks on one GPU
    num_workers: int = 4
    shuffle_buffer: int = 1024
    seed: int = 0
    log_every: int = 10
    crop: bool = False
    init_head_bias: bool = True
    calibrate_data: str | None = None
    calibrate_method: str = "retransform"  # or "tail-stretch" (trainers.calibration.METHODS)
    calibrate_cut: float = 0.5
    calibrate_aim: float | None = None  # retransform: fraction of E[likes | prediction] aimed at
    calibrate_rmse_budget: float = DEFAULT_RMSE_BUDGET  # retransform without an aim: chooses it
    calibrate_band: tuple[float, float] = (2_000.0, 20_000.0)

    def __post_init__(self) -> None:
        check_aim(self.calibrate_aim, self.calibrate_rmse_budget)  # now, not after the training


def lr_at(step: int, config: TrainConfig, base_lr: float) -> float:
    """Linear warm-up to base_lr, then cosine decay to min_lr at max_steps."""
    if step < config.warmup_steps:
        return base_lr * (step + 1) / config.warmup_steps
    progress = min(1.0, (step - config.warmup_steps) / max(1, config.max_steps - config.warmup_steps))
    return config.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (base_lr - config.min_lr)


def make_optimizer(model: LikeRegressor, config: TrainConfig, fused: bool) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices only; the head may get its own learning rate."""
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            groups.setdefault((name.startswith("head."), param.dim() >= 2), []).append(param)
    param_groups = [{"params": params, "weight_decay": config.weight_decay if decay else 0.0,
                     "base_lr": (config.head_lr or config.lr) if is_head else config.lr}
                    for (is_head, decay), params in sorted(groups.items())]
    return torch.optim.AdamW(param_groups, lr=config.lr, betas=(0.9, 0.95), fused=fused)


class _Batches:
    """Endless batches across epochs, remembering (epoch, batches done) for checkpoints."""

    def __init__(self, dataset: LikeImageStream, config: TrainConfig, pin: bool, epoch: int = 0,
                 done: int = 0) -> None:
        self.dataset, self.config, self.pin = dataset, config, pin
        self.epoch, self.done, self.iterator = epoch, done, None

    def __next__(self) -> dict[str, torch.Tensor]:
        while True:
            if self.iterator is None:
                self.dataset.resume_at(self.epoch, self.done, self.config.batch_size)
                loader = make_loader(self.dataset, self.config.batch_size, self.config.num_workers, self.pin,
                                     seed=self.config.seed + self.epoch)
                self.iterator = iter(loader)
            try:
                batch = next(self.iterator)
                self.done += 1
                return batch
            except StopIteration:
                if self.done == 0:
                    raise self.dataset.no_samples_error() from None
                self.epoch, self.done, self.iterator = self.epoch + 1, 0, None


def _distributed(backend: str | None) -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 0, 1
    import torch.distributed as dist

    dist.init_process_group(backend=backend or ("nccl" if torch.cuda.is_available() else "gloo"))
    return dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")), world


def train(config: TrainConfig) -> dict[str, Any]:
    """Train (or resume) and return a summary: final step, last loss, checkpoint folder."""
    rank, local_rank, world = _distributed(config.dist_backend)
    device = training_device(config, local_rank)
    cuda = device.startswith("cuda")
    torch.manual_seed(config.seed)
    dataset = LikeImageStream(config.data, image_column=config.image_column, like_column=config.like_column,
                              transform=config.model.transform, image_size=config.model.image_size,
                              crop=config.crop, shuffle_buffer=config.shuffle_buffer, seed=config.seed,
                              rank=rank, world_size=world)  # its column check comes before the model loads
    held_out = held_out_stream(config) if config.calibrate_data is not None else None  # on every rank
    model = LikeRegressor(config.model, pretrained=config.pretrained).to(device)
    optimizer = make_optimizer(model, config, fused=cuda)
    loss_fn = RegressionLoss(config.loss, config.model.transform).to(device)
    ckpt_root = Path(config.out_dir) / "checkpoints"
    resume_from = latest_checkpoint(ckpt_root) if config.resume else None
    step, batches = start_or_resume(resume_from, model, optimizer, dataset, config, cuda)
    forward = torch.compile(model) if config.compile else model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        forward = DistributedDataParallel(forward, device_ids=[local_rank] if cuda else None)
    if rank == 0:
        write_settings(config)
        console.print(f"training on {device} x{world}: step {step} -> {config.max_steps}"
                      + (f" (resumed from {resume_from.name})" if resume_from else ""))
    log_path = Path(config.out_dir) / "train_log.jsonl"
    last_loss, tick, seen = float("nan"), time.perf_counter(), 0
    model.train()
    while step < config.max_steps:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, config, group["base_lr"])
        total, images = accumulate_gradients(forward, loss_fn, batches, config, device, distributed=world > 1)
        seen += images
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        if step % config.log_every == 0 or step == config.max_steps:
            elapsed, tick = time.perf_counter() - tick, time.perf_counter()
            last_loss = log_progress(step, total, optimizer.param_groups[0]["lr"], seen * world / elapsed,
                                     world, log_path if rank == 0 else None)
            seen = 0
        if rank == 0 and (step % config.checkpoint_every == 0 or step == config.max_steps):
            save_checkpoint(ckpt_root, step, model, optimizer,
                            {"epoch": batches.epoch, "done": batches.done, "world_size": world,
                             "model": config.model.to_dict()})
            prune_checkpoints(ckpt_root, set(config.keep_steps) | {config.max_steps}, config.keep_last)
    if world > 1:
        torch.distributed.destroy_process_group()
    checkpoint = latest_checkpoint(ckpt_root)
    if rank == 0 and held_out is not None:
        calibrate(model, config, held_out, device, [Path(config.out_dir), checkpoint])
    return {"step": step, "loss": last_loss, "checkpoint": str(checkpoint), "model": model}


def start_or_resume(resume_from: Path | None, model: LikeRegressor, optimizer, dataset, config: TrainConfig,
                    cuda: bool) -> tuple[int, _Batches]:
    """(step, batches) from the checkpoint `resume_from`, or a fresh start whose head bias is set to
    the first batch's mean target (with `config.init_head_bias`)."""
    state = {"step": 0, "epoch": 0, "done": 0}
    if resume_from is not None:
        state = load_checkpoint(resume_from, model, optimizer)
    batches = _Batches(dataset, config, cuda, state["epoch"], state["done"])
    if resume_from is None and config.init_head_bias:
        first = next(batches)
        batches = _Batches(dataset, config, cuda)
        with torch.no_grad():
            model.head[-1].bias.fill_(float(first["target"].float().mean()))
    return state["step"], batches


def training_device(config: TrainConfig, local_rank: int) -> str:
    """The configured device, else this rank's GPU, else the CPU; TF32 matmuls on CUDA."""
    device = config.device or (f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    return device


def write_settings(config: TrainConfig) -> None:
    Path(config.out_dir).mkdir(parents=True, exist_ok=True)
    settings = json.dumps(asdict(config), default=str, indent=2)
    (Path(config.out_dir) / "train_config.json").write_text(settings)


def accumulate_gradients(forward, loss_fn, batches, config: TrainConfig, device: str,
                         distributed: bool) -> tuple[torch.Tensor, int]:
    """The micro-batches of one optimiser step, forward and backward under bf16 autocast on CUDA (DDP
    syncs gradients on the last one only): (their summed loss, images seen)."""
    total, seen = torch.zeros((), device=device), 0
    for micro in range(config.grad_accum):
        batch = next(batches)
        pixels = batch["pixels"].to(device, non_blocking=True)
        target = batch["target"].to(device, non_blocking=True)
        sync = not distributed or micro == config.grad_accum - 1
        with (torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda")),
              forward.no_sync() if not sync else nullcontext()):
            loss = loss_fn(forward(pixels), target) / config.grad_accum
            loss.backward()
        total += loss.detach()
        seen += len(pixels)
    return total, seen


def log_progress(step: int, total: torch.Tensor, lr: float, images_per_s: float, world: int,
                 log_path: Path | None) -> float:
    """The loss of the global batch (averaged over DDP ranks), printed and appended to `log_path`
    (rank 0's); returns it."""
    if world > 1:
        torch.distributed.all_reduce(total)
        total /= world
    record = {"step": step, "loss": float(total), "lr": lr, "images_per_s": images_per_s}
    if log_path is not None:
        console.print(" ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in record.items()))
        with log_path.open("a") as log_file:
            log_file.write(json.dumps(record) + "\n")
    return record["loss"]


def held_out_stream(config: TrainConfig) -> LikeImageStream:
    """The calibration posts, opened and checked before training so that a wrong path or column
    fails at once rather than after the run."""
    held_out = LikeImageStream(config.calibrate_data, image_column=config.image_column,
                               like_column=config.like_column, transform=config.model.transform,
                               image_size=config.model.image_size, crop=config.crop)
    held_out.check_source()
    return held_out


def calibrate(model: LikeRegressor, config: TrainConfig, held_out: LikeImageStream, device: str,
              folders: list[Path | None]) -> None:
    """Fit the calibration on held-out posts, attach it to the model, write calibration.json."""
    from trainers.calibration import (
        attach_calibration,
        describe_calibration,
        fit_tail_stretch,
        save_calibration,
    )
    from trainers.evaluate import predict
    from trainers.retransform import fit_retransform, held_out_sum_noise

    attach_calibration(model, None)
    pred, target = predict(model, make_loader(held_out, config.batch_size, config.num_workers), device)
    if config.calibrate_method == "tail-stretch":
        calibration = fit_tail_stretch(pred, target, config.model.transform, cut=config.calibrate_cut,
                                       band=config.calibrate_band)
    else:
        calibration = fit_retransform(pred, target, config.model.transform,
                                      bins=max(1, min(20, len(pred) // 2)), aim=config.calibrate_aim,
                                      rmse_budget=config.calibrate_rmse_budget)
    attach_calibration(model, calibration)
    for folder in folders:
        if folder is not None:
            save_calibration(calibration, folder)
    console.print(f"calibrated on {len(pred):,} held-out posts: {escape(describe_calibration(calibration))}")
    if config.calibrate_method != "tail-stretch":
        noise = held_out_sum_noise(pred, target, calibration)
        console.print(f"the held-out sum of likes is known to +-{noise:.1%} (1 sd), and so is the aim; "
                      "four times the held-out posts halve that")
