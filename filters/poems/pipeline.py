"""The poem recipe: which stages `curate poems clean` runs, in which order."""

from __future__ import annotations

from typing import Any

from filters.poems.dedup import MarkDuplicates
from filters.poems.english import EnglishFilter
from filters.poems.footer import StripFooter
from filters.poems.form import FormCategory


def poem_stages(english: dict[str, Any] | None = None, drop_duplicates: bool = False,
                drop_near_duplicates: bool = False) -> list:
    """footer stripping -> English -> form category -> duplicate marking (a global stage).

    `english` holds `EnglishFilter` keyword arguments; each worker builds its own stages once."""
    return [StripFooter(), EnglishFilter(**(english or {})), FormCategory(),
            MarkDuplicates(drop_exact=drop_duplicates, drop_near=drop_near_duplicates)]
