"""What a revision holds, counted from its rows: rows, distinct poems, distinct texts and the duplicates kept.

Texts are compared as `filters.poems.dedup` compares them (`curation.text_column.NORMALISED`: lower
case, letters and digits only, single spaces). Within one revision:
- `repeated_draws`: rows that repeat a poem (`row_id`) already drawn (sampling with replacement);
- `exact_duplicates`: distinct poems whose normalised text an earlier poem of the revision has;
- `near_duplicates`: distinct poems, exact copies aside, that share a near-duplicate cluster of the clean
  run (`near_duplicate_of`, or the poem itself when it heads its cluster) with an earlier poem of the
  revision;
- `flagged_exact` / `flagged_near`: distinct poems the clean run marked as a copy of some corpus poem
  (`is_duplicate` / `is_near_duplicate`), whether or not that poem is in this revision.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl

from curation.judge.result import SCORED
from curation.schema import ROW_ID
from curation.text_column import NORMALISED


@dataclass(frozen=True)
class RevisionCounts:
    rows: int
    distinct_poems: int
    repeated_draws: int
    distinct_texts: int
    exact_duplicates: int
    near_duplicates: int | None
    flagged_exact: int | None
    flagged_near: int | None
    scored: int | None

    def as_dict(self) -> dict[str, int | None]:
        return asdict(self)


def count_revision(frame: pl.DataFrame) -> RevisionCounts:
    """The counts of one revision's rows (None where the clean run did not mark duplicates or nothing
    was scored)."""
    poems = frame.unique(ROW_ID, keep="first", maintain_order=True)
    distinct_texts = poems.select(NORMALISED.n_unique()).item() if poems.height else 0
    return RevisionCounts(
        rows=frame.height, distinct_poems=poems.height, repeated_draws=frame.height - poems.height,
        distinct_texts=distinct_texts, exact_duplicates=poems.height - distinct_texts,
        near_duplicates=_near_duplicates(poems), flagged_exact=_flagged(poems, "duplicate_of"),
        flagged_near=_flagged(poems, "near_duplicate_of"),
        scored=_scored(frame))


def _near_duplicates(poems: pl.DataFrame) -> int | None:
    if not {"duplicate_of", "near_duplicate_of"} <= set(poems.columns):
        return None
    originals = poems.filter(pl.col("duplicate_of").is_null())
    clusters = originals.select(pl.coalesce("near_duplicate_of", ROW_ID).n_unique()).item()
    return originals.height - clusters


def _flagged(poems: pl.DataFrame, column: str) -> int | None:
    return int(poems[column].is_not_null().sum()) if column in poems.columns else None


def _scored(frame: pl.DataFrame) -> int | None:
    if "judge_status" not in frame.columns:
        return None
    return int((frame["judge_status"].cast(pl.Utf8) == SCORED).sum())
