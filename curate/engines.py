"""What `poems clean` and `posts clean` share to pick an engine: the options and the dispatch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from curation.errors import CurationError
from curation.manifest import Manifest

if TYPE_CHECKING:
    from curation.readers import Reader

ENGINES = ("local", "ray")
EngineOption = Annotated[str, typer.Option(help="local (processes on this machine) or ray")]
WorkersOption = Annotated[
    int, typer.Option(help="Local engine: worker processes; ray: CPUs of a local Ray instance (default: all)")
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(help="Connect to this Ray cluster (e.g. auto or ray://head:10001) instead of starting one"),
]
ResumeOption = Annotated[
    bool, typer.Option(help="Keep the shards an earlier run of the same command completed in --out")
]


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise CurationError(f"--engine must be local or ray, not {engine!r}")


def run_on_engine(engine: str, reader: Reader, stages: Any, out: Path, *, workers: int,
                  ray_address: str | None, **options: Any) -> Manifest:
    """`curation.engine.run` (in `workers` processes) or `curation.ray_engine.run_ray`."""
    check_engine(engine)
    if engine == "ray":
        from curation.ray_engine import run_ray

        return run_ray(reader, stages, out, address=ray_address, num_cpus=workers if workers > 1 else None,
                       **options)
    from curation.engine import run

    return run(reader, stages, out, workers=workers, **options)
