"""Dataset cards: YAML front matter the Hub reads plus a body filled from the build, via jinja2 templates
in `dataset_cards/`. Every placeholder must be filled (StrictUndefined)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import yaml

from curation import __version__
from curation.errors import CurationError

TEMPLATES = Path(__file__).resolve().parents[1] / "dataset_cards"
POEMS_TEMPLATE = "poems.md.j2"
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"))


def size_category(rows: int) -> str:
    """The Hub's `size_categories` label for a row count."""
    for limit, label in SIZE_CATEGORIES:
        if rows < limit:
            return label
    return "n>100M"


def front_matter(*, rows: int, pretty_name: str, license_id: str, language: list[str],
                 task_categories: list[str], tags: list[str]) -> dict[str, Any]:
    """Metadata the Hub reads; `configs` points the `datasets` loader at the Parquet shards."""
    return {"pretty_name": pretty_name, "license": license_id, "language": language,
            "task_categories": task_categories, "tags": tags, "size_categories": [size_category(rows)],
            "configs": [{"config_name": "default", "default": True,
                         "data_files": [{"split": "train", "path": "data/train-*"}]}]}


def environment(templates: Path = TEMPLATES) -> jinja2.Environment:
    if not templates.is_dir():
        raise CurationError(f"dataset card templates not found in {templates}")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             autoescape=False)
    env.filters["thousands"] = lambda value: f"{value:,}"
    env.filters["yaml"] = as_yaml
    return env


def as_yaml(value: Any) -> str:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises here, naming the missing value
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=1_000).rstrip("\n")


def render_card(context: dict[str, Any], template: str = POEMS_TEMPLATE, templates: Path = TEMPLATES) -> str:
    """The README.md of one revision; fails on any unfilled placeholder."""
    try:
        text = environment(templates).get_template(template).render(version=__version__, **context)
    except jinja2.UndefinedError as error:
        raise CurationError(f"dataset card template {template}: {error.message}") from error
    if "{{" in text or "}}" in text or "{%" in text:
        raise CurationError(f"dataset card template {template} left a placeholder unrendered")
    return text


def parse_front_matter(card: str) -> dict[str, Any]:
    """The YAML between the leading `---` lines of a card."""
    if not card.startswith("---\n"):
        raise CurationError("the card does not start with YAML front matter")
    header, _, _ = card[4:].partition("\n---\n")
    return yaml.safe_load(header)
