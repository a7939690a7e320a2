"""The `curate` command line. Command groups live in sibling modules and import their heavy
dependencies (torch, filters, builders, trainers) only when a command runs."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console
from rich.text import Text

from curation.errors import CurationError

app = typer.Typer(help="Build aesthetic datasets and the models trained on them.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
poems_app = typer.Typer(help="Poem corpora: clean, score, build revisions, publish.", no_args_is_help=True)
app.add_typer(poems_app, name="poems")

err_console = Console(stderr=True)
DEBUG_VARIABLE = "CURATE_DEBUG"


def _register() -> None:
    from curate import align, build, judge, likes, poems, posts, posts_models, rank

    poems_app.command("clean")(poems.clean)
    poems_app.command("score")(judge.score)
    poems_app.command("agreement")(judge.agreement)
    poems_app.command("build")(build.build)
    poems_app.command("publish")(build.publish)
    poems_app.command("sample-representation")(build.sample_representation)
    posts.app.command("fit-probe")(posts_models.fit_probe_command)
    app.add_typer(posts.app, name="posts")
    app.add_typer(likes.app, name="likes")
    app.add_typer(align.app, name="align")
    app.add_typer(rank.app, name="rank")


def plain_help(group: typer.Typer) -> None:
    """Help as click writes it, for `group` and every group under it: option names stay whole
    at 80 columns (rich's option panels cut them to `--reference-col…`)."""
    group.rich_markup_mode = None
    for info in group.registered_groups:
        plain_help(info.typer_instance)


_register()
plain_help(app)


def describe_os_error(error: OSError) -> str:
    """`path: reason` for an error the operating system reported (permission, disk full, ...)."""
    paths = [str(p) for p in (error.filename, error.filename2) if p is not None]
    reason = error.strerror or str(error) or type(error).__name__
    return f"{' -> '.join(paths)}: {reason}" if paths else reason


def fail(message: str, code: int) -> None:
    err_console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True, highlight=False)
    sys.exit(code)


def main() -> None:
    """Entry point: bad input and configuration (exit 2) and what the operating system refuses,
    such as an unwritable folder or a full disk (exit 1), print one line, not a traceback;
    CURATE_DEBUG=1 shows the traceback of the latter."""
    try:
        app()
    except CurationError as error:
        fail(str(error), 2)
    except OSError as error:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        fail(f"{describe_os_error(error)} ({DEBUG_VARIABLE}=1 shows the traceback)", 1)
