"""Throughput of the model-backed post stages: end to end vs the model's forward pass alone.

    python benchmarks/posts.py                      # CPU, then CUDA when present
    python benchmarks/posts.py --devices cpu --images 48

End to end = JPEG files on disk -> decode + preprocess (CPU threads, or nvjpeg on the GPU) ->
ViT embedding -> zero-shot artwork, AI probe, protection and near-duplicate stages -> kept/rejected
Parquet, through the streaming engine. Forward only = `encode_image` on pre-made, pre-normalised
tensors already on the device, same batch size and precision (bf16 autocast on CUDA). Random weights
(`pretrained=None`): throughput does not depend on the weights. Every artwork class is kept and the
probe rejects nothing, so every image goes through every stage. The JPEGs are generated here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ALL_CLASSES = ("finished_illustration", "rough_sketch", "game_screenshot", "photo", "meme", "text_screenshot",
               "comic_page", "3d_render")
DEFAULTS = {"cpu": {"images": 48, "batch_size": 16, "engine_batch": 48},
            "cuda": {"images": 8192, "batch_size": 256, "engine_batch": 4096}}


def write_jpegs(folder: Path, count: int, width: int, height: int, seed: int = 0) -> list[Path]:
    """Distinct pictures: a gradient, a few solid rectangles and mild noise, saved at quality 90."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    noise = rng.normal(0, 3, (height, width, 3))

    def picture(i: int) -> Path:
        rng = np.random.default_rng([seed, i])
        angle = rng.uniform(0, 2 * np.pi)
        t = np.cos(angle) * x + np.sin(angle) * y
        start, end = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        image = start + (t - t.min())[..., None] / (np.ptp(t) + 1e-9) * (end - start) + noise
        for _ in range(5):
            top, left = rng.integers(0, height - 32), rng.integers(0, width - 32)
            image[top:top + rng.integers(16, height // 2), left:left + rng.integers(16, width // 2)] = \
                rng.uniform(0, 255, 3)
        path = folder / f"{i:06d}.jpg"
        Image.fromarray(image.clip(0, 255).astype(np.uint8)).save(path, quality=90)
        return path

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(picture, range(count)))


def random_probe(folder: Path, identity: str, dim: int) -> Path:
    """A real probe file with random weights and a threshold above 1: it scores, rejects nothing."""
    import numpy as np

    from filters.posts.probe import Probe, ProbeInfo

    rng = np.random.default_rng(0)
    info = ProbeInfo(classes=["ai", "human"], positive="ai", embedder=identity, threshold=1.1)
    probe = Probe(rng.normal(0, 1, (1, dim)).astype(np.float32), np.zeros(1, np.float32), info)
    return probe.save(folder / "ai_probe.safetensors")


def forward_only(bundle, batch_size: int, batches: int) -> float:
    """Images/s of `encode_image` on pre-made normalised tensors on the device."""
    import torch

    pixels = torch.randint(0, 256, (batch_size, 3, bundle.image_size, bundle.image_size), dtype=torch.uint8,
                           device=bundle.device)
    inputs = bundle.normalise(pixels)

    def step() -> None:
        with torch.inference_mode(), bundle.autocast():
            bundle.model.encode_image(inputs)

    for _ in range(2):
        step()
    synchronize(bundle.device)
    started = time.perf_counter()
    for _ in range(batches):
        step()
    synchronize(bundle.device)
    return batches * batch_size / (time.perf_counter() - started)


def synchronize(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def end_to_end(config, paths: list[Path], engine_batch: int, out: Path, probe: Path) -> tuple[float, dict]:
    """Images/s through the engine: decode, preprocess, embed and every model-backed filter."""
    import polars as pl

    from curation.engine import run
    from filters.posts.model_stages import build_model_stages

    config.ai_probe = probe
    stages = build_model_stages(config)
    posts = pl.DataFrame({"row_id": [p.stem for p in paths], "post_id": [p.stem for p in paths],
                          "like_count": list(range(len(paths))), "image_path": [str(p) for p in paths]})
    warm = posts.head(min(len(paths), config.batch_size))
    run([warm], build_model_stages(config), out / "warmup", progress=False)
    batches = [posts.slice(i, engine_batch) for i in range(0, posts.height, engine_batch)]
    started = time.perf_counter()
    manifest = run(batches, stages, out / "run", command="benchmarks/posts.py", progress=False)
    elapsed = time.perf_counter() - started
    return len(paths) / elapsed, {s.name: s.rejected for s in manifest.stages}


def bench_device(device: str, args: argparse.Namespace, folder: Path) -> dict:
    from filters.posts.embedding import ImageEmbedder, load_clip
    from filters.posts.model_stages import PostModelConfig

    defaults = DEFAULTS[device]
    images = args.images or defaults["images"]
    batch_size = args.batch_size or defaults["batch_size"]
    paths = sorted(folder.glob("*.jpg"))[:images]
    config = PostModelConfig(clip_model=args.clip_model, clip_pretrained=None, device=device,
                             batch_size=batch_size, workers=args.workers, artwork_keep=ALL_CLASSES)
    bundle = load_clip(args.clip_model, None, device)
    identity = ImageEmbedder(args.clip_model, None).identity
    with tempfile.TemporaryDirectory() as scratch:
        probe = random_probe(Path(scratch), identity, bundle.model.visual.output_dim)
        e2e, rejected = end_to_end(config, paths, args.engine_batch or defaults["engine_batch"],
                                   Path(scratch), probe)
    forward = forward_only(bundle, batch_size, max(2, images // batch_size))
    return {"device": device, "images": len(paths), "batch": batch_size, "e2e": e2e, "forward": forward,
            "rejected": rejected}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="auto", help="cpu, cuda, cpu,cuda or auto (both if CUDA)")
    parser.add_argument("--images", type=int, help="JPEGs per device (default 48 on CPU, 8192 on CUDA)")
    parser.add_argument("--batch-size", type=int, help="images per forward (default 16 CPU, 256 CUDA)")
    parser.add_argument("--engine-batch", type=int, help="rows per engine batch")
    parser.add_argument("--workers", type=int, default=4, help="decode threads")
    parser.add_argument("--size", default="512x384", help="JPEG size WxH")
    parser.add_argument("--clip-model", default="ViT-B-16")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = parser.parse_args()

    import torch
    from rich.console import Console
    from rich.table import Table

    devices = (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]) if args.devices == "auto" \
        else args.devices.split(",")
    width, height = (int(v) for v in args.size.split("x"))
    count = max(args.images or DEFAULTS[d]["images"] for d in devices)
    table = Table(title=f"posts model stages, {args.clip_model} at 224 px, random weights, "
                        f"{width}x{height} JPEGs, {torch.get_num_threads()} CPU threads")
    for column in ("device", "images", "batch", "end-to-end img/s", "forward-only img/s", "e2e / forward",
                   "rejected by stage"):
        table.add_column(column, justify="left" if column in ("device", "rejected by stage") else "right")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        write_jpegs(Path(folder), count, width, height)
        Console(stderr=True).print(f"wrote {count} JPEGs in {time.perf_counter() - started:.1f} s")
        for device in devices:
            row = bench_device(device, args, Path(folder))
            name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
            rows.append({**row, "name": name, "ratio": row["e2e"] / row["forward"]})
            rejected = ", ".join(f"{k}: {v}" for k, v in row["rejected"].items() if v) or "none"
            table.add_row(name, f"{row['images']:,}", str(row["batch"]), f"{row['e2e']:,.1f}",
                          f"{row['forward']:,.1f}", f"{row['e2e'] / row['forward']:.0%}", rejected)
    Console(width=140).print(table)
    if args.json:
        import json

        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
