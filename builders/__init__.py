"""Dataset revisions (large, main, aligned_5, aligned_s), samplers, reports and dataset cards.

Exported here (imported on first use): `build_poems(input_dir, out, BuildOptions(...))`, what
`curate poems build` runs, and `publish_revisions(build_dir, repo_id)`, what `curate poems publish`
runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from curation.lazy_exports import lazy_getattr

_EXPORTS = {
    "BuildOptions": "builders.build",
    "build_poems": "builders.build",
    "publish_revisions": "builders.publish",
}
__all__ = ["BuildOptions", "build_poems", "publish_revisions"]
__getattr__ = lazy_getattr(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from builders.build import BuildOptions, build_poems
    from builders.publish import publish_revisions
