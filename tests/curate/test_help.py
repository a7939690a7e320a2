"""Every command's `--help` is readable in an 80-column terminal: option names whole, no line
wider than the terminal."""

import re

import pytest
import typer
from typer.testing import CliRunner

from curate import app


def command_paths(group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """(names, command) of every command and group under `group` (typer's own click types)."""
    paths, context = [], group.context_class(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        paths.append(((*prefix, name), command))
        if hasattr(command, "list_commands"):
            paths += command_paths(command, (*prefix, name))
    return paths


COMMANDS = command_paths(typer.main.get_command(app))


def test_every_command_is_listed():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"poems clean", "poems build", "posts clean", "likes train", "align run"} <= names


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS])
def test_help_fits_80_columns_with_every_option_name_whole(path, command):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    for param in command.params:
        for name in [*param.opts, *param.secondary_opts]:
            if name.startswith("--"):
                assert name in result.output, name


def test_the_train_help_states_the_trainers_own_rmse_budget():
    from trainers.retransform import DEFAULT_RMSE_BUDGET

    result = CliRunner().invoke(app, ["likes", "train", "--help"], env={"COLUMNS": "100"}, terminal_width=100)
    text = re.sub(r"[│\s]+", " ", result.output)
    assert f"head's [default: {DEFAULT_RMSE_BUDGET}]" in text
