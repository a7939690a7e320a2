"""Dataset cards: metadata built with huggingface_hub's `DatasetCardData` (and `datasets`' `dataset_info`),
a body filled from the build via the jinja2 templates in `dataset_cards/`, following the Hub's dataset card
template. Every placeholder must be filled (StrictUndefined), and every card is parsed back with
huggingface_hub and datasets before it is written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pyarrow as pa
import yaml
from huggingface_hub import DatasetCard, DatasetCardData

from curation import __version__
from curation.errors import CurationError

TEMPLATES = Path(__file__).resolve().parents[1] / "dataset_cards"
POEMS_TEMPLATE = "poems.md.j2"
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"))
DATA_FILES = [{"split": "train", "path": "data/train-*"}]
LICENSE_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
AUTHORS_COPYRIGHT = ("Each poem remains the copyright of its author. This dataset grants no licence to the "
                     "poems themselves: check the terms of their source before any use beyond research.")


class CardError(CurationError):
    """A card option is invalid, or a rendered card does not parse as the Hub and `datasets` read it."""


@dataclass(frozen=True)
class CardLicence:
    """The licence (a Hub licence id; `other` with its own `name` and `link`), and who owns the poems."""

    id: str = "other"
    name: str | None = None
    link: str | None = None
    copyright: str | None = None

    def resolved(self) -> CardLicence:
        """Checked, with the defaults filled in: `other` is the authors' copyright unless named otherwise."""
        if self.id != "other" and (self.name or self.link):
            raise CardError(f"--license-name and --license-link describe a licence of type 'other', not "
                            f"'{self.id}'; pass --license other with them")
        if self.name and not LICENSE_NAME.match(self.name):
            raise CardError(f"--license-name '{self.name}': use lower case letters, digits, '-' and '.', "
                            "as in 'my-license-1.0'")
        if self.id != "other":
            return CardLicence(self.id, None, None, self.copyright or AUTHORS_COPYRIGHT)
        return CardLicence("other", self.name or "authors-copyright", self.link or "README.md",
                           self.copyright or AUTHORS_COPYRIGHT)

    def metadata(self) -> dict[str, str]:
        names = {"license_name": self.name, "license_link": self.link} if self.id == "other" else {}
        return {"license": self.id, **names}


def size_category(rows: int) -> str:
    """The Hub's `size_categories` label for a row count."""
    for limit, label in SIZE_CATEGORIES:
        if rows < limit:
            return label
    return "n>100M"


def card_data(*, schema: pa.Schema, rows: int, num_bytes: int, download_size: int, pretty_name: str,
              licence: CardLicence, scored: bool, tags: list[str]) -> DatasetCardData:
    """Metadata the Hub reads: licence, language, sizes, `configs` (the Parquet shards, for the `datasets`
    loader) and `dataset_info` (features and the train split's size, as `datasets` writes it)."""
    from datasets import DatasetInfo, Features, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict

    data = DatasetCardData(
        pretty_name=pretty_name, **licence.metadata(), language=["en"], multilinguality=["monolingual"],
        language_creators=["found"],
        annotations_creators=["machine-generated" if scored else "no-annotation"],
        task_categories=["text-classification"], tags=tags, size_categories=[size_category(rows)],
        configs=[{"config_name": "default", "default": True, "data_files": DATA_FILES}])
    info = DatasetInfo(features=Features.from_arrow_schema(schema), download_size=download_size,
                       dataset_size=num_bytes,
                       splits=SplitDict({"train": SplitInfo("train", num_bytes=num_bytes,
                                                            num_examples=rows)}))
    DatasetInfosDict({"default": info}).to_dataset_card_data(data)
    return data


def environment(templates: Path = TEMPLATES) -> jinja2.Environment:
    if not templates.is_dir():
        raise CurationError(f"dataset card templates not found in {templates}")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             autoescape=False)
    env.filters["thousands"] = lambda value: f"{value:,}"
    env.filters["files"] = lambda count: f"{count:,} file{'' if count == 1 else 's'}"
    env.filters["yaml"] = as_yaml
    return env


def as_yaml(value: Any) -> str:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises here, naming the missing value
    if isinstance(value, DatasetCardData):
        return value.to_yaml().rstrip("\n")
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


def check_card(text: str, rows: int) -> DatasetCard:
    """Parse a card as huggingface_hub and `datasets` do: YAML metadata, licence fields, the default config's
    data files and the split size in `dataset_info`."""
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs

    try:
        card = DatasetCard(text, ignore_metadata_errors=False)
        configs = MetadataConfigs.from_dataset_card_data(card.data)
        infos = DatasetInfosDict.from_dataset_card_data(card.data)
    except (ValueError, TypeError, yaml.YAMLError) as error:
        raise CardError(f"the card's metadata does not parse: {error}") from None
    if card.data.license == "other" and not (card.data.get("license_name") and card.data.get("license_link")):
        raise CardError("a card with license 'other' needs license_name and license_link")
    if configs.get("default", {}).get("data_files") != DATA_FILES:
        raise CardError("the card's default config does not point at data/train-*")
    split = infos["default"].splits.get("train") if "default" in infos and infos["default"].splits else None
    if split is None or split.num_examples != rows:
        raise CardError(f"the card's dataset_info does not give the train split's {rows:,} rows")
    return card


def parse_front_matter(card: str) -> dict[str, Any]:
    """The YAML between the leading `---` lines of a card."""
    if not card.startswith("---\n"):
        raise CurationError("the card does not start with YAML front matter")
    header, _, _ = card[4:].partition("\n---\n")
    return yaml.safe_load(header)
