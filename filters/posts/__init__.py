"""Post stages: ingest, repeated posts, image fetch and decode, engagement, text and metadata
signals, and `post_stages(reader, PostOptions(...))`, the recipe `curate posts clean` runs
(exported here, imported on first use). The open_clip stages live in `filters.posts.model_stages`
and import torch only when they are built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from curation.lazy_exports import lazy_getattr

_EXPORTS = {
    "AIMetadata": "filters.posts.metadata",
    "DecodeImages": "filters.posts.decode",
    "DuplicatePosts": "filters.posts.duplicates",
    "EngagementFilter": "filters.posts.engagement",
    "FetchImages": "filters.posts.fetch",
    "PostReader": "filters.posts.ingest",
    "TextSignals": "filters.posts.text_signals",
    "ai_hashtags": "filters.posts.text_signals",
    "engagement_reference": "filters.posts.engagement",
    "protection_hashtags": "filters.posts.text_signals",
    "read_posts": "filters.posts.ingest",
    "PostOptions": "filters.posts.pipeline",
    "post_stages": "filters.posts.pipeline",
}
__all__ = ["AIMetadata", "DecodeImages", "DuplicatePosts", "EngagementFilter", "FetchImages", "PostReader",
           "PostOptions", "TextSignals", "ai_hashtags", "engagement_reference", "post_stages",
           "protection_hashtags", "read_posts"]
__getattr__ = lazy_getattr(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from filters.posts.decode import DecodeImages
    from filters.posts.duplicates import DuplicatePosts
    from filters.posts.engagement import EngagementFilter, engagement_reference
    from filters.posts.fetch import FetchImages
    from filters.posts.ingest import PostReader, read_posts
    from filters.posts.metadata import AIMetadata
    from filters.posts.pipeline import PostOptions, post_stages
    from filters.posts.text_signals import TextSignals, ai_hashtags, protection_hashtags
