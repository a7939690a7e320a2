"""`curate likes ...`: target transforms in like space, and the like-count regressor.

Training, evaluation and scoring import torch and `trainers` inside their functions only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from curation.errors import InputError

app = typer.Typer(help="Like counts: target transforms, error simulation, the like regressor.",
                  no_args_is_help=True)
console = Console()

TRANSFORMS_OPTION = typer.Option(["log1p", "sqrt*log", "cbrt*log"], "--transform", "-t",
                                 help="Transform(s) to compare (repeat the option).")
DEFAULT_WORKERS = min(8, os.cpu_count() or 1)
WORKERS_HELP = "DataLoader worker processes [default: min(8, CPU count)]; 0 loads in the main process."
IMAGE_COLUMN_OPTION = typer.Option(None, help="Image column (bytes, HF Image or path) [default: "
                                              "image_prepared (`likes prepare`), else image, else image_path "
                                              "(`posts clean`)]")


@app.command("simulate-error")
def simulate_error(
    relative_error: float = typer.Option(0.10, help="Constant relative error in transformed space."),
    low: float = typer.Option(200.0, help="Focused band: lowest like count."),
    high: float = typer.Option(20_000.0, help="Focused band: highest like count."),
    global_low: float = typer.Option(1.0, help="Global range: lowest like count."),
    global_high: float = typer.Option(100_000.0, help="Global range: highest like count."),
    points: int = typer.Option(100, help="Evenly spaced grid points per range."),
    transforms: list[str] = TRANSFORMS_OPTION,
    plot: Path | None = typer.Option(None, help="Write a PNG of the curves here (none unless given)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Map a constant +-error in transformed space back to likes; average |error| per range."""
    from curation.likes import error_table, plot_error_curves

    ranges = {"global": (global_low, global_high), "focused": (low, high)}
    table = error_table(tuple(transforms), relative_error, points, ranges)
    summary = {label: {name: round(curve.mean_abs_error, 2) for name, curve in curves.items()}
               for label, curves in table.items()}
    if plot is not None:
        plot_error_curves(table, plot, relative_error)
    if as_json:
        print(json.dumps({"relative_error": relative_error, "points": points, "ranges": ranges,
                          "mean_abs_error": summary, "plot": str(plot.absolute()) if plot else None}))
        return
    out = Table(title=f"Mean |like error| under +-{relative_error:.0%} transformed-space error")
    out.add_column("transform")
    for label, (lo, hi) in ranges.items():
        out.add_column(f"{label} {lo:,.0f}-{hi:,.0f}", justify="right")
    for name in transforms:
        out.add_row(name, *[f"{summary[label][name]:,.2f}" for label in ranges])
    console.print(out)
    console.print(f"curves: {plot.absolute()}" if plot else "curves: pass --plot FILE.png to draw them")


