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
    python benchmarks/train.py --loader 300             # the loader alone: originals vs prepared copies

`--loader N` measures what feeds the model instead: the training loader's decode + resize to 224 px
(trainers.data.decode_image) in CPU-seconds, so images/s per core, over N social-media-sized images
(JPEG from 1200x1600 to 2048x2048, 15% progressive, 10% PNG), then over their prepared copies
(`curate likes prepare`: 256 px short side, JPEG q95 4:4:4), with the PSNR of copy against original
at 224 px.
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


def social_media_images(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """JPEGs from 1200x1600 to 2048x2048 (15% progressive) and 10% PNGs: gradients, blocks, noise."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        width = int(rng.choice([1200, 1536, 2048]))
        height = 2048 if width == 2048 else int(width * 4 / 3)
        small = rng.integers(0, 255, (height // 64, width // 64, 3), dtype=np.uint8)
        base = np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC),
                          dtype=np.int16)
        picture = np.clip(base + rng.normal(0, 4, (height, width, 1)), 0, 255).astype(np.uint8)
        kind = "png" if i % 10 == 0 else "jpg"
        path = folder / f"{i:05d}.{kind}"
        options = {"quality": 90, "progressive": i % 20 in (1, 7, 13)} if kind == "jpg" else {}
        Image.fromarray(picture).save(path, **options)
        paths.append(path)
    return paths


def loader_rates(paths: list[Path], size: int) -> tuple[float, list[torch.Tensor]]:
    """Images per CPU-second of the training loader's decode + resize, one thread, and the pixels."""
    from trainers.data import decode_image

    torch.set_num_threads(1)
    started = time.process_time()
    pixels = [decode_image(str(path), size) for path in paths]
    return len(paths) / (time.process_time() - started), pixels


def loader_benchmark(count: int, size: int) -> dict:
    from trainers.prepare import prepare_image

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        originals = social_media_images(folder, count)
        copies = [folder / "copies" / f"{p.stem}.jpg" for p in originals]
        started = time.process_time()
        for original, copy in zip(originals, copies, strict=True):
            prepare_image(str(original), copy)
        prepare_rate = count / (time.process_time() - started)
        original_rate, original_pixels = loader_rates(originals, size)
        copy_rate, copy_pixels = loader_rates(copies, size)
        bytes_in = sum(p.stat().st_size for p in originals) / count
        bytes_out = sum(p.stat().st_size for p in copies) / count
    psnr = [10 * np.log10(255**2 / max(1e-9, ((a.double() - b.double()) ** 2).mean().item()))
            for a, b in zip(original_pixels, copy_pixels, strict=True)]
    return {"images": count, "size": size, "originals_per_core": original_rate, "copies_per_core": copy_rate,
            "prepare_per_core": prepare_rate, "median_psnr_db": float(np.median(psnr)),
            "mean_kib_original": bytes_in / 1024, "mean_kib_copy": bytes_out / 1024}


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
    parser.add_argument("--loader", type=int, default=0, metavar="N",
                        help="Only the loader: N originals vs their prepared copies, per CPU core.")
    args = parser.parse_args()
    if args.loader:
        figures = loader_benchmark(args.loader, 224)
        print(f"loader (decode + resize to 224 px), {figures['images']} images, per CPU core:")
        print(f"{'input':<34} {'images/s/core':>14} {'KiB/image':>10}")
        print(f"{'originals (1200x1600 to 2048^2)':<34} {figures['originals_per_core']:>14.1f} "
              f"{figures['mean_kib_original']:>10.0f}")
        print(f"{'prepared copies (256 px, q95 444)':<34} {figures['copies_per_core']:>14.1f} "
              f"{figures['mean_kib_copy']:>10.0f}")
        print(f"preparing the copies: {figures['prepare_per_core']:.1f} images/s/core; median PSNR of copy "
              f"vs original at 224 px: {figures['median_psnr_db']:.1f} dB")
        if args.json:
            args.json.write_text(json.dumps({"loader": figures}, indent=2))
        return
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
