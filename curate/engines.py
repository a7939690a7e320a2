"""What `poems clean` and `posts clean` share to pick an engine: the options and the dispatch.

`--workers` means shard workers on both engines: processes here (default 1) or Ray actors (default:
as many as the cluster fits; a local Ray instance gets that many CPUs). `--gpus-per-worker` and
`--ray-address` only apply to Ray and are refused, with the reason, on the local engine.
"""

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
    int | None,
    typer.Option(help="Shard workers: processes on the local engine (default 1); actors on ray (default: as "
                      "many as the cluster fits, and the CPUs of the Ray instance started here)", min=1),
]
GpusPerWorkerOption = Annotated[
    float | None,
    typer.Option(help="ray only: GPUs for each worker when a stage needs one (default: 1 where the cluster "
                      "has GPUs, else 0; 0.5 puts two workers on a GPU)", min=0),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(help="ray only: connect to this Ray cluster (e.g. auto or ray://head:10001) instead of "
                      "starting one"),
]
ShardRowsOption = Annotated[int, typer.Option(help="Rows (or files) per input shard", min=1)]
ResumeOption = Annotated[
    bool, typer.Option(help="Keep the shards an earlier run of the same command completed in --out")
]


def check_engine(engine: str, *, ray_address: str | None = None,
                 gpus_per_worker: float | None = None) -> None:
    """Refuse an unknown engine, and options the chosen engine does not take."""
    if engine not in ENGINES:
        raise CurationError(f"--engine must be local or ray, not {engine!r}")
    ray_only = {"--ray-address": ray_address, "--gpus-per-worker": gpus_per_worker}
    given = [name for name, value in ray_only.items() if value is not None]
    if engine == "local" and given:
        raise CurationError(f"{' and '.join(given)} only apply to --engine ray; the local engine runs "
                            "--workers processes on this machine")


def run_on_engine(engine: str, reader: Reader, stages: Any, out: Path, *, workers: int | None,
                  ray_address: str | None, gpus_per_worker: float | None = None, **options: Any) -> Manifest:
    """`curation.engine.run` (in `workers` processes) or `curation.ray_engine.run_ray` (`workers`
    actors with `gpus_per_worker` GPUs each when a stage needs one)."""
    check_engine(engine, ray_address=ray_address, gpus_per_worker=gpus_per_worker)
    if engine == "ray":
        from curation.ray_engine import run_ray

        return run_ray(reader, stages, out, address=ray_address, workers=workers,
                       gpus_per_worker=gpus_per_worker, **options)
    from curation.engine import run

    return run(reader, stages, out, workers=workers or 1, **options)
