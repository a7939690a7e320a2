"""The `curate` command line. Command groups live in sibling modules and import their heavy
dependencies (torch, filters, builders, trainers) only when a command runs."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from curation.errors import CurationError

app = typer.Typer(help="Build aesthetic datasets and the models trained on them.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
poems_app = typer.Typer(help="Poem corpora: clean, score, build revisions, publish.", no_args_is_help=True)
app.add_typer(poems_app, name="poems")

err_console = Console(stderr=True)


def _register() -> None:
    from curate import align, build, judge, likes, poems, posts, posts_models

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


_register()


def main() -> None:
    """Entry point: bad input and configuration errors print one line, not a traceback."""
    try:
        app()
    except CurationError as error:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False)
        sys.exit(2)
