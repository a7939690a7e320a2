"""Post stages without models: ingest, repeated posts, image fetch and decode, engagement, text and
metadata signals.

The open_clip stages live in `filters.posts.model_stages` and are imported on their own, so that
importing this package never imports torch.
"""

from filters.posts.decode import DecodeImages
from filters.posts.duplicates import DuplicatePosts
from filters.posts.engagement import EngagementFilter, engagement_reference
from filters.posts.fetch import FetchImages
from filters.posts.ingest import PostReader, read_posts
from filters.posts.metadata import AIMetadata
from filters.posts.text_signals import TextSignals, ai_hashtags, protection_hashtags

__all__ = [
    "AIMetadata",
    "DecodeImages",
    "DuplicatePosts",
    "EngagementFilter",
    "FetchImages",
    "PostReader",
    "TextSignals",
    "ai_hashtags",
    "engagement_reference",
    "protection_hashtags",
    "read_posts",
]
