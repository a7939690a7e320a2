"""Poem stages: footer and note stripping, the English filter, form category, duplicates."""

from filters.poems.dedup import MarkDuplicates
from filters.poems.english import EnglishFilter
from filters.poems.footer import StripFooter
from filters.poems.form import FormCategory

__all__ = ["EnglishFilter", "FormCategory", "MarkDuplicates", "StripFooter"]
