"""Post stages: ingest, repeated posts, image fetch and decode, engagement, text and metadata
signals (exported here, imported on first use), and the open_clip stages, which live in
`filters.posts.model_stages` and import torch only when they are built.
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
}
__all__ = ["AIMetadata", "DecodeImages", "DuplicatePosts", "EngagementFilter", "FetchImages", "PostReader",
           "TextSignals", "ai_hashtags", "engagement_reference", "protection_hashtags", "read_posts"]
__getattr__ = lazy_getattr(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from filters.posts.decode import DecodeImages
    from filters.posts.duplicates import DuplicatePosts
    from filters.posts.engagement import EngagementFilter, engagement_reference
    from filters.posts.fetch import FetchImages
    from filters.posts.ingest import PostReader, read_posts
    from filters.posts.metadata import AIMetadata
    from filters.posts.text_signals import TextSignals, ai_hashtags, protection_hashtags
