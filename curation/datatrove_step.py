"""Our stages as a datatrove pipeline step: `StagesFilter(stages)` (needs `pip install datatrove`).

A datatrove `Document` becomes a row: `text`, `row_id` = `doc.id`, and one column per metadata key.
The stages run over `batch_size` documents at a time with the engine's rules (`curation.adapters`);
each document leaves with its (possibly rewritten) `text` and the stages' columns in its metadata.
Rejected documents are dropped from the stream with their `reject_reason` as datatrove's
`dropped_<reason>` statistic, and go to `exclusion_writer` when one is given, with `reject_stage`,
`reject_reason` and `reject_detail` in their metadata (and datatrove's own `filter_reason`).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from curation.adapters import StagesLike, run_batch, stage_list
from curation.schema import REJECT_REASON, ROW_ID

TEXT = "text"


class StagesFilter(BaseFilter):
    name = "aesthetic-curation stages"

    def __init__(self, stages: StagesLike, exclusion_writer: DiskWriter | None = None,
                 batch_size: int = 1_000) -> None:
        super().__init__(exclusion_writer, batch_size)
        self.stages = stage_list(stages)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        rows = [{**doc.metadata, TEXT: doc.text, ROW_ID: str(doc.id)} for doc in batch]
        out = run_batch(self.stages, pl.DataFrame(rows, infer_schema_length=None, strict=False))
        results: list[bool | tuple[bool, str]] = []
        for doc, row in zip(batch, out.iter_rows(named=True), strict=True):
            doc.text = row.pop(TEXT)
            row.pop(ROW_ID)
            doc.metadata.update(_plain(row))
            results.append(True if row[REJECT_REASON] is None else (False, row[REJECT_REASON]))
        return results


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Metadata values datatrove's writers can serialise (JSON): dates and times as ISO text."""
    return {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in row.items()}
