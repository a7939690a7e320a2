"""`curate posts fit-probe`: train the AI-generated or protection probe on labelled image folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from filters.posts.clip_defaults import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED

console = Console()
app = typer.Typer(help="Model-backed posts commands.", no_args_is_help=True)

POSITIVE_CLASS = {"ai": "ai", "protection": "protected"}


@app.callback()
def posts_models() -> None:
    """Model-backed posts commands (a group, so `fit-probe` keeps its name when it is the only one)."""


@app.command("fit-probe")
def fit_probe_command(
    folder: Annotated[Path, typer.Argument(help="Folder with one subfolder of images per class, e.g. "
                                           "ai/ and human/ (kind ai) or protected/ and clean/")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the probe (.safetensors)")],
    kind: Annotated[str, typer.Option(help="ai or protection: which stage the probe is for")] = "ai",
    positive: Annotated[str | None, typer.Option(
        help="The subfolder holding the positive class (default 'ai' or 'protected')")] = None,
    clip_model: Annotated[str, typer.Option(
        help="open_clip architecture, or a model-config JSON")] = DEFAULT_CLIP_MODEL,
    clip_pretrained: Annotated[str | None, typer.Option(
        help="open_clip pretrained tag; 'none' for random weights")] = DEFAULT_CLIP_PRETRAINED,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Images per forward pass")] = 64,
    held_out: Annotated[float, typer.Option(help="Share of images held out to measure accuracy")] = 0.25,
    threshold: Annotated[float, typer.Option(help="Score at or above which the stage rejects")] = 0.5,
    seed: Annotated[int, typer.Option(help="Seed of the held-out split")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Embed FOLDER/<class>/* images, fit a logistic-regression probe, report its held-out accuracy and
    save it with safetensors for `curate posts clean --ai-probe/--protection-probe`."""
    from filters.posts.embedding import ImageEmbedder
    from filters.posts.probe import describe, fit_probe

    if kind not in POSITIVE_CLASS:
        raise typer.BadParameter(f"--kind must be one of {sorted(POSITIVE_CLASS)}, not '{kind}'")
    pretrained = None if (clip_pretrained or "").lower() in ("", "none") else clip_pretrained
    embedder = ImageEmbedder(clip_model, pretrained, device, batch_size)
    probe = fit_probe(folder, embedder, positive=positive or POSITIVE_CLASS[kind], held_out=held_out,
                      threshold=threshold, seed=seed)
    probe.save(out)
    if as_json:
        print(json.dumps({"out": str(out), "kind": kind, **vars(probe.info)}))
    else:
        console.print(f"{kind} probe -> {out}: {describe(probe)}")
