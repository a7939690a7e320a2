"""The poem recipe: which stages `curate poems clean` runs, in which order."""

from __future__ import annotations

from typing import Any

from curation.stage import Stage
from filters.poems.dedup import MarkDuplicates
from filters.poems.english import EnglishFilter
from filters.poems.footer import StripFooter
from filters.poems.form import FormCategory


def poem_stages(english: dict[str, Any] | None = None, drop_duplicates: bool = False,
                drop_near_duplicates: bool = False, tag_forms: bool = True,
                duplicates: bool = True) -> list[Stage]:
    """footer stripping -> English -> form category (only with `tag_forms`: when the input has a
    `form` column) -> duplicate marking (a global stage; left out with `duplicates=False`, as a batch
    function in another pipeline needs: duplicates need every row at once).

    `english` holds `EnglishFilter` keyword arguments; each worker builds its own stages once."""
    stages: list[Stage] = [StripFooter(), EnglishFilter(**(english or {}))]
    if tag_forms:
        stages.append(FormCategory())
    if duplicates:
        stages.append(MarkDuplicates(drop_exact=drop_duplicates, drop_near=drop_near_duplicates))
    return stages


def has_forms(columns: list[str]) -> bool:
    """Whether an input with these columns gets the form tag (it reads the `form` column)."""
    return all(column in columns for column in FormCategory().reads)
