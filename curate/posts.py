"""`curate posts ingest|clean`: artwork posts -> fetched, validated, filtered images."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from curate.engines import (
    EngineOption,
    GpusPerWorkerOption,
    RayAddressOption,
    ResumeOption,
    ShardRowsOption,
    WorkersOption,
    check_engine,
    run_on_engine,
)
from curate.poems import report
from curation.errors import CurationError
from filters.posts.clip_defaults import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED

if TYPE_CHECKING:
    from filters.posts.consent import ConsentPolicy
    from filters.posts.model_stages import PostModelConfig

app = typer.Typer(help="Artwork posts (Twitter/X): ingest, fetch images, filter.", no_args_is_help=True)

PostsArgument = Annotated[
    str,
    typer.Argument(metavar="POSTS", help="Posts as JSONL/JSON (flat rows or X API v2 pages), CSV or Parquet; "
                   "a path or an fsspec URL (s3://..., glob allowed)"),
]
OutOption = Annotated[Path, typer.Option("--out", help="Output folder: kept/, rejected/, manifest.json")]


@app.command()
def ingest(
    posts: PostsArgument,
    out: OutOption,
    batch_size: Annotated[int, typer.Option(help="Image rows per batch")] = 256,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """Read posts into the post schema (one row per image), rejecting repeated posts; no images are
    fetched."""
    from curation.engine import run
    from filters.posts import DuplicatePosts, read_posts

    reader = read_posts(posts, batch_size)
    manifest = run(
        reader,
        [DuplicatePosts.scan(reader)],
        out,
        command="posts ingest",
        params={"batch_size": batch_size},
        progress=not as_json,
        description="ingesting",
    )
    report(manifest, out, as_json)


def model_config(
    clip_model: str,
    clip_pretrained: str,
    device: str,
    artwork_prompts: Path | None,
    ai_probe: Path | None,
    protection_probe: Path | None,
) -> PostModelConfig:
    """The open_clip stages' settings (artwork, AI probe, protection, near duplicates)."""
    try:
        from filters.posts.model_stages import PostModelConfig
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith("filters.posts"):
            raise CurationError(
                "the model stages (filters.posts.model_stages) are not available; pass --no-models"
            ) from None
        raise CurationError(
            f"the model stages need '{error.name}' (pip install "
            "'aesthetic-curation[vision]'), or pass --no-models"
        ) from None
    return PostModelConfig(
        clip_model=clip_model,
        clip_pretrained=None if clip_pretrained.lower() == "none" else clip_pretrained,
        device=device,
        artwork_prompts=artwork_prompts,
        ai_probe=ai_probe,
        protection_probe=protection_probe,
    )


def consent_policy(robots: bool, x_robots_tag: bool, tdmrep: bool, c2pa: bool, directives: str | None,
                   user_agent: str | None) -> ConsentPolicy:
    """The opt-out signals honoured, from the options of that name."""
    from filters.posts.consent import DEFAULT_DIRECTIVES, DEFAULT_USER_AGENT, ConsentPolicy

    return ConsentPolicy(
        robots=robots, x_robots_tag=x_robots_tag, tdmrep=tdmrep, c2pa=c2pa,
        directives=DEFAULT_DIRECTIVES if directives is None
        else tuple(d.strip().lower() for d in directives.split(",") if d.strip()),
        user_agent=user_agent or DEFAULT_USER_AGENT,
    )


def allowed_networks(values: list[str] | None) -> tuple[str, ...]:
    """The --allow-private-hosts networks, checked here so that a typo is a one-line error."""
    from filters.posts.addresses import parse_networks

    try:
        return tuple(str(network) for network in parse_networks(values))
    except ValueError as error:
        raise CurationError(f"--allow-private-hosts: {error}") from None


