"""Training throughput of the like regressor: images/s and model FLOPs utilisation (MFU).

SigLIP2-base (the `google/siglip2-base-patch16-224` vision config, random weights) at 224 px with a
linear head, full fine-tuning. Four loops in one run:
  plain       fp32, eager, foreach AdamW, no TF32             (the baseline)
  bf16        bf16 autocast + fused AdamW + TF32
  compiled    bf16 + torch.compile
  end-to-end  compiled, fed by a DataLoader whose workers decode and resize JPEGs from a temp dir
MFU = achieved training FLOP/s (counted by torch's FlopCounterMode on one step) / peak (989 TFLOP/s
bf16 dense, H100 SXM). Needs only torch, transformers, pillow, numpy.

    python benchmarks/train.py                          # GPU: batch 256, 30 timed steps
    python benchmarks/train.py --device cpu --steps 3   # smoke test: tiny model, tiny images
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from trainers.model import LikeRegressor, RegressorConfig  # noqa: E402

H100_BF16_DENSE_TFLOPS = 989.0


def siglip2_base_config(tiny: bool) -> dict:
    from transformers import SiglipVisionConfig

    if tiny:
        return SiglipVisionConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                  num_attention_heads=2, image_size=64, patch_size=16).to_dict()
    return SiglipVisionConfig(image_size=224, patch_size=16).to_dict()  # the base defaults


def make_model(args: argparse.Namespace, device: str) -> LikeRegressor:
    torch.manual_seed(0)
    config = RegressorConfig(backbone="google/siglip2-base-patch16-224", image_size=args.image_size,
                             backbone_config=siglip2_base_config(args.tiny), transform="cbrt*log")
    return LikeRegressor(config).to(device)


def flops_per_image(model: LikeRegressor, image_size: int, device: str) -> float:
    """Forward + backward FLOPs of one training step, per image (FlopCounterMode, batch 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    images = torch.rand(2, 3, image_size, image_size, device=device)
    counter = FlopCounterMode(display=False)
    with counter:
        model(images).float().square().mean().backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / 2


class JpegFolder(torch.utils.data.Dataset):
    """Synthetic JPEG files, decoded and resized to uint8 tensors in DataLoader workers."""

    def __init__(self, folder: Path, size: int, length: int) -> None:
        self.files, self.size, self.length = sorted(folder.glob("*.jpg")), size, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        with Image.open(self.files[index % len(self.files)]) as image:
            image.draft("RGB", (self.size, self.size))
            rgb = image.convert("RGB").resize((self.size, self.size), Image.Resampling.BICUBIC)
        pixels = torch.from_numpy(np.asarray(rgb).copy()).permute(2, 0, 1)
        return pixels, torch.tensor(20.0 + index % 7)


def write_jpegs(folder: Path, count: int, side: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(count):
        base = rng.integers(0, 255, (side // 8, side // 8, 3), dtype=np.uint8)
        image = Image.fromarray(base).resize((side, side + side // 4), Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        (folder / f"{i:05d}.jpg").write_bytes(buffer.getvalue())


def synthetic_batches(batch: int, size: int, device: str):
    images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, device=device)
    target = torch.full((batch,), 25.0, device=device)
    while True:
        yield images, target


def loader_batches(folder: Path, batch: int, size: int, workers: int, device: str, steps: int):
    dataset = JpegFolder(folder, size, batch * steps)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, num_workers=workers, shuffle=False,
                                         pin_memory=device.startswith("cuda"), drop_last=True,
                                         persistent_workers=False, prefetch_factor=4 if workers else None)
    for images, target in loader:
        yield images.to(device, non_blocking=True), target.to(device, non_blocking=True)


def run_loop(mode: str, args: argparse.Namespace, device: str, batches) -> float:
    """Train `warmup + steps` steps; return images/s over the timed steps."""
    cuda = device.startswith("cuda")
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = mode != "plain"
    model = make_model(args, device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=cuda and mode != "plain")
    step_model = torch.compile(model) if mode in ("compiled", "end-to-end") else model
    autocast = mode != "plain"
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
        images, target = next(batches)
        with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=autocast):
            loss = torch.nn.functional.mse_loss(step_model(images).float(), target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.synchronize()
    return args.batch_size * args.steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description="Like-regressor training throughput and MFU.")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=None, help="256 on GPU, 4 on CPU.")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=None, help="Untimed steps (compile happens here).")
    parser.add_argument("--workers", type=int, default=12, help="JPEG-decoding DataLoader workers.")
    parser.add_argument("--peak-tflops", type=float, default=H100_BF16_DENSE_TFLOPS)
    parser.add_argument("--modes", default="plain,bf16,compiled,end-to-end")
    parser.add_argument("--tiny", action=argparse.BooleanOptionalAction, default=None,
                        help="Tiny model and 64 px images (default on CPU).")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = parser.parse_args()
    cpu = args.device == "cpu"
    args.tiny = cpu if args.tiny is None else args.tiny
    args.image_size = 64 if args.tiny else 224
    args.batch_size = args.batch_size or (4 if cpu else 256)
    args.warmup = args.warmup if args.warmup is not None else (1 if cpu else 10)
    modes = args.modes.split(",")
    if cpu and any(m in ("compiled", "end-to-end") for m in modes):
        print("note: torch.compile on CPU needs a C++ toolchain and minutes; it is measured all the same")
    flops = flops_per_image(make_model(args, args.device), args.image_size, args.device)
    name = "tiny SigLIP" if args.tiny else "SigLIP2-base"
    device_name = torch.cuda.get_device_name(args.device) if not cpu else "cpu"
    print(f"{name} @ {args.image_size}px, batch {args.batch_size}, {args.steps} timed steps on "
          f"{device_name}; {flops / 1e9:.2f} GFLOP per training image; peak {args.peak_tflops:g} TFLOP/s")
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            if mode == "end-to-end":
                write_jpegs(Path(tmp), 256, 2 * args.image_size)
                batches = loader_batches(Path(tmp), args.batch_size, args.image_size, args.workers,
                                         args.device, args.warmup + args.steps)
            else:
                batches = synthetic_batches(args.batch_size, args.image_size, args.device)
            rates[mode] = run_loop(mode, args, args.device, batches)
            if args.device.startswith("cuda"):
                torch.cuda.empty_cache()
    print(f"{'loop':<12} {'images/s':>10} {'TFLOP/s':>9} {'MFU':>7} {'vs plain':>9}")
    for mode, rate in rates.items():
        tflops = rate * flops / 1e12
        versus = f"{rate / rates['plain']:.2f}x" if "plain" in rates else "-"
        print(f"{mode:<12} {rate:>10,.1f} {tflops:>9.2f} {tflops / args.peak_tflops:>7.1%} {versus:>9}")
    both = {"end-to-end", "compiled"} <= rates.keys()
    loop_ratio = rates["end-to-end"] / rates["compiled"] if both else None
    if loop_ratio is not None:
        print(f"end-to-end / compiled model step: {loop_ratio:.1%}")
    if args.json:
        mfu = {mode: rate * flops / 1e12 / args.peak_tflops for mode, rate in rates.items()}
        args.json.write_text(json.dumps({
            "device": device_name, "model": name, "image_size": args.image_size, "batch": args.batch_size,
            "steps": args.steps, "gflop_per_image": flops / 1e9, "peak_tflops": args.peak_tflops,
            "images_per_s": rates, "mfu": mfu, "loop_ratio": loop_ratio}, indent=2))


if __name__ == "__main__":
    main()
