"""The README metadata checks behind the local Hub's `/api/validate-yaml`: the YAML front matter must parse
to a mapping, list-like fields must hold strings, `license_name`/`license_link` must be strings (the name an
id such as `my-license-1.0`), and a dataset's `configs` and `dataset_info` must be well formed."""

from __future__ import annotations

import re

import yaml

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")
LIST_FIELDS = ("license", "language", "tags", "task_categories", "task_ids", "size_categories", "pretty_name")
LICENSE_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


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
    errors += licence_errors(metadata) + config_errors(metadata.get("configs"))
    return errors + dataset_info_errors(metadata.get("dataset_info")), []


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


def licence_errors(metadata: dict) -> list[str]:
    """`license_name` is an id (lower case, digits, '-', '.'); `license_link` a file name or URL."""
    errors = [f'"{key}" must be a string' for key in ("license_name", "license_link")
              if key in metadata and not isinstance(metadata[key], str)]
    name = metadata.get("license_name")
    if isinstance(name, str) and not LICENSE_NAME.match(name):
        errors.append('"license_name" must be lower case letters, digits, "-" and "."')
    return errors


def dataset_info_errors(info: object) -> list[str]:
    """Errors in `dataset_info`: one mapping (or a list, one per config) of `features` and `splits`, each
    split with a name and whole-number sizes."""
    if info is None:
        return []
    infos = info if isinstance(info, list) else [info]
    if not all(isinstance(item, dict) for item in infos):
        return ['"dataset_info" must be a mapping or a list of mappings']
    errors = []
    for i, item in enumerate(infos):
        features = item.get("features", [])
        if not isinstance(features, list) or not all(isinstance(f, dict) and isinstance(f.get("name"), str)
                                                      for f in features):
            errors.append(f'"dataset_info[{i}].features" must be a list of mappings with a "name"')
        splits = item.get("splits", [])
        if not isinstance(splits, list):
            errors.append(f'"dataset_info[{i}].splits" must be a list')
            continue
        errors += [f'"dataset_info[{i}].splits[{j}]" must have a name and whole-number sizes'
                   for j, split in enumerate(splits) if not _split_ok(split)]
    return errors


def _split_ok(split: object) -> bool:
    if not isinstance(split, dict) or not isinstance(split.get("name"), str):
        return False
    sizes = [split.get(key, 0) for key in ("num_examples", "num_bytes")]
    return all(isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in sizes)