@app.command()
def clean(
    posts: PostsArgument,
    out: OutOption,
    images_dir: Annotated[
        Path | None, typer.Option(help="Where images are stored (default OUT/images); reuse it to resume")
    ] = None,
    download_workers: Annotated[int, typer.Option(help="Concurrent downloads per batch")] = 16,
    timeout: Annotated[float, typer.Option(help="Seconds per download")] = 10.0,
    max_mb: Annotated[float, typer.Option(help="Largest image accepted, in MB")] = 20.0,
    attempts: Annotated[int, typer.Option(help="Tries per URL for 5xx, timeouts, broken bodies")] = 3,
    retry_failed: Annotated[bool, typer.Option(help="Request URLs that failed transiently before")] = False,
    robots: Annotated[bool, typer.Option(help="Honour robots.txt (and its crawl-delay)")] = True,
    x_robots_tag: Annotated[bool, typer.Option(help="Honour X-Robots-Tag response headers")] = True,
    x_robots_directives: Annotated[
        str | None,
        typer.Option(help="X-Robots-Tag directives that refuse an image, comma-separated "
                     "[default: noai,noimageai,noml,none,noindex,noimageindex]"),
    ] = None,
    tdmrep: Annotated[bool, typer.Option(help="Honour TDMRep (tdm-reservation header, tdmrep.json)")] = True,
    c2pa: Annotated[bool, typer.Option(help="Honour C2PA training-and-data-mining assertions")] = True,
    user_agent: Annotated[
        str | None,
        typer.Option(help="User-Agent sent; its product token (before '/') is matched in robots.txt and "
                     "X-Robots-Tag [default: aesthetic-curation/0.1 (+...)]"),
    ] = None,
    allow_private_hosts: Annotated[
        list[str] | None,
        typer.Option(help="Networks that may be fetched although not public, e.g. 127.0.0.1/32 (repeatable)"),
    ] = None,
    min_side: Annotated[int, typer.Option(help="Smallest image side kept, in pixels")] = 64,
    max_aspect: Annotated[float, typer.Option(help="Largest long/short side ratio kept")] = 4.0,
    max_pixels: Annotated[int, typer.Option(help="Decompression-bomb limit, in pixels")] = 89_478_485,
    allow_animated: Annotated[bool, typer.Option(help="Keep animated GIF/WebP/PNG")] = False,
    min_likes: Annotated[int, typer.Option(help="Like-count floor")] = 0,
    normalise: Annotated[str, typer.Option(help="Engagement score: none, author or month")] = "none",
    min_score: Annotated[float | None, typer.Option(help="Smallest normalised engagement score kept")] = None,
    keep_ai_hashtags: Annotated[bool, typer.Option(help="Mark, do not reject, AI hashtags")] = False,
    keep_protection_hashtags: Annotated[
        bool, typer.Option(help="Mark, do not reject, #glaze/#noai...")
    ] = False,
    keep_ai_metadata: Annotated[bool, typer.Option(help="Mark, do not reject, AI metadata")] = False,
    clip_model: Annotated[str, typer.Option(help="open_clip architecture")] = DEFAULT_CLIP_MODEL,
    clip_pretrained: Annotated[
        str, typer.Option(help="open_clip pretrained tag; 'none' for random weights (smoke tests)")
    ] = DEFAULT_CLIP_PRETRAINED,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N")] = "auto",
    artwork_prompts: Annotated[Path | None, typer.Option(help="Zero-shot classes and prompts file")] = None,
    ai_probe: Annotated[Path | None, typer.Option(help="AI-generated probe (.safetensors)")] = None,
    protection_probe: Annotated[
        Path | None, typer.Option(help="Glaze/Nightshade probe (.safetensors)")
    ] = None,
    no_models: Annotated[bool, typer.Option("--no-models", help="Skip the open_clip stages")] = False,
    batch_size: Annotated[int, typer.Option(help="Image rows per batch")] = 256,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
    engine: EngineOption = "local",
    workers: WorkersOption = None,
    gpus_per_worker: GpusPerWorkerOption = None,
    ray_address: RayAddressOption = None,
    resume: ResumeOption = True,
    shard_rows: ShardRowsOption = 1_000,
) -> None:
    """Clean posts: ingest -> duplicates -> fetch -> decode -> engagement -> text signals -> AI
    metadata -> model stages (the recipe in filters/posts/pipeline.py). Writes kept and rejected
    Parquet and a balanced manifest."""
    from filters.posts import read_posts
    from filters.posts.pipeline import PostOptions, close_stages, post_stages

    check_engine(engine, ray_address=ray_address, gpus_per_worker=gpus_per_worker)
    options = PostOptions(
        images_dir or out / "images", download_workers, timeout, max_mb, attempts, retry_failed,
        consent=consent_policy(robots, x_robots_tag, tdmrep, c2pa, x_robots_directives, user_agent),
        allow_networks=allowed_networks(allow_private_hosts), min_side=min_side, max_aspect=max_aspect,
        max_pixels=max_pixels, allow_animated=allow_animated, min_likes=min_likes, normalise=normalise,
        min_score=min_score, keep_ai_hashtags=keep_ai_hashtags,
        keep_protection_hashtags=keep_protection_hashtags, keep_ai_metadata=keep_ai_metadata,
        models=None if no_models else model_config(clip_model, clip_pretrained, device, artwork_prompts,
                                                   ai_probe, protection_probe))
    reader = read_posts(posts, batch_size)
    stages = post_stages(reader, options)
    try:
        manifest = run_on_engine(engine, reader, stages, out, workers=workers, ray_address=ray_address,
                                 gpus_per_worker=gpus_per_worker, shard_rows=shard_rows,
                                 command="posts clean", params=options.params(), progress=not as_json,
                                 resume=resume, description="cleaning posts")
    finally:
        close_stages(stages)
    report(manifest, out, as_json)
