"""Stages that keep, drop or annotate rows, and the recipes that order them.

Exported here (imported on first use): the recipes `poem_stages` (filters/poems/pipeline.py) and
`post_stages` with its `PostOptions` (filters/posts/pipeline.py), and the filters a user is likely
to drop into another pipeline: `StripFooter`, `EnglishFilter`, `FormCategory`, `MarkDuplicates` (a
global stage) for poems; `filters.posts` exports the post stages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from curation.lazy_exports import lazy_getattr

_EXPORTS = {
    "poem_stages": "filters.poems.pipeline",
    "post_stages": "filters.posts.pipeline",
    "PostOptions": "filters.posts.pipeline",
    "StripFooter": "filters.poems.footer",
    "EnglishFilter": "filters.poems.english",
    "FormCategory": "filters.poems.form",
    "MarkDuplicates": "filters.poems.dedup",
}
__all__ = ["poem_stages", "post_stages", "PostOptions", "StripFooter", "EnglishFilter", "FormCategory",
           "MarkDuplicates"]
__getattr__ = lazy_getattr(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from filters.poems.dedup import MarkDuplicates
    from filters.poems.english import EnglishFilter
    from filters.poems.footer import StripFooter
    from filters.poems.form import FormCategory
    from filters.poems.pipeline import poem_stages
    from filters.posts.pipeline import PostOptions, post_stages
