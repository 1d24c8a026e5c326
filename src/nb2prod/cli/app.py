"""The click group every command module attaches to, and the shared ``--home`` option."""

from __future__ import annotations

import click

from nb2prod import __version__
from nb2prod.api import Workspace

__all__ = ["cli", "pass_workspace"]


@click.group(no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="nb2prod")
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    envvar="NB2PROD_HOME",
    help="Workspace folder (store, BentoML models, runs). Default: $NB2PROD_HOME or ~/.nb2prod.",
)
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """nb2prod: from notebook to guarded, monitored production model."""
    workspace = Workspace.open(home)
    ctx.obj = workspace
    ctx.call_on_close(workspace.close)


pass_workspace = click.make_pass_decorator(Workspace)
