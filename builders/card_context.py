"""What the card template reads for one revision: counts, cleaning and judge facts, alignment, licence and
citation. Everything comes from build.json's summary (no local paths) and the revision's own rows."""

from __future__ import annotations

import re
import time
from typing import Any

from builders.cards import CardLicence
from builders.reference import SEED_REFERENCE
from builders.report import HISTOGRAM_FILE
from builders.revisions import Revision

PLACEHOLDER_REPO = "ORG/NAME"
SMALL_REVISION = 1_000
LICENCE_AND_SOURCE = ("license", "license_name", "license_link", "copyright", "source", "clean_dir")


def alignment_context(revision: Revision) -> dict[str, Any] | None:
    alignment = revision.alignment
    if alignment is None:
        return None
    bins, sample = alignment.bins, alignment.sample
    drawn_total = max(int(sample.counts.sum()), 1)
    rows = [{"index": k, "words": bins.interval(k), "reference": int(bins.reference_counts[k]),
             "reference_share": bins.reference_counts[k] / bins.reference_total,
             "available": int(sample.available[k]), "drawn": int(sample.counts[k]),
             "drawn_share": sample.counts[k] / drawn_total} for k in range(bins.size)]
    return {**alignment.report.as_dict(), "bins": rows, "histogram": HISTOGRAM_FILE}


def citation(repo_id: str | None, pretty_name: str, revision: str, year: int) -> dict[str, str]:
    """BibTeX fields of the dataset itself (placeholders until the build names its repository)."""
    repo = repo_id or PLACEHOLDER_REPO
    owner = repo.split("/")[0]
    key = re.sub(r"\W+", "_", repo.lower()).strip("_") + f"_{year}"
    return {"key": key, "title": pretty_name, "author": owner, "year": str(year),
            "url": f"https://huggingface.co/datasets/{repo}", "revision": revision}


def card_context(revision: Revision, summary: dict[str, Any], licence: CardLicence, *,
                 source: str | None) -> dict[str, Any]:
    """Everything the card template reads for one revision, from build.json's `summary`."""
    params = summary["params"]
    manifest = summary["clean_manifest"]
    entry = summary["revisions"][revision.name]
    year = time.gmtime(summary["created_at"]).tm_year
    return {
        "revision": {"name": revision.name, "description": revision.description, "params": revision.params,
                     "counts": entry["counts"], "small": entry["counts"]["rows"] < SMALL_REVISION,
                     "diversity": entry.get("diversity"),
                     "columns": [{"name": c, "dtype": str(t)} for c, t in revision.frame.schema.items()]},
        "revisions": [{"name": name, "description": other["description"], **other["counts"],
                       "diversity": other.get("diversity")}
                      for name, other in summary["revisions"].items()],
        "clean": {"command": manifest.get("command", "poems clean"), "rows_in": manifest.get("rows_in", 0),
                  "rows_kept": manifest.get("rows_kept", 0), "balanced": manifest.get("balanced", False),
                  "stages": manifest.get("stages", []), "params": manifest.get("params", {}),
                  "inputs": manifest.get("inputs", [])},
        "source": source,
        "diversity_skipped": summary.get("diversity_skipped"),
        "judge": summary["judge"],
        "build": {"input": summary["input"], "clean": summary["clean"],
                  "params": {k: v for k, v in params.items() if k not in LICENCE_AND_SOURCE}},
        "reference": summary["reference"],
        "alignment": alignment_context(revision),
        "load": {"repo_id": params.get("card_repo_id"), "placeholder": PLACEHOLDER_REPO},
        "licence": licence,
        "citation": citation(params.get("card_repo_id"), params["pretty_name"], revision.name, year),
        "cite_prh": summary["reference"]["source"].removeprefix("hf:") == SEED_REFERENCE,
    }