@app.command("describe")
def describe(
    data: Path = typer.Argument(..., help="Parquet, CSV, JSON or JSONL file with a like-count column."),
    column: str = typer.Option("like_count", help="Like-count column."),
    transforms: list[str] = TRANSFORMS_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Distribution of raw and transformed like counts (count, mean, std, min, quartiles, max)."""
    from curation.likes import describe_likes, read_like_column

    likes = read_like_column(data, column).to_numpy()
    if len(likes) == 0:
        raise InputError("no like counts (every value is null)", path=str(data), field=column)
    stats = describe_likes(likes, tuple(transforms))
    if as_json:
        print(json.dumps(stats))
        return
    out = Table(title=f"{data.name}: {column}")
    out.add_column("statistic")
    for name in stats:
        out.add_column(name, justify="right")
    for stat in next(iter(stats.values())):
        out.add_row(stat, *[f"{stats[name][stat]:,.2f}" for name in stats])
    console.print(out)


@app.command("prepare")
def prepare(
    data: Path = typer.Argument(..., help="Parquet file or folder of posts (an image column, like counts)."),
    out: Path = typer.Option(..., help="Output folder: images/, kept/, rejected/, manifest.json."),
    image_column: str = typer.Option(None, help="Image column (bytes, HF Image or path) [default: image, "
                                                "else image_path]"),
    short_side: int = typer.Option(256, help="Short side of the copies, in pixels (never enlarged)."),
    quality: int = typer.Option(95, help="JPEG quality of the copies (4:4:4 chroma)."),
    workers: int = typer.Option(1, help="Processes."),
) -> None:
    """Write each image once at training size; `likes train` then reads `image_prepared` by default."""
    import pyarrow.parquet as pq

    from curation.engine import run
    from curation.readers import open_reader
    from trainers.data import parquet_files, pick_image_column
    from trainers.prepare import PrepareImages

    first = parquet_files(data)[0]
    names = [name for name in pq.read_schema(first).names if name != "image_prepared"]
    column = image_column or pick_image_column(names, str(first))
    stage = PrepareImages(out / "images", column, short_side=short_side, quality=quality)
    params = {"image_column": column, "short_side": short_side, "quality": quality}
    manifest = run(open_reader(data, text_column=None), [stage], out, command="likes prepare", params=params,
                   workers=workers, description="preparing")
    console.print(f"[green]prepare:[/] {manifest.rows_kept:,} copies at {short_side} px, "
                  f"{manifest.rows_in - manifest.rows_kept:,} rejected -> {out}", highlight=False)


@app.command("train")
def train(
    data: str = typer.Argument(..., help="Parquet file/folder (posts clean's OUT/kept) or HF dataset."),
    out_dir: Path = typer.Option(..., "--out", help="Run folder: checkpoints, logs, train_config.json."),
    backbone: str = typer.Option("google/siglip2-base-patch16-224",
                                 help="Hub name (SigLIP/SigLIP2/DINOv2/CLIP), open_clip:ARCH/TAG, or "
                                      "tiny-siglip2 / tiny-siglip / tiny-dinov2: a tiny random model built "
                                      "offline, to try the path without weights."),
    transform: str = typer.Option("cbrt*log", help="Target transform."),
    loss: str = typer.Option("mse", help="mse | huber | band-mse."),
    huber_delta: float = typer.Option(1.0, help="Huber transition point (transformed units)."),
    band_weights: str = typer.Option("1,1,2,4", help="band-mse weights for 0-200,200-2k,2k-20k,20k+ likes."),
    rank_weight: float = typer.Option(0.0, help="Weight of the pairwise ranking term (0 = off)."),
    calibrate_data: str | None = typer.Option(
        None, help="Held-out posts (Parquet/HF) to fit a calibration on after training (off if unset)."),
    calibrate_method: str = typer.Option(
        "retransform", help="retransform: predictions become f(E[likes | prediction]), calibrated in like "
                            "space | tail-stretch: raise the highest predictions (--calibrate-cut/-band)."),
    calibrate_aim: float | None = typer.Option(
        None, help="retransform: the fraction of E[likes | prediction] the corrected score aims at; 1.0 is "
                   "full calibration [default: the highest within --calibrate-rmse-budget].",
        show_default=False),
    calibrate_rmse_budget: float | None = typer.Option(
        None, help="retransform without --calibrate-aim: the aim is the highest (up to 1.0) whose held-out "
                   "RMSE stays within this many times the uncorrected head's [default: 1.027].",
        show_default=False),
    calibrate_cut: float = typer.Option(0.5, help="tail-stretch: fraction of the held-out band "
                                                  "underprediction to remove."),
    calibrate_band: str = typer.Option("2000,20000", help="tail-stretch: like band it targets: low,high."),
    head: str = typer.Option("linear", help="linear | mlp (LAION aesthetic-predictor MLP)."),
    freeze_backbone: bool = typer.Option(False, help="Probe mode: train the head only."),
    image_column: str | None = IMAGE_COLUMN_OPTION, like_column: str = typer.Option("like_count"),
    image_size: int | None = typer.Option(None, help="Input side in pixels [default: 224; 32 for tiny-*]."),
    batch_size: int = typer.Option(64, help="Per-device micro-batch."),
    grad_accum: int = typer.Option(1), max_steps: int = typer.Option(1000), lr: float = typer.Option(1e-5),
    head_lr: float | None = typer.Option(None), warmup_steps: int = typer.Option(100),
    checkpoint_every: int = typer.Option(500), keep_steps: str = typer.Option("", help="e.g. 9600,22000"),
    compile: bool = typer.Option(False, help="torch.compile the model."),
    num_workers: int = typer.Option(DEFAULT_WORKERS, help=WORKERS_HELP, show_default=False),
    seed: int = typer.Option(0),
    resume: bool = typer.Option(True, help="Resume from the newest checkpoint in --out."),
) -> None:
    """Train the like regressor (bf16 + fused AdamW on CUDA; `torchrun` for several GPUs)."""
    from trainers.calibration import METHODS
    from trainers.losses import LossConfig
    from trainers.model import RegressorConfig, default_image_size
    from trainers.train import TrainConfig
    from trainers.train import train as run_training

    if calibrate_method not in METHODS:
        raise InputError(f"--calibrate-method must be one of {', '.join(METHODS)}, got {calibrate_method!r}")
    budget = {} if calibrate_rmse_budget is None else {"calibrate_rmse_budget": calibrate_rmse_budget}
    config = TrainConfig(
        data=data, out_dir=out_dir, image_column=image_column, like_column=like_column,
        model=RegressorConfig(backbone=backbone, transform=transform, head=head,
                              freeze_backbone=freeze_backbone,
                              image_size=image_size or default_image_size(backbone)),
        loss=LossConfig(loss, huber_delta, _floats(band_weights), rank_weight),
        batch_size=batch_size, grad_accum=grad_accum, max_steps=max_steps, lr=lr, head_lr=head_lr,
        warmup_steps=warmup_steps, checkpoint_every=checkpoint_every, compile=compile,
        keep_steps=tuple(int(s) for s in _floats(keep_steps)), num_workers=num_workers, seed=seed,
        resume=resume, calibrate_data=calibrate_data, calibrate_method=calibrate_method,
        calibrate_cut=calibrate_cut, calibrate_aim=calibrate_aim, **budget,
        calibrate_band=_band(calibrate_band))
    summary = run_training(config)
    console.print(f"done: step {summary['step']}, loss {summary['loss']:.4g}, {summary['checkpoint']}")


@app.command("evaluate")
def evaluate(
    data: str = typer.Argument(..., help="Parquet file/folder or HF dataset name."),
    model: Path = typer.Option(..., help="Exported model folder, or a training checkpoint folder."),
    out_dir: Path | None = typer.Option(
        None, "--out", help="metrics.json, calibration.csv and plots go here [default: MODEL-eval, beside "
                            "the model or checkpoint folder]."),
    export_to: Path | None = typer.Option(None, help="Also export the model here, card included."),
    image_column: str | None = IMAGE_COLUMN_OPTION, like_column: str = typer.Option("like_count"),
    batch_size: int = typer.Option(64),
    num_workers: int = typer.Option(DEFAULT_WORKERS, help=WORKERS_HELP, show_default=False),
    device: str | None = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Evaluate in like space: RMSE, errors per true-like band, calibration by predicted likes, the sum
    ratio, Spearman, precision@k (JSON, CSV + PNG)."""
    import torch

    from trainers.data import LikeImageStream, make_loader
    from trainers.evaluate import like_space_metrics, predict, write_report
    from trainers.export import export_regressor

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    regressor = _load_model(model, device)
    stream = LikeImageStream(data, image_column=image_column, like_column=like_column,
                             transform=regressor.config.transform, image_size=regressor.config.image_size)
    pred, target = predict(regressor, make_loader(stream, batch_size, num_workers), device)
    metrics = like_space_metrics(pred, target, regressor.config.transform)
    out_dir = out_dir if out_dir is not None else model.resolve().parent / f"{model.resolve().name}-eval"
    paths = write_report(metrics, pred, target, out_dir)
    if export_to is not None:
        export_regressor(regressor, export_to, metrics)
    if as_json:
        print(json.dumps(metrics))
        return
    _print_evaluation(metrics)
    console.print(f"report: {paths[0].parent}")


def _print_evaluation(metrics: dict) -> None:
    rho = metrics["spearman"]
    rho_text = f"{rho:.3f}" if rho == rho else "undefined (constant predictions or labels)"
    out = Table(title=f"{metrics['n']:,} posts: RMSE {metrics['rmse']:.3f} ({metrics['transform']}), "
                      f"Spearman {rho_text}; by true likes (regression to the mean is built in)")
    for column in ("true-like band", "n", "mean abs error", "mean signed error"):
        out.add_column(column, justify="right")
    for band, row in metrics["bands"].items():
        out.add_row(band, f"{row['n']:,}", f"{row['mean_abs_error']:,.1f}",
                    f"{row['mean_signed_error']:,.1f}")
    console.print(out)
    out = Table(title="calibration by predicted likes (calibrated: ratio 1 in every bin)")
    for column in ("bin", "n", "predicted likes", "mean predicted", "mean true", "ratio"):
        out.add_column(column, justify="right")
    for row in metrics["calibration"]:
        out.add_row(str(row["bin"]), f"{row['n']:,}", f"{row['pred_low']:,.0f}-{row['pred_high']:,.0f}",
                    f"{row['mean_pred_likes']:,.1f}", f"{row['mean_true_likes']:,.1f}", f"{row['ratio']:.2f}")
    console.print(out)
    console.print(f"sum of predicted / true likes: {metrics['sum_pred_likes']:,.0f} / "
                  f"{metrics['sum_true_likes']:,.0f} = {metrics['sum_ratio']:.3f}")


@app.command("score")
def score(
    images: list[Path] = typer.Argument(..., help="Image files or folders."),
    model: Path = typer.Option(..., help="Exported model folder."),
    batch_size: int = typer.Option(32), device: str | None = typer.Option(None),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per image."),
) -> None:
    """Print predicted likes and transformed scores for images."""
    import torch

    from trainers.evaluate import to_likes
    from trainers.export import images_to_tensor, load_regressor

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    regressor = load_regressor(model, device)
    files = _image_files(images)
    scores: list[float] = []
    with torch.no_grad():
        for start in range(0, len(files), batch_size):
            pixels = images_to_tensor(files[start:start + batch_size], regressor.config.image_size)
            scores += regressor(pixels.to(device)).float().cpu().tolist()
    likes = to_likes(scores, regressor.config.transform)
    if as_json:
        for path, value, like in zip(files, scores, likes, strict=True):
            print(json.dumps({"image": str(path), "score": value, "likes": float(like)}))
        return
    out = Table(title=f"{regressor.config.transform} scores")
    for column in ("image", "score", "predicted likes"):
        out.add_column(column, justify="right" if column != "image" else "left")
    for path, value, like in zip(files, scores, likes, strict=True):
        out.add_row(str(path), f"{value:.3f}", f"{like:,.0f}")
    console.print(out)


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}


def _image_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.exists():
            files.append(path)
        else:
            raise InputError("no such image file or folder", path=str(path))
    if not files:
        raise InputError("no images found", path=", ".join(map(str, paths)))
    return files


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(",") if part.strip())


def _band(text: str) -> tuple[float, float]:
    values = _floats(text)
    if len(values) != 2 or values[0] >= values[1]:
        raise InputError(f"--calibrate-band needs low,high with low < high, got {text!r}")
    return values[0], values[1]


def _load_model(path: Path, device: str):
    """An exported folder (config.json), or a training checkpoint (state.json) with its calibration."""
    from trainers.calibration import attach_calibration, load_calibration
    from trainers.checkpoint import load_checkpoint
    from trainers.export import load_regressor
    from trainers.model import LikeRegressor, RegressorConfig

    if (path / "state.json").exists():
        state = json.loads((path / "state.json").read_text())
        regressor = LikeRegressor(RegressorConfig.from_dict(state["model"]), pretrained=False)
        load_checkpoint(path, regressor, None)
        attach_calibration(regressor, load_calibration(path))
        return regressor.to(device).eval()
    return load_regressor(path, device)
