"""aesthetic-curation core: the stage contract, the streaming engine, readers, writers, manifests,
and the adapters that run stages in other pipelines.

The names a user needs are exported here (imported on first use):

- `run(reader, stages, out_dir)`: the local engine (kept/, rejected/, manifest.json); `open_reader`
  picks a `Reader` for a path or URL.
- The stage contract: `Stage` (name, reads, adds, batch -> batch), `GlobalStage` (prepare + plan, for
  duplicates across a whole run), `reject_where` (mark rows instead of dropping them).
- Adapters with the engine's rules: `as_batched_map` (`datasets.Dataset.map(batched=True)`, Ray Data
  tasks), `RayStages` (Ray Data actors); `curation.datatrove_step.StagesFilter` (datatrove).
- Errors: `CurationError`, `InputError`, `StageError`.

Everything else is importable from its module, but is not part of this promise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from curation.lazy_exports import lazy_getattr

__version__ = "0.1.0"

_EXPORTS = {
    "run": "curation.engine",
    "open_reader": "curation.readers",
    "Reader": "curation.reader_base",
    "Stage": "curation.stage",
    "GlobalStage": "curation.global_stages",
    "reject_where": "curation.stage",
    "as_batched_map": "curation.adapters",
    "RayStages": "curation.adapters",
    "CurationError": "curation.errors",
    "InputError": "curation.errors",
    "StageError": "curation.errors",
}
__all__ = ["__version__", "run", "open_reader", "Reader", "Stage", "GlobalStage", "reject_where",
           "as_batched_map", "RayStages", "CurationError", "InputError", "StageError"]
__getattr__ = lazy_getattr(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from curation.adapters import RayStages, as_batched_map
    from curation.engine import run
    from curation.errors import CurationError, InputError, StageError
    from curation.global_stages import GlobalStage
    from curation.reader_base import Reader
    from curation.readers import open_reader
    from curation.stage import Stage, reject_where
