"""Per-stage row accounting, written as `manifest.json` beside every run's output.

`stages` hold the counts, identical on every engine, worker count and sharding; `timings` hold each
stage's seconds (wall time spent in it, summed over shards, so over workers) and rows per second
(the rows it saw over those seconds), like `started_at` and `elapsed_s` the only parts that vary
from run to run."""

from __future__ import annotations

import json
import platform
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from curation import __version__


@dataclass
class StageCount:
    name: str
    rows_in: int = 0
    kept: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    marked: Counter = field(default_factory=Counter)  # kept rows a stage flagged, by label (duplicates)

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.kept + self.rejected

    def to_dict(self) -> dict[str, Any]:
        """The counts; `marked` only for a stage that marks rows (zero counts included)."""
        counts = {**asdict(self), "reasons": dict(self.reasons.most_common()),
                  "marked": dict(self.marked.most_common())}
        return counts if self.marked else {k: v for k, v in counts.items() if k != "marked"}

    def add(self, other: dict[str, Any]) -> None:
        """Add another count of the same stage (a shard's, as written by `to_dict`)."""
        self.rows_in += other["rows_in"]
        self.kept += other["kept"]
        self.rejected += other["rejected"]
        self.reasons.update(other["reasons"])
        self.marked.update(other.get("marked", {}))


@dataclass
class Manifest:
    command: str
    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    stages: list[StageCount] = field(default_factory=list)
    outputs: dict[str, list[str]] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    elapsed_s: float = 0.0
    seconds: Counter = field(default_factory=Counter)  # per stage name

    def add_seconds(self, seconds: dict[str, float]) -> None:
        """Add per-stage seconds (a shard's, or a global stage's plan)."""
        self.seconds.update(seconds)

    def timings(self) -> list[dict[str, Any]]:
        """Per stage, in stage order: `seconds` and `rows_per_s` (rows in over those seconds)."""
        timings = []
        for stage in self.stages:
            seconds = self.seconds[stage.name]
            timings.append({"name": stage.name, "seconds": round(seconds, 3),
                            "rows_per_s": round(stage.rows_in / seconds, 1) if seconds > 0 else None})
        return timings

    def stage(self, name: str) -> StageCount:
        for count in self.stages:
            if count.name == name:
                return count
        self.stages.append(StageCount(name))
        return self.stages[-1]

    @property
    def rows_in(self) -> int:
        return self.stages[0].rows_in if self.stages else 0

    @property
    def rows_kept(self) -> int:
        return self.stages[-1].kept if self.stages else 0

    @property
    def rows_rejected(self) -> int:
        return sum(s.rejected for s in self.stages)

    @property
    def balanced(self) -> bool:
        chained = all(a.kept == b.rows_in for a, b in zip(self.stages, self.stages[1:], strict=False))
        return (all(s.balanced for s in self.stages) and chained
                and self.rows_in == self.rows_kept + self.rows_rejected)

    def add_counts(self, counts: list[dict[str, Any]]) -> None:
        """Sum per-shard stage counts into this manifest."""
        for count in counts:
            self.stage(count["name"]).add(count)

    def to_dict(self) -> dict[str, Any]:
        stages = [s.to_dict() for s in self.stages]
        return {
            "tool": "aesthetic-curation", "version": __version__, "python": platform.python_version(),
            "command": self.command, "params": self.params, "inputs": self.inputs,
            "rows_in": self.rows_in, "rows_kept": self.rows_kept,
            "rows_rejected": self.rows_rejected, "balanced": self.balanced,
            "stages": stages, "outputs": self.outputs,
            "timings": self.timings(), "started_at": self.started_at, "elapsed_s": round(self.elapsed_s, 3),
        }

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return path


TIMING_KEYS = ("timings", "started_at", "elapsed_s")


def load_manifest(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def without_timings(manifest: dict[str, Any]) -> dict[str, Any]:
    """A manifest (as `to_dict` writes it) without the parts that vary from run to run."""
    return {k: v for k, v in manifest.items() if k not in TIMING_KEYS}
