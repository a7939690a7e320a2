"""The README metadata checks behind the local Hub's `/api/validate-yaml`: the YAML front matter must parse
to a mapping, list-like fields must hold strings, and a dataset's `configs` must be well formed."""

from __future__ import annotations

import re

import yaml

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")
LIST_FIELDS = ("license", "language", "tags", "task_categories", "task_ids", "size_categories", "pretty_name")


def card_errors(content: str) -> tuple[list[str], list[str]]:
    """Errors and warnings for a README's YAML front matter, as the Hub's /api/validate-yaml reports them."""
    match = FRONT_MATTER.match(content)
    if match is None:
        return [], ["Empty or missing yaml metadata in repo card"]
    try:
        metadata = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        return [f"Invalid YAML in README.md metadata: {error}"], []
    if metadata is None:
        return [], ["Empty or missing yaml metadata in repo card"]
    if not isinstance(metadata, dict):
        return ["README.md metadata must be a YAML mapping"], []
    errors = [f'"{key}" must be a string or a list of strings' for key in LIST_FIELDS
              if key in metadata and not _strings(metadata[key])]
    return errors + config_errors(metadata.get("configs")), []


def _strings(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def config_errors(configs: object) -> list[str]:
    """Errors in a dataset card's `configs` (config_name, data_files with split/path, data_dir, default)."""
    if configs is None:
        return []
    if not isinstance(configs, list) or not all(isinstance(c, dict) for c in configs):
        return ['"configs" must be a list of mappings']
    errors, names = [], [c.get("config_name") for c in configs]
    for i, config in enumerate(configs):
        name = config.get("config_name")
        if not isinstance(name, str) or not name:
            errors.append(f'"configs[{i}].config_name" must be a non-empty string')
        elif names.count(name) > 1:
            errors.append(f'"configs[{i}].config_name" "{name}" is not unique')
        if "default" in config and not isinstance(config["default"], bool):
            errors.append(f'"configs[{i}].default" must be a boolean')
        if "data_dir" in config and not isinstance(config["data_dir"], str):
            errors.append(f'"configs[{i}].data_dir" must be a string')
        errors += data_files_errors(config.get("data_files"), f"configs[{i}].data_files")
    return errors


def data_files_errors(data_files: object, where: str) -> list[str]:
    if data_files is None or _strings(data_files):
        return []
    if not isinstance(data_files, list):
        return [f'"{where}" must be a string, a list of strings or a list of {{split, path}} mappings']
    errors, splits = [], []
    for j, item in enumerate(data_files):
        if not isinstance(item, dict) or set(item) - {"split", "path"}:
            errors.append(f'"{where}[{j}]" must be a mapping with "split" and "path"')
            continue
        split = item.get("split")
        if not isinstance(split, str) or not SPLIT_NAME.match(split):
            errors.append(f'"{where}[{j}].split" must be a split name such as "train"')
        elif split in splits:
            errors.append(f'"{where}[{j}].split" "{split}" is listed twice')
        splits.append(split)
        if not _strings(item.get("path")) or not item.get("path"):
            errors.append(f'"{where}[{j}].path" must be a path pattern or a list of them')
    return errors
