"""Poem stages: footer and note stripping, the English filter, form category, duplicates; and
`poem_stages`, the recipe `curate poems clean` runs."""

from filters.poems.dedup import MarkDuplicates
from filters.poems.english import EnglishFilter
from filters.poems.footer import StripFooter
from filters.poems.form import FormCategory
from filters.poems.pipeline import poem_stages

__all__ = ["EnglishFilter", "FormCategory", "MarkDuplicates", "StripFooter", "poem_stages"]
